"""Chunking never changes a result: every reader, on real traces, gives the same rows and the
same line accounting whatever the chunk size (tiny to the default 4 MB). A chunk boundary
used to fall between a multi-line trace_marker message and its continuation lines, which
then became unrecognized (tests/golden/ftrace/markers-multiline-head700.txt: 24 of them with
700-byte chunks)."""
import random

import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

from conftest import GOLDEN, ROOT, SAMPLES
from tracefold.api import ReadResult, iter_tables

FILES = [
    GOLDEN / "ftrace" / "markers-multiline-head700.txt",
    GOLDEN / "ftrace" / "function-stacktrace.txt",
    GOLDEN / "ftrace" / "function_graph-abstime-proc-tail-head120.txt",
    GOLDEN / "ftrace" / "sched-syscalls-latency-format-head40.txt",
    GOLDEN / "trace-cmd" / "function-kernel_stack.txt",
    GOLDEN / "trace-cmd" / "function_graph-R-head120.txt",
    GOLDEN / "fs" / "vm-ftrace-graph-submit_bio.txt",
    GOLDEN / "fs" / "vm-uftrace-K-hello.txt",
    GOLDEN / "uftrace-diff" / "disturbed.txt.gz",
    ROOT / "samples" / "uftrace-threads-replay.txt",
    ROOT / "samples" / "perf-script-cpuloop.txt",
    ROOT / "samples" / "trace-cmd-graph-hello.txt",
]


def read(path, chunk_bytes=None):
    r = ReadResult("?", {})
    tables = list(iter_tables(path, None, result=r, chunk_bytes=chunk_bytes))
    t = pa.concat_tables(tables).sort_by("line") if tables else None
    stats = dict(r.stats)
    return stats, (t.to_pylist() if t is not None else [])


_REF = {}


def reference(path):
    if path not in _REF:
        _REF[path] = read(path)
    return _REF[path]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
@settings(max_examples=6, deadline=None, derandomize=True)
@given(chunk=st.one_of(st.integers(60, 2000), st.integers(2000, 200_000)))
def test_same_result_at_any_chunk_size(path, chunk):
    want = reference(path)
    got = read(path, chunk)
    assert got[0] == want[0]
    assert got[1] == want[1]


def test_multiline_marker_continuations_at_tiny_chunks():
    path = GOLDEN / "ftrace" / "markers-multiline-head700.txt"
    stats, rows = read(path, 120)
    assert stats["unrecognized"] == 0
    marks = [r for r in rows if r["event"] == "tracing_mark_write"]
    assert marks and all(r["text"].count("\n") == 3 for r in marks if "begin" in r["text"])


def test_corpus_files_at_a_random_chunk_size():
    """A seeded draw of real corpus files of every format, each at one small chunk size."""
    if not SAMPLES.is_dir():
        pytest.skip(f"corpus not available: {SAMPLES}")
    rows = [ln.rstrip("\n").split("\t") for ln in (SAMPLES / "MANIFEST.tsv").open()
            if not ln.startswith("#")]
    rng = random.Random(18)
    by_fmt = {}
    for r in rows:
        p = SAMPLES.parent / r[0] if not (SAMPLES / r[0]).exists() else SAMPLES / r[0]
        if r[2] in ("clean", "edited") and p.exists() and p.stat().st_size < 60_000:
            by_fmt.setdefault(r[1], []).append(p)
    assert set(by_fmt) >= {"ftrace", "trace-cmd", "uftrace", "perf-script"}
    for fmt, paths in sorted(by_fmt.items()):
        for p in rng.sample(sorted(paths), min(6, len(paths))):
            cb = rng.randint(80, 3000)
            assert read(p, cb) == read(p), (fmt, p, cb)


def test_a_50_mb_line_is_left_out_with_bounded_memory(tmp_path):
    """A line over MAX_LINE_BYTES (1 MB) is never held whole: it is counted as unrecognized
    at its own line number and the rest of the trace reads as without it; peak memory of the
    run stays far below the line's size times the copies a read makes (was 0.5-1 GB)."""
    import subprocess
    import sys
    src = (ROOT / "samples" / "ftrace-graph-hello.txt").read_text().splitlines(True)
    p = tmp_path / "long.txt"
    with p.open("w") as f:
        f.writelines(src[:30])
        f.write(" 1)   hello-579    |               |  " + "x" * 50_000_000 + "\n")
        f.writelines(src[30:])
    # VmHWM, not ru_maxrss: the latter is inherited from the (large) pytest process on Linux
    code = ("import json, resource, tracefold; d = tracefold.info(%r); "
            "print(json.dumps([d['lines'], d['unrecognized'], d['events'], "
            "d['first_unrecognized'][0]['line'], "
            "int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])]))" % str(p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    import json
    lines, unrec, events, first, rss_kb = json.loads(out)
    ref = reference(ROOT / "samples" / "ftrace-graph-hello.txt")[0]
    assert (lines, unrec, first) == (ref["lines"] + 1, 1, 31)
    assert events == ref["events"]
    assert rss_kb < 350_000, rss_kb
