"""Off-CPU time in uftrace recordings: `/* linux:schedule */` lines with a duration are calls of
their own (as `uftrace report` counts them), not instants whose time stays in the enclosing
function; `--on-cpu` leaves them out. On real recordings: tests/golden/uftrace-diff (plain
`uftrace record` of tests/programs/diffwork.c, with uftrace's own report of the same data) and
../shared/generated/uftrace-threads (`report -f all` beside the replay)."""
import json
import re
from collections import defaultdict

import pyarrow.compute as pc
import pytest

import tracefold
from conftest import GENERATED, ROOT, need_shared, run_cli
from oracles import function_report

FIX = ROOT / "tests" / "golden" / "uftrace-diff"
RUNS = sorted(p.name[:-len(".txt.gz")] for p in FIX.glob("*.txt.gz"))
UNIT = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
T = r"([\d.]+) (ns|us|ms|s)"


def _uftrace_report(text):
    """{function: {total, self, calls, (avg, min, max with -f all)}} in ns."""
    out = {}
    for ln in text.splitlines():
        m = re.match(rf"^\s*{T}\s+{T}\s+{T}\s+{T}\s+{T}\s+{T}\s+{T}\s+{T}"
                     rf"\s+(\d+)\s+\d+\s+(.+?)\s*$",
                     ln)
        if m:
            g = m.groups()
            v = [round(float(g[2 * i]) * UNIT[g[2 * i + 1]]) for i in range(8)]
            out[g[-1]] = dict(total=v[0], avg=v[1], min=v[2], max=v[3], self=v[4],
                              calls=int(g[16]))
            continue
        m = re.match(rf"^\s*{T}\s+{T}\s+(\d+)\s+(.+?)\s*$", ln)
        if m:
            g = m.groups()
            out[g[-1]] = dict(total=round(float(g[0]) * UNIT[g[1]]),
                              self=round(float(g[2]) * UNIT[g[3]]), calls=int(g[4]))
    return out


def _children_res(t):
    """Per function: the summed resolution of its calls' children's durations (a child printed
    as `8.214 ms` is µs-precise: the parent's self time can be off by that much)."""
    d = t.to_pandas()
    calls = d[d.kind == "call"]
    res = calls.groupby("parent_line").dur_res_ns.sum()
    name_of = dict(zip(calls.line, calls.name))
    out = defaultdict(int)
    for line, r in res.items():
        out[name_of.get(int(line))] += int(r)
    return out


def _assert_report(got, want, extra):
    assert set(got) == set(want), set(got) ^ set(want)
    for fn, w in want.items():
        g = got[fn]
        assert g["calls"] == w["calls"], fn
        for k in ("total", "self", "min", "max"):
            if k not in w:
                continue
            tol = max(1, w[k] // 1000) + 1 + (extra.get(fn, 0) if k == "self" else 0)
            assert abs(g[f"{k}_ns"] - w[k]) <= tol, (fn, k, g[f"{k}_ns"], w[k], tol)


@pytest.mark.parametrize("run", RUNS)
def test_report_equals_uftrace_report_with_schedule_rows(run):
    t = tracefold.read_arrow(FIX / f"{run}.txt.gz")
    want = _uftrace_report((FIX / f"{run}.report.txt").read_text())
    assert ("linux:schedule" in want) == (not run.startswith("nosched"))
    _assert_report(function_report(t), want, _children_res(t))


def test_threads_recording_equals_report_f_all():
    need_shared()
    d = GENERATED / "uftrace-threads"
    want = _uftrace_report((d / "report-f-all.txt").read_text())
    assert want["linux:schedule"]["calls"] == 3 and "min" in want["linux:schedule"]
    for replay in ("replay-time.txt", "replay.txt", "replay-allfields.txt"):
        t = tracefold.read_arrow(d / replay)
        p = run_cli("report", d / replay, "--json")
        assert p.returncode == 0, p.stderr
        got = {r["function"]: r for r in map(json.loads, p.stdout.decode().splitlines())}
        extra = _children_res(t)
        if replay != "replay-time.txt":          # durations only as printed (%7.3f)
            extra = {fn: extra.get(fn, 0) + 1000 * w["calls"] for fn, w in want.items()}
        _assert_report(got, want, extra)


def test_schedule_is_a_frame_in_folded_chrome_graph_and_diff(tmp_path):
    src = FIX / "disturbed.txt.gz"
    out = tmp_path / "d.folded"
    tracefold.convert(src, out)
    folded = dict(ln.rsplit(" ", 1) for ln in out.read_text().splitlines())
    assert int(folded["main;run;other;linux:schedule (pre-empted)"]) == 7_992_000
    assert "main;save;fsync;linux:schedule" in folded
    # other's self time is on-CPU only: 300 calls of ~11 us, not 11.3 ms
    assert 3_200_000 < int(folded["main;run;other"]) < 3_400_000
    js = tmp_path / "d.json"
    tracefold.convert(src, js)
    ev = json.loads(js.read_text())["traceEvents"]
    offs = [e for e in ev if e["ph"] == "X" and e["name"].startswith("linux:schedule")]
    assert len(offs) == 5 and max(e["dur"] for e in offs) == 8214.0
    g = tracefold.callgraph(src)
    assert g.has_edge("other", "linux:schedule (pre-empted)") and g.has_edge("fsync",
                                                                              "linux:schedule")
    d = tracefold.diff(FIX / "base-01.txt.gz", src).set_index("function")
    assert d.loc["linux:schedule (pre-empted)", "new_total_ns"] == 7_992_000


def test_on_cpu_leaves_off_cpu_time_out(tmp_path):
    src = FIX / "disturbed.txt.gz"
    wall = tracefold.report(src).set_index("function")
    on = tracefold.report(src, filters=_on_cpu()).set_index("function")
    off = {n: wall.loc[n, "total_ns"] for n in wall.index if n.startswith("linux:schedule")}
    assert off and not any(n.startswith("linux:schedule") for n in on.index)
    assert on.loc["main", "total_ns"] == wall.loc["main", "total_ns"] - sum(off.values())
    assert on.loc["other", "total_ns"] == wall.loc["other", "self_ns"]    # a leaf but for sched
    assert (on.self_ns == wall.loc[on.index, "self_ns"]).all()            # self was on-CPU
    p = run_cli("convert", src, "--on-cpu", "-o", tmp_path / "on.folded")
    assert p.returncode == 0, p.stderr
    lines = (tmp_path / "on.folded").read_text().splitlines()
    assert lines and not [x for x in lines if "linux:schedule" in x]
    assert sum(int(x.rsplit(" ", 1)[1]) for x in lines) == on.loc["main", "total_ns"] + sum(
        on.loc[n, "total_ns"] for n in ("__monstartup", "__cxa_atexit"))
    # Chrome JSON: the timeline keeps wall-clock calls, without the off-CPU slices
    p = run_cli("convert", src, "--on-cpu", "-o", tmp_path / "on.json")
    assert p.returncode == 0, p.stderr
    ev = json.loads((tmp_path / "on.json").read_text())["traceEvents"]
    xs = {e["name"]: e for e in ev if e["ph"] == "X"}
    assert not [n for n in xs if n.startswith("linux:schedule")]
    assert round(xs["main"]["dur"] * 1000) == wall.loc["main", "total_ns"]
    # the same through Parquet, and across chunk boundaries (calls closing in a later chunk)
    pq = tmp_path / "d.parquet"
    tracefold.convert(src, pq)
    again = tracefold.report(pq, filters=_on_cpu()).set_index("function")
    assert again.sort_index().equals(on.sort_index())


def test_on_cpu_carries_across_chunks():
    """A call whose descendants come in earlier tables than itself still loses their
    off-CPU time (the filter runs per chunk)."""
    from tracefold.analysis.filters import Filters, RowFilter
    t = tracefold.read_arrow(FIX / "disturbed.txt.gz")
    whole = RowFilter(Filters(on_cpu=True))(t)
    # children before parents: reversed line order in pieces of 50 rows
    t = t.sort_by([("line", "descending")])
    rf = RowFilter(Filters(on_cpu=True))
    parts = [rf(t.slice(i, 50)) for i in range(0, t.num_rows, 50)]
    import pyarrow as pa
    got = pa.concat_tables(parts).sort_by("line")
    assert got.column("dur_ns").to_pylist() == whole.column("dur_ns").to_pylist()
    assert not pc.any(pc.starts_with(got.column("name"), "linux:schedule")).as_py()


def _on_cpu():
    from tracefold.analysis.filters import Filters
    return Filters(on_cpu=True)
