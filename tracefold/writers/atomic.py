"""Atomic output: write to a temporary file beside the target, rename on success.

A temporary is named ``.tracefold-<pid>-<random>.part`` in the target's folder: a run killed
with SIGKILL cannot remove it, so every later run removes the ones whose process is gone
(``clean_stale``). A commit flushes the data to disk (fsync) before the rename, so that a
crash right after it never leaves an empty or partial file under the target's name."""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time

from ..errors import OutputError  # noqa: F401 - re-exported

_PART = re.compile(r"^\.tracefold-(\d+)-[^/]*\.part$")
STALE_AFTER_S = 10      # a temporary this old whose process is gone is stale


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
        clean_stale(d)
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=f".tracefold-{os.getpid()}-",
                                            suffix=".part", dir=d)
        except FileNotFoundError:
            raise OutputError(self.target, f"no such directory: {d}") from None
        except OSError as e:
            raise OutputError(self.target, f"cannot create a file in {d}: "
                                           f"{e.strerror or e}") from None
        os.close(fd)
        return self.tmp

    def commit(self):
        """fsync the temporary, rename it over the target, fsync the folder."""
        if self.tmp is None:
            return
        fd = os.open(self.tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(self.tmp, 0o644)
        os.replace(self.tmp, self.target)
        self.tmp = None
        _fsync_dir(os.path.dirname(os.path.abspath(self.target)))

    def abort(self):
        if self.tmp is None:
            return
        try:
            os.unlink(self.tmp)
        except OSError:
            pass
        self.tmp = None

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                self.commit()
            except BaseException:
                self.abort()
                raise
        else:
            self.abort()
        return False


def _fsync_dir(d):
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_part(name: str) -> bool:
    """Whether a file name is a tracefold temporary (``.tracefold-PID-….part``)."""
    return bool(_PART.match(name))


def clean_stale(folder) -> int:
    """Remove tracefold temporaries in ``folder`` left by runs that were killed (their process
    is gone and the file is older than STALE_AFTER_S). Returns how many."""
    n = 0
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    now = time.time()
    for name in names:
        m = _PART.match(name)
        if not m or int(m.group(1)) == os.getpid() or _alive(int(m.group(1))):
            continue
        p = os.path.join(folder, name)
        try:
            if now - os.stat(p).st_mtime >= STALE_AFTER_S:
                os.unlink(p)
                n += 1
        except OSError:
            pass
    return n


@contextlib.contextmanager
def output_stream(target, binary: bool = False):
    """A stream writing ``target`` atomically (renamed into place when the block ends
    without an error), or stdout for ``-``."""
    import sys
    with AtomicFile(target) as tmp:
        if tmp is None:
            f = sys.stdout.buffer if binary else sys.stdout
            yield f
            f.flush()
        elif binary:
            with open(tmp, "wb") as f:
                yield f
        else:
            with open(tmp, "w", encoding="utf-8", newline="\n") as f:
                yield f


def write_text(target, text: str):
    """Write ``text`` to ``target`` atomically, or to stdout for ``-``."""
    with output_stream(target) as f:
        f.write(text)
