"""Folded stacks ("frame;frame;… weight" per line) for flamegraph.pl, inferno, speedscope."""
from __future__ import annotations

import pyarrow as pa

from ..analysis.folded import FoldOptions, Folder
from .base import Writer


class FoldedWriter(Writer):
    name = "folded"
    extensions = (".folded", ".collapsed")
    description = "folded stacks (stackcollapse format): samples by weight, calls by self ns"

    def begin(self):
        self.folder = Folder(FoldOptions(**{k: v for k, v in self.options.items()
                                            if k in FoldOptions.__dataclass_fields__}))

    def write(self, table: pa.Table):
        self.folder.add(table)

    def end(self):
        self.folder.finish(self.info.get("stats", {}).get("lines"))
        lines = self.folder.lines()
        self.notes.update(self.folder.notes)
        with self.open_text() as f:
            for ln in lines:
                f.write(ln + "\n")
