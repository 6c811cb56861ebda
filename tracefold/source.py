"""Input files as chunks of lines in Arrow arrays (the start of the one-way data flow)."""
from __future__ import annotations

import gzip
import zlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import InputError  # noqa: F401 - re-exported: tracefold.source.InputError

CHUNK_BYTES = 4 << 20
# a line longer than this is not read (memory stays bounded): it becomes one short line that
# no grammar accepts, so it is counted as unrecognized at its own line number
MAX_LINE_BYTES = 1 << 20
LONG_LINE = b"\x01tracefold: a line longer than 1 MB, left out (MAX_LINE_BYTES)"


@dataclass
class Chunk:
    lines: pa.StringArray   # without line terminators
    first_line: int         # 1-based number of lines[0]
    nbytes: int


def open_binary(path):
    """Open a path ('-' = stdin), transparently gunzipping; returns a binary file object."""
    if str(path) == "-":
        raw = sys.stdin.buffer
        head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        return gzip.GzipFile(fileobj=raw) if head == b"\x1f\x8b" else raw
    from . import storage
    if storage.is_url(path):
        try:
            f = storage.open_read(path)
        except (OSError, ValueError) as e:
            raise InputError(path, f"cannot open: {e}") from None
        if f.read(2) == b"\x1f\x8b":
            f.seek(0)
            return gzip.GzipFile(fileobj=f)
        f.seek(0)
        return f
    p = Path(path)
    if not p.exists():
        parts = per_thread_files(p)
        if parts:
            return JoinedFiles(parts)
        raise InputError(path, "no such file")
    if p.is_dir():
        raise InputError(path, "is a directory, not a trace file")
    f = open(p, "rb")
    if f.read(2) == b"\x1f\x8b":
        f.seek(0)
        return gzip.GzipFile(fileobj=f)
    f.seek(0)
    return f


def per_thread_files(prefix: Path) -> list[Path]:
    """The files of ``strace -ff -o PREFIX`` (PREFIX.<thread id>), by thread id."""
    if not prefix.parent.is_dir():
        return []
    found = []
    for q in prefix.parent.glob(prefix.name + ".*"):
        tail = q.name[len(prefix.name) + 1:]
        if tail.isdigit() and q.is_file():
            found.append((int(tail), q))
    return [q for _, q in sorted(found)]


class JoinedFiles:
    """Several files read as one, each after a "==> NAME <==" line, as ``tail -n +1 FILES``
    prints them (a PREFIX given for the files of ``strace -ff -o PREFIX``: the strace
    grammar reads the header as the thread id of the lines after it). Line numbers are those
    of the joined text."""

    def __init__(self, paths):
        self._pieces = self._read_all(list(paths))
        self._buf = b""

    def _read_all(self, paths):
        last = b"\n"
        for p in paths:
            yield (b"" if last == b"\n" else b"\n") + f"==> {p.name} <==\n".encode()
            last = b"\n"
            with open(p, "rb") as f:
                while data := f.read(1 << 20):
                    last = data[-1:]
                    yield data

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._buf += piece
        if n < 0:
            data, self._buf = self._buf, b""
        else:
            data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def close(self):
        self._pieces.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_head(path, nbytes=65536) -> bytes:
    with open_binary(path) as f:
        try:
            return f.read(nbytes)
        except (OSError, EOFError, zlib.error) as e:
            raise InputError(path, f"cannot read: {e}") from None


def check_text(path, head: bytes):
    if b"\x00" in head:
        off = head.index(b"\x00")
        raise InputError(path, f"binary file (NUL byte at offset {off}); "
                               "tracefold reads text output "
                               "(e.g. `trace-cmd report`, `perf script`)")


def iter_chunks(path, hold=None, chunk_bytes=None, progress=None):
    """Yield Chunk objects. ``hold(first_bytes_of_next_line) -> bool`` keeps a line with the
    previous chunk (used so that stack-trace frame lines never start a chunk)."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    f = open_binary(path)
    try:
        carry = b""
        line_no = 1
        first = True
        skipping = False        # inside a line longer than MAX_LINE_BYTES: drop until "\n"
        while True:
            try:
                data = f.read(chunk_bytes)
            except (OSError, EOFError, zlib.error) as e:
                raise InputError(
                    path, f"cannot read (truncated or corrupt compressed file?): {e}") from None
            eof = not data
            if skipping and data:
                nl = data.find(b"\n")
                if nl < 0:
                    continue
                data, skipping = data[nl:], False
            buf = carry + data
            if first:
                if buf.startswith(b"\xef\xbb\xbf"):
                    buf = buf[3:]
                check_text(path, buf[:65536])
                first = False
            if not buf:
                break
            cut = len(buf) if eof else _cut(buf, hold, chunk_bytes)
            if cut <= 0:
                # a line longer than the chunk, or only held lines: read more
                carry, skipping = _cap_last_line(buf) if cut < 0 else (buf, False)
                continue
            body, carry = buf[:cut], buf[cut:]
            if not eof:
                carry, skipping = _cap_last_line(carry)
            if b"\x00" in body:
                off = body.index(b"\x00")
                raise InputError(path, "binary data (NUL byte) in a text trace",
                                 line=line_no + body.count(b"\n", 0, off))
            arr = lines_array(body, path, line_no)
            if progress:
                progress(len(body))
            yield Chunk(arr, line_no, len(body))
            line_no += len(arr)
            if eof:
                break
    finally:
        if f is not sys.stdin.buffer:
            f.close()


def _cut(buf: bytes, hold, chunk_bytes: int) -> int:
    """Where to end a chunk in ``buf``: before its last complete line (so that hold() sees
    a whole line), and before any line ``hold`` keeps with the line before it (a stack
    frame, a message's continuation). -1: no complete line yet; 0: every line is held."""
    last = buf.rfind(b"\n")
    cut = buf.rfind(b"\n", 0, last) + 1 if last > 0 else 0
    if cut <= 0:
        return -1
    if hold is not None and len(buf) < max(8 * chunk_bytes, 4 << 20):
        while cut > 0 and hold(buf[cut:cut + 1024]):
            cut = buf.rfind(b"\n", 0, cut - 1) + 1
    return cut


def _cap_last_line(buf: bytes):
    """(buf, skipping): an unfinished last line over MAX_LINE_BYTES becomes LONG_LINE and the
    rest of it is skipped while reading on."""
    i = buf.rfind(b"\n")
    if len(buf) - i - 1 > MAX_LINE_BYTES:
        return buf[:i + 1] + LONG_LINE, True
    return buf, False


def lines_array(body: bytes, path="?", line_no=1) -> pa.StringArray:
    """Split a buffer of complete lines into an Arrow string array without copying per line."""
    if b"\r" in body:
        body = body.replace(b"\r\n", b"\n")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        body = body.decode("utf-8", errors="replace").encode("utf-8")
    if not body.endswith(b"\n"):
        body += b"\n"
    raw = np.frombuffer(body, dtype=np.uint8)
    nl = np.flatnonzero(raw == 10)
    n = len(nl)
    starts = np.empty(n + 1, dtype=np.int64)
    starts[0] = 0
    starts[1:] = nl + 1
    if len(body) < 2**31 - 1:
        arr = pa.StringArray.from_buffers(n, pa.py_buffer(starts.astype(np.int32)),
                                          pa.py_buffer(body))
    else:  # pragma: no cover - chunks are far smaller
        arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(starts), pa.py_buffer(body))
    # drop the "\n" that the offsets above keep at the end of every line
    return pc.utf8_rtrim(arr, characters="\n\r")


def prefetch(chunks, depth: int = 1):
    """Iterate ``chunks`` with the next ones read ahead in a thread: reading, decompressing
    and splitting a chunk (zlib and Arrow release the GIL) overlap the parsing of the one
    before. Errors come out where the chunk would have; closing the iterator stops the
    thread, closes ``chunks`` in it and waits for it (a thread still in Arrow while the
    interpreter exits would abort it)."""
    import queue
    import threading
    q: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        """Hand one item over; False when the consumer has gone (stop)."""
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run():
        try:
            for c in chunks:
                if not put((c, None)):
                    return
            put((done, None))
        except BaseException as e:          # handed to the consumer, raised there
            put((None, e))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    th = threading.Thread(target=run, name="tracefold-read", daemon=True)
    th.start()
    try:
        while True:
            c, err = q.get()
            if err is not None:
                raise err
            if c is done:
                return
            yield c
    finally:
        stop.set()
        th.join()
