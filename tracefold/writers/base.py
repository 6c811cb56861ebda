"""What every writer shares: atomic output (temp file + rename, or stdout) and notes.

A writer is used as ``with W(target, **options) as w: w.write(table) …; w.set_info(info)``;
tables arrive chunk by chunk in input-line order. Writers that need the whole table (folded
stacks, graphs) accumulate what they need; streaming writers write as they go."""
from __future__ import annotations

import io
import sys
from collections import Counter
from dataclasses import dataclass, fields

import pyarrow as pa

from ..errors import UsageError
from .atomic import AtomicFile, OutputError


@dataclass
class NoOptions:
    """The options of a writer that takes none."""


def flag(field: str) -> str:
    """The command-line flag of an option field."""
    return "--" + field.replace("_", "-")


def make_options(cls, fmt: str, given: dict):
    """``cls(**given)``, refusing by name the options that ``fmt`` does not take (an option
    that does not apply is an error, never silently dropped)."""
    names = [f.name for f in fields(cls)]
    bad = [k for k in given if k not in names]
    if bad:
        takes = ", ".join(flag(n) for n in names) or "no options"
        raise UsageError(f"{', '.join(flag(k) for k in bad)}: not an option of {fmt} output "
                         f"({fmt} takes {takes})")
    return cls(**given)


class Writer:
    name = ""                   # --to value
    binary = False
    description = ""
    Options = NoOptions         # the writer's options: a dataclass with documented defaults

    def __init__(self, target, **options):
        self.target = str(target)
        self.o = make_options(self.Options, self.name, options)
        self.info: dict = {}
        self.notes: Counter = Counter()     # repairs / filters worth telling the user
        self._atomic = AtomicFile(target)
        self._parts: list = []              # more output files, committed with the main one

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self):
        self.tmp = self._atomic.__enter__()
        try:
            self.begin()
        except BaseException:
            self._abort()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        """Commit only when the block and end() both succeeded: every output is flushed to
        disk and renamed into place, the extra parts first, the main file last; otherwise
        nothing is (an existing file at the target stays as it was)."""
        if exc_type is not None:
            self._abort()
            if issubclass(exc_type, OSError):
                raise OutputError(self.target, _says(exc)) from None
            return False
        try:
            self.end()
            for part in self._parts:
                part.commit()
            self._atomic.commit()
        except OSError as e:
            self._abort()
            raise OutputError(self.target, _says(e)) from None
        except BaseException:
            self._abort()
            raise
        return False

    def _abort(self):
        for part in self._parts:
            part.abort()
        self._atomic.abort()

    def part(self, target) -> str:
        """A temporary for another output file (``--split`` parts): renamed to ``target`` only
        when the whole output is committed."""
        a = AtomicFile(target)
        self._parts.append(a)
        return a.__enter__()

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


def _says(e: OSError) -> str:
    what = e.strerror or str(e)
    return f"cannot write: {what} (nothing written; an existing file there is unchanged)"


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
