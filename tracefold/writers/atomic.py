"""Atomic output: write to a temporary file beside the target, rename on success."""
from __future__ import annotations

import os
import tempfile


class AtomicFile:
    """Context manager giving a temp path; renamed over ``target`` only if the block succeeds
    (an exception or Ctrl-C leaves no half-written file). ``-`` means stdout."""

    def __init__(self, target, binary=True):
        self.target = str(target)
        self.binary = binary
        self.tmp = None

    def __enter__(self):
        if self.target == "-":
            return None
        d = os.path.dirname(os.path.abspath(self.target))
        fd, self.tmp = tempfile.mkstemp(prefix=".tracefold-", suffix=".part", dir=d)
        os.close(fd)
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if self.tmp is None:
            return False
        if exc_type is None:
            os.chmod(self.tmp, 0o644)
            os.replace(self.tmp, self.target)
        else:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
        return False


def write_text(target, text: str):
    """Write ``text`` to ``target`` atomically, or to stdout for ``-``."""
    import sys
    with AtomicFile(target) as tmp:
        if tmp is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            with open(tmp, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
