"""Row filters (--pid --tid --comm --function --time --max-depth --min-duration), the same for
every output."""
import json

import pytest

import tracefold
from conftest import ROOT, run_cli
from tracefold.analysis.filters import parse_duration, parse_time_range

UFTRACE = ROOT / "samples" / "uftrace-threads-replay.txt"
GRAPH = ROOT / "samples" / "ftrace-graph-hello.txt"
PERF = ROOT / "samples" / "perf-script-cpuloop.txt"


def parquet_rows(src, tmp_path, *args):
    out = tmp_path / "f.parquet"
    p = run_cli("convert", src, "-o", out, *args)
    assert p.returncode == 0, p.stderr
    return tracefold.read(out)


def test_parse_units():
    assert parse_duration("1.5ms") == 1_500_000
    assert parse_duration("250us") == 250_000
    assert parse_duration("7") == 7
    assert parse_duration("2", "s") == 2_000_000_000
    assert parse_time_range("52.3..52.9") == (52_300_000_000, 52_900_000_000)
    assert parse_time_range("..100ms") == (None, 100_000_000)
    with pytest.raises(ValueError):
        parse_duration("fast")
    with pytest.raises(ValueError):
        parse_time_range("52.3")


def test_task_filters(tmp_path):
    t = tracefold.read(UFTRACE)
    tid = int(t.tid.value_counts().index[-1])
    got = parquet_rows(UFTRACE, tmp_path, "--tid", str(tid))
    assert len(got) == (t.tid == tid).sum() and set(got.tid) == {tid}
    t = tracefold.read(PERF)
    comm = t.comm.iloc[0]
    got = parquet_rows(PERF, tmp_path, "--comm", comm)
    assert len(got) == (t.comm == comm).sum()
    got = parquet_rows(PERF, tmp_path, "--pid", "999999")
    assert len(got) == 0


def test_time_depth_duration(tmp_path):
    t = tracefold.read(GRAPH)
    lo, hi = int(t.ts_ns.quantile(0.25)), int(t.ts_ns.quantile(0.5))
    rng = f"{lo / 1e9:.6f}..{hi / 1e9:.6f}"
    got = parquet_rows(GRAPH, tmp_path, "--time", rng)
    a, b = parse_time_range(rng)
    assert len(got) == ((t.ts_ns >= a) & (t.ts_ns <= b)).sum() > 0
    got = parquet_rows(GRAPH, tmp_path, "--max-depth", "2")
    assert got.depth.max() <= 1 and len(got) == (t.depth < 2).sum()
    got = parquet_rows(GRAPH, tmp_path, "--min-duration", "10us")
    calls = t[t.kind == "call"]
    assert len(got) == (calls.dur_ns >= 10_000).sum() and got.dur_ns.min() >= 10_000


def test_function_subtrees_in_every_output(tmp_path):
    fn = "ksys_write"
    got = parquet_rows(GRAPH, tmp_path, "--function", fn)
    t = tracefold.read(GRAPH)
    roots = t[(t.name == fn) & (t.kind == "call")]
    assert (got.name == fn).sum() == len(roots)
    assert got[got.name == fn].dur_ns.sum() == roots.dur_ns.sum()
    # the folded output of the subtree adds up to the function's time
    p = run_cli("convert", GRAPH, "--to", "folded", "--function", fn, "-o", "-")
    lines = p.stdout.decode().splitlines()
    assert all(ln.startswith(fn) for ln in lines)
    assert sum(int(ln.rsplit(" ", 1)[1]) for ln in lines) == roots.dur_ns.sum()
    p = run_cli("convert", GRAPH, "--function", fn, "-o", tmp_path / "f.json")
    ev = json.loads((tmp_path / "f.json").read_text())["traceEvents"]
    assert len([e for e in ev if e["ph"] == "X" or e.get("cat") == "call"]) == len(got)
    # stacks: cut to start at the function
    p = run_cli("convert", PERF, "--to", "folded", "--function", "main", "-o", "-")
    lines = p.stdout.decode().splitlines()
    assert lines and all(ln.split(";")[1] == "main" for ln in lines)


def test_bad_filter_values_are_clear_errors():
    for args in (["--time", "soon"], ["--min-duration", "fast"], ["--tid", "x,y"]):
        p = run_cli("convert", GRAPH, "-o", "-", "--to", "folded", *args)
        assert p.returncode == 2 and b"Traceback" not in p.stderr, (args, p.stderr)
