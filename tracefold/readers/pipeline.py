"""The chunk pipeline every reader shares: the first chunk parsed here (it holds the header
the reader specializes on), every later one parsed alone — in ``reader.PARSE_THREADS``
threads ahead of the stitching (the default), or, opt-in with TRACEFOLD_JOBS=N for a big
input, in N worker processes — while the caller stitches them in input order.

A chunk is parsed alone by ``parse_alone``: ``reader.parse(chunk)`` on a shallow copy of the
reader made for that chunk, with its own ``Stats``. What parse sets on ``self`` is that
chunk's state and is dropped with the copy; its result and its counts are what comes back
(merged here, in input order). State that spans chunks belongs to ``stitch``.
"""
from __future__ import annotations

import copy
import os
from collections import deque

# inputs smaller than this are parsed in this process (forking costs ~50 ms)
MIN_PARALLEL_BYTES = 16 << 20

_READER = None      # the reader a worker parses with (inherited through fork)
# one thread per conversion: set where many conversions share the cores (the worker
# processes of a dataset conversion); no parse, read-ahead, stitch or writer threads
SERIAL = False


def set_serial():
    """Make every conversion of this process use one core (its own threads and Arrow's), for
    the rest of the process: it is one of several workers sharing the cores."""
    global SERIAL
    SERIAL = True
    from . import base
    base.THREADS = 1
    import pyarrow as pa
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


def jobs_for(path, reader) -> int:
    """Worker processes for an input: TRACEFOLD_JOBS (opt-in) for a regular file of at least
    MIN_PARALLEL_BYTES (any size when TRACEFOLD_JOBS_ANY_SIZE=1, for tests); 1 otherwise.

    Not the default: on 2 cores the stitching left in this process (nesting, row order,
    Parquet writing) bounds the gain to ~15 % of wall time (vm-big-default → Parquet 3.9 →
    3.3 s; real perf → folded 5.0 → 4.3 s), for ~25 % more CPU time in pickling, and the
    forked workers raise the peak RSS (perf → folded: 355 MB, over the 300 MB target)."""
    env = os.environ.get("TRACEFOLD_JOBS")
    try:
        jobs = max(1, int(env)) if env else 1
    except ValueError:
        return 1
    if jobs == 1 or os.environ.get("TRACEFOLD_JOBS_ANY_SIZE") == "1":
        return jobs
    try:
        size = os.path.getsize(path)
    except OSError:
        return 1
    if str(path).endswith(".gz"):
        size *= 8
    return jobs if size >= MIN_PARALLEL_BYTES else 1


def _init_worker():
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # the main process handles Ctrl-C
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from . import base
    base.THREADS = 1            # one regex thread per worker: the workers are the parallelism


def parse_alone(reader, chunk):
    """(parsed, its Stats, numbers out of range) of one chunk parsed on a copy of ``reader``
    made for it."""
    from .base import Stats, drain_out_of_range
    view = copy.copy(reader)
    view.stats = Stats()
    drain_out_of_range()
    parsed = view.parse(chunk)
    return parsed, view.stats, drain_out_of_range()


def _parse(chunk):
    return parse_alone(_READER, chunk)


def _warm():
    return os.getpid()


def parsed_chunks(reader, chunks, jobs: int, read_ahead=None):
    """(parsed chunk, its Stats or None when counted in ``reader.stats`` already, numbers out
    of range) for every chunk, in input order. ``read_ahead(iterator)`` wraps the chunks
    after the first (the read-ahead thread starts after the workers are forked)."""
    global _READER
    it = iter(chunks)
    first = next(it, None)
    if first is None:
        return
    yield reader.parse(first), None, 0
    if SERIAL:
        for c in it:
            yield parse_alone(reader, c)
        return
    if jobs <= 1:
        yield from _threaded(reader, read_ahead(it) if read_ahead else it)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    _READER = reader
    ex = ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork"), initializer=_init_worker)
    try:
        # fork every worker now, before any other thread of this process starts
        for f in [ex.submit(_warm) for _ in range(jobs)]:
            f.result()
        rest = read_ahead(it) if read_ahead else it
        yield from _in_order(ex, lambda c: ex.submit(_parse, c), rest, jobs)
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
        _READER = None


def _threaded(reader, chunks):
    """Chunks parsed in ``reader.PARSE_THREADS`` threads, each on its own copy of the reader,
    up to one chunk per thread ahead of the caller, results in input order."""
    from concurrent.futures import ThreadPoolExecutor
    threads = reader.PARSE_THREADS
    ex = ThreadPoolExecutor(threads, thread_name_prefix="tracefold-parse")
    yield from _in_order(ex, lambda c: ex.submit(parse_alone, reader, c), chunks, threads)


def _in_order(ex, submit, chunks, ahead: int):
    """The results of ``submit(chunk)`` (a future of executor ``ex``) for every chunk, in
    input order, with up to ``ahead`` chunks at work beyond the one waited for; ``ex`` is
    shut down at the end (work not started is cancelled)."""
    pending: deque = deque()
    try:
        for c in chunks:
            pending.append(submit(c))
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for f in pending:
            f.cancel()
        ex.shutdown(wait=True, cancel_futures=True)
