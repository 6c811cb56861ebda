"""Folded stacks: byte-compatible with FlameGraph's stackcollapse-perf.pl on its own test
inputs and expected results, the known differences with inferno, call-tree folding, flame
charts, filters and the Parquet round trip."""
from collections import Counter

import numpy as np
import pytest

import tracefold
from conftest import ROOT, SAMPLES, need_shared, run_cli
from tracefold.analysis.filters import Filters

FG_RESULTS = SAMPLES / "expected" / "flamegraph" / "results"
FG_INPUTS = SAMPLES / "perf-script" / "flamegraph"
INF_RESULTS = SAMPLES / "expected" / "inferno" / "collapse-perf" / "results"


def fold(path, tmp_path, name="o.folded", filters=None, **opts):
    out = tmp_path / name
    info = tracefold.convert(path, out, filters=filters, **opts)
    return out.read_text().splitlines(), info


def _fg_cases():
    if not FG_RESULTS.is_dir():
        return [pytest.param(None, None, marks=pytest.mark.skip(
            reason=f"corpus not available: {FG_RESULTS} is absent"))]
    return [pytest.param(*p.stem.rsplit("-collapsed-", 1), id=p.stem)
            for p in sorted(FG_RESULTS.glob("*-collapsed-*.txt"))]


@pytest.mark.parametrize("stem,opt", _fg_cases())
def test_equals_stackcollapse_perf(stem, opt, tmp_path):
    """All 13 inputs x 6 options of FlameGraph's test suite give its expected result."""
    want = sorted(ln for ln in (FG_RESULTS / f"{stem}-collapsed-{opt}.txt").read_text(
        errors="replace").splitlines() if ln.strip())
    opts = {"pid": {"pid": True}, "tid": {"tid": True}}.get(opt, {opt: True})
    got, _ = fold(FG_INPUTS / f"{stem}.txt", tmp_path, **opts)
    assert sorted(got) == want
    assert got == sorted(got), "lines sorted like stackcollapse-perf.pl (byte order)"


def test_cli_bare_pid_and_tid_are_stackcollapse_flags(tmp_path):
    need_shared()
    src = FG_INPUTS / "perf-funcab-pid-01.txt"
    for opt in ("pid", "tid"):
        p = run_cli("convert", src, "--to", "folded", f"--{opt}", "-o", "-")
        assert p.returncode == 0, p.stderr
        want = (FG_RESULTS / f"perf-funcab-pid-01-collapsed-{opt}.txt").read_text()
        assert sorted(p.stdout.decode().splitlines()) == sorted(want.splitlines())
    # with a number, --pid is the filter: only that process's samples remain
    src = FG_INPUTS / "perf-iperf-stacks-pidtid-01.txt"
    roots = {ln.split(";")[0] for ln in (FG_RESULTS / "perf-iperf-stacks-pidtid-01-collapsed-tid"
                                         ".txt").read_text().splitlines()}
    pids = sorted({r.rsplit("-", 1)[1].split("/")[0] for r in roots})
    assert len(pids) > 1
    p = run_cli("convert", src, "--to", "folded", "--tid", "--pid", pids[0], "-o", "-")
    assert p.returncode == 0, p.stderr
    got = {ln.split(";")[0] for ln in p.stdout.decode().splitlines()}
    assert got and {r for r in roots if r.rsplit("-", 1)[1].startswith(pids[0] + "/")} == got


def test_event_filter_defaults_to_first_event_and_is_reported(tmp_path):
    need_shared()
    src = FG_INPUTS / "perf-cycles-instructions-01.txt"
    got, info = fold(src, tmp_path)
    assert any("left out" in k for k in info["notes"])
    cyc, _ = fold(src, tmp_path, "c.folded", event_filter="cycles")
    assert cyc and set(cyc) != set(got)
    t = tracefold.read(src)
    def total(ls):
        return sum(int(ln.rsplit(" ", 1)[1]) for ln in ls)
    assert t.event.iloc[0] == "instructions"          # the default: the first event
    assert total(got) == t[t.event == "instructions"].weight.sum()
    assert total(cyc) == t[t.event == "cycles"].weight.sum()


def test_last_sample_without_blank_line(tmp_path):
    """stackcollapse-perf.pl only counts a sample a blank line ends (it drops the last one
    of perf-dd-stacks-01); tracefold does the same, says so, and --keep-last keeps it."""
    need_shared()
    src = FG_INPUTS / "perf-dd-stacks-01.txt"
    got, info = fold(src, tmp_path)
    assert any("input ends inside it" in k for k in info["notes"])
    kept, _ = fold(src, tmp_path, "k.folded", keep_last=True)
    def total(ls):
        return sum(int(ln.rsplit(" ", 1)[1]) for ln in ls)
    assert total(kept) - total(got) == 10101010       # the period of that last sample


# inferno (jonhoo/inferno) differs from FlameGraph in these cases (docs/folded.md)
INFERNO_DIFFERS = {
    "cpp-stacks-std-function": "inferno keeps C++ argument lists inside templates",
    "perf-rust-Yamakaky-dcpu": "inferno strips Rust ::h<hash> suffixes",
    "single-event": "inferno decodes Rust legacy mangling ($LT$ …) and strips hashes",
    "sourcepawn-jitdump": "inferno marks jitdump (jitted-*.so) frames _[j]",
    "versioned-vmlinux": "inferno marks frames of a versioned vmlinux-* file _[k]",
}


def _inf_cases():
    if not INF_RESULTS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{INF_RESULTS} absent"))]
    return [pytest.param(p, id=p.stem) for p in sorted(INF_RESULTS.glob("*.txt"))]


@pytest.mark.parametrize("exp", _inf_cases())
def test_against_inferno(exp, tmp_path):
    """Where inferno agrees with FlameGraph, tracefold (with --keep-last: inferno also counts
    a last sample without a blank line) equals inferno; where it does not, the same samples
    with the same weights are there, only frame names differ."""
    stem, _, opt = exp.stem.partition("-collapsed")
    opt = opt.lstrip("-")
    src = next(iter(sorted(SAMPLES.glob(f"perf-script/**/{stem}.txt*"))), None)
    if src is None:
        pytest.skip(f"no input for {exp.name} in the corpus")
    want = sorted(ln for ln in exp.read_text().splitlines() if ln.strip())
    if not src.stat().st_size:
        assert not want
        p = run_cli("convert", src, "--to", "folded", "-o", "-")
        assert p.returncode == 1 and b"empty file" in p.stderr
        return
    opts = {"keep_last": True}
    if opt:
        opts[opt] = True
    got, _ = fold(src, tmp_path, **opts)
    if stem in INFERNO_DIFFERS:
        assert sorted(got) != want, f"{stem}: expected a difference ({INFERNO_DIFFERS[stem]})"
        def weights(ls):
            return sorted(int(ln.rsplit(" ", 1)[1]) for ln in ls)
        assert weights(got) == weights(want)
        def depth(ls):
            return sorted(ln.rsplit(" ", 1)[0].count(";") for ln in ls)
        if stem != "cpp-stacks-std-function":     # there inferno keeps ";" less names
            assert depth(got) == depth(want)
    else:
        assert sorted(got) == want


def test_parquet_round_trip_gives_the_same_bytes(tmp_path):
    src = ROOT / "samples" / "perf-script-cpuloop.txt"
    pq = tmp_path / "x.parquet"
    tracefold.convert(src, pq)
    for opts in ({}, {"tid": True, "kernel": True}, {"flamechart": True}):
        a = tmp_path / "a.folded"
        b = tmp_path / "b.folded"
        tracefold.convert(src, a, **opts)
        tracefold.convert(pq, b, **opts)
        assert a.read_bytes() == b.read_bytes() and a.stat().st_size > 0


def _call_tree_sample():
    return ROOT / "samples" / "ftrace-graph-hello.txt"


def test_call_tree_self_time_adds_up_to_root_durations(tmp_path):
    src = _call_tree_sample()
    lines, _ = fold(src, tmp_path)
    t = tracefold.read(src)
    calls = t[t.kind == "call"]
    roots = calls[calls.parent_line.isna() & calls.dur_ns.notna()]
    total = sum(int(ln.rsplit(" ", 1)[1]) for ln in lines)
    assert total == roots.dur_ns.sum()
    counts, _ = fold(src, tmp_path, "c.folded", weight="calls")
    assert sum(int(ln.rsplit(" ", 1)[1]) for ln in counts) == len(calls)


def test_flamechart_keeps_time_order_and_the_same_totals(tmp_path):
    for src in (_call_tree_sample(), ROOT / "samples" / "uftrace-threads-replay.txt",
                ROOT / "samples" / "perf-script-cpuloop.txt"):
        merged, _ = fold(src, tmp_path, "m.folded", keep_last=True)
        chart, _ = fold(src, tmp_path, "c.folded", flamechart=True, keep_last=True)
        assert len(chart) >= len(merged)
        agg = Counter()
        for ln in chart:
            k, _, w = ln.rpartition(" ")
            agg[k] += int(w)
        assert dict(agg) == {ln.rpartition(" ")[0]: int(ln.rpartition(" ")[2]) for ln in merged}


def test_flamechart_pieces_follow_the_calls():
    """main's own time before, between and after its children, in that order."""
    from tracefold.analysis.folded import Folder, FoldOptions
    from tracefold.schema import table_from_columns
    # main [0,100) calls a [10,30) and b [50,60); a calls c [12,20)
    rows = dict(line=[1, 2, 3, 4], kind=["call"] * 4, name=["main", "a", "c", "b"],
                ts_ns=[0, 10, 12, 50], dur_ns=[100, 20, 8, 10], parent_line=[None, 1, 2, 1],
                tid=[7] * 4, comm=["p"] * 4, format=["uftrace"] * 4, depth=[0, 1, 2, 1])
    f = Folder(FoldOptions(flamechart=True))
    f.add(table_from_columns(rows))
    assert f.lines() == ["main 10", "main;a 2", "main;a;c 8", "main;a 10", "main 20",
                         "main;b 10", "main 40"]
    f = Folder(FoldOptions())
    f.add(table_from_columns(rows))
    assert f.lines() == ["main 70", "main;a 12", "main;a;c 8", "main;b 10"]
    f = Folder(FoldOptions(tid=True))
    f.add(table_from_columns(rows))
    assert f.lines()[0] == "p-?/7;main 70"


def test_filters_function_depth_and_task(tmp_path):
    src = ROOT / "samples" / "uftrace-threads-replay.txt"
    full, _ = fold(src, tmp_path)
    t = tracefold.read(src)
    fn = t[t.kind == "call"].groupby("name").size().idxmax()
    sub, _ = fold(src, tmp_path, "f.folded", filters=Filters(function=fn))
    assert sub and all(ln.startswith(fn + ";") or ln.startswith(fn + " ") for ln in sub)
    shallow, _ = fold(src, tmp_path, "d.folded", filters=Filters(max_depth=1))
    assert all(ln.rpartition(" ")[0].count(";") == 0 for ln in shallow)
    def total(ls):
        return sum(int(ln.rsplit(" ", 1)[1]) for ln in ls)
    assert total(shallow) == total(full)         # cut-off calls' time stays in the parent
    tid = int(t.tid.dropna().iloc[-1])
    one, _ = fold(src, tmp_path, "t.folded", filters=Filters(tid=[tid]))
    calls = t[(t.kind == "call") & (t.tid == tid)]
    roots = calls[calls.parent_line.isna()]
    assert total(one) == roots.dur_ns.sum() and total(one) < total(full)


def test_streaming_folding_does_not_depend_on_chunks():
    """Calls are folded chunk by chunk (open calls carried): any cut gives the same lines,
    equal to the whole-table computation."""
    import pyarrow as pa
    from oracles import self_time_by_path
    from tracefold.analysis.folded import Folder, FoldOptions
    for src in (_call_tree_sample(), ROOT / "samples" / "uftrace-threads-replay.txt",
                ROOT / "samples" / "uftrace-kernel-hello-replay.txt"):
        t = tracefold.read_arrow(src)
        want = {k: v for k, v in self_time_by_path(t).items() if v > 0}
        for size in (1, 7, 100, 1 << 20):
            f = Folder(FoldOptions())
            for b in t.to_batches(max_chunksize=size):
                f.add(pa.Table.from_batches([b]))
            got = {ln.rpartition(" ")[0]: int(ln.rpartition(" ")[2]) for ln in f.lines()}
            assert got == want, (src.name, size)
            g1 = tracefold.callgraph(pa.Table.from_batches(t.to_batches(max_chunksize=size)))
        assert sorted(g1.nodes(data=True)) == sorted(tracefold.callgraph(t).nodes(data=True))


@pytest.mark.parametrize("sample", ["ftrace-graph-hello.txt", "trace-cmd-graph-hello.txt",
                                    "uftrace-threads-replay.txt"])
def test_call_paths_come_sorted_one_at_a_time_as_sorted_texts_would(sample):
    """PathAggregator.sorted_texts (the folded writer's order without holding every text)
    gives what sorting the texts of all paths gives, on real call trees."""
    from tracefold.analysis.paths import PathAggregator
    from tracefold.schema import CALL, kind_is
    agg = PathAggregator()
    for t in tracefold.iter_tables(ROOT / "samples" / sample):
        calls = t.filter(kind_is(t, CALL))
        if calls.num_rows:
            agg.add(calls)
    a = agg.finish()
    texts = a.strings()
    for w in (a.self_ns, a.calls):
        want = sorted((texts[i], int(w[i])) for i in range(len(texts)) if w[i] > 0)
        assert len(want) > 10
        assert list(a.sorted_texts(w)) == want


def test_call_paths_with_equal_texts_are_one_line():
    """Two names that differ only by ';' and ':' fold to the same text: one line, summed
    (stackcollapse keys its counts by the text)."""
    from tracefold.analysis.paths import PathAggregator
    a = PathAggregator()
    root = a._path(-1, a.names.setdefault("main", len(a.names)))
    x = a._path(root, a.names.setdefault("f;g", len(a.names)))
    y = a._path(root, a.names.setdefault("f:g", len(a.names)))
    z = a._path(root, a.names.setdefault("f", len(a.names)))
    w = np.zeros(len(a.parent), np.int64)
    w[[root, x, y, z]] = [1, 2, 3, 4]
    assert list(a.sorted_texts(w)) == [("main", 1), ("main;f", 4), ("main;f:g", 5)]
