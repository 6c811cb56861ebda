"""What every writer shares: atomic output (temp file + rename, or stdout) and notes.

A writer is used as ``with W(target, **options) as w: w.write(table) …; w.set_info(info)``;
tables arrive chunk by chunk in input-line order. Writers that need the whole table (folded
stacks, graphs) accumulate what they need; streaming writers write as they go."""
from __future__ import annotations

import io
import sys
from collections import Counter

import pyarrow as pa

from .atomic import AtomicFile


class Writer:
    name = ""                   # --to value
    extensions: tuple = ()      # output suffixes that select this writer
    binary = False
    description = ""

    def __init__(self, target, **options):
        self.target = str(target)
        self.options = options
        self.info: dict = {}
        self.notes: Counter = Counter()     # repairs / filters worth telling the user
        self._atomic = AtomicFile(target)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self):
        self.tmp = self._atomic.__enter__()
        self.begin()
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.end()
        finally:
            self._atomic.__exit__(exc_type, exc, tb)
        return False

    def open_text(self):
        """The output as a text stream (the temp file, or stdout for ``-``)."""
        if self.tmp is None:
            return _NoClose(sys.stdout)
        return open(self.tmp, "w", encoding="utf-8", newline="\n")

    def open_binary(self):
        if self.tmp is None:
            return _NoClose(sys.stdout.buffer)
        return open(self.tmp, "wb")

    # ------------------------------------------------------------------ interface
    def begin(self):
        pass

    def write(self, table: pa.Table):
        raise NotImplementedError

    def set_info(self, info: dict):
        self.info = info

    def end(self):
        pass


class _NoClose(io.IOBase):
    """stdout wrapper whose close() only flushes."""

    def __init__(self, f):
        self.f = f

    def write(self, s):
        return self.f.write(s)

    def flush(self):
        self.f.flush()

    def close(self):
        self.f.flush()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
