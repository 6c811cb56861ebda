"""Folded stacks ("frame;frame;… weight" per line) for flamegraph.pl, inferno, speedscope."""
from __future__ import annotations

import pyarrow as pa

from ..analysis.folded import FoldOptions, Folder, base_side, two_column
from .base import Writer


class FoldedWriter(Writer):
    name = "folded"
    description = "folded stacks (stackcollapse format): samples by weight, calls by self ns"
    Options = FoldOptions

    def fold_options(self) -> FoldOptions:
        return self.o

    def begin(self):
        self.folder = Folder(self.fold_options())
        self.base = None        # differential folded input: the base side's Folder

    def write(self, table: pa.Table):
        b = base_side(table)
        if b is not None:
            if self.base is None:
                self.base = Folder(self.fold_options())
            self.base.add(b)
        self.folder.add(table)

    def folded_lines(self):
        """The folded lines, as an iterator (the notes are counted before the first); for a
        differential input, "stack base new" lines (``self.base`` is set)."""
        n = self.info.get("stats", {}).get("lines")
        self.folder.finish(n)
        lines = self.folder.iter_lines()
        self.notes.update(self.folder.notes)
        if self.base is not None:
            self.base.finish(n)
            lines = two_column(self.base.iter_lines(), lines)
        return lines

    def end(self):
        lines = self.folded_lines()
        with self.open_text() as f:
            for ln in lines:
                f.write(ln + "\n")


def write_lines(lines, output: str):
    """Folded lines (already made: diff, fs layers, a dataset's merged stacks; a list or an
    iterator, written as it goes) to ``output`` atomically (- = stdout)."""
    from .atomic import output_stream
    with output_stream(output) as f:
        for ln in lines:
            f.write(ln + "\n")
