"""Folded stacks ("frame;frame;… weight" per line) for flamegraph.pl, inferno, speedscope."""
from __future__ import annotations

import pyarrow as pa

from ..analysis.folded import FoldOptions, Folder
from .base import Writer


class FoldedWriter(Writer):
    name = "folded"
    description = "folded stacks (stackcollapse format): samples by weight, calls by self ns"

    def fold_options(self) -> FoldOptions:
        return FoldOptions(**{k: v for k, v in self.options.items()
                              if k in FoldOptions.__dataclass_fields__})

    def begin(self):
        self.folder = Folder(self.fold_options())

    def write(self, table: pa.Table):
        self.folder.add(table)

    def folded_lines(self):
        """The folded lines, as an iterator (the notes are counted before the first)."""
        self.folder.finish(self.info.get("stats", {}).get("lines"))
        lines = self.folder.iter_lines()
        self.notes.update(self.folder.notes)
        return lines

    def end(self):
        lines = self.folded_lines()
        with self.open_text() as f:
            for ln in lines:
                f.write(ln + "\n")
