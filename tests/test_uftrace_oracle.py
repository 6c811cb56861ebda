"""uftrace reader against uftrace itself, on fresh recordings of our own programs.

Every run compiles tests/programs/*.c with `gcc -pg`, records them with
`uftrace record --no-sched` (and once with -a), and compares tracefold's reading of
`uftrace replay -f time,duration,tid` with uftrace's own views of the same recording:
`dump --flame-graph --sample-time=1ns` (self time per stack), `report` (per function total,
self, calls) and `dump --chrome` (the calls, their nesting and exact times)."""
import json
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

import tracefold
from oracles import call_paths, function_report, self_time_by_path

PROGRAMS = Path(__file__).resolve().parent / "programs"

pytestmark = pytest.mark.skipif(
    not (shutil.which("uftrace") and shutil.which("gcc")),
    reason="uftrace and gcc are needed (.ci/run installs uftrace with apt-get)")

CASES = {
    "recursive": (["recursive.c"], ["9"], []),
    "threads": (["threads.c", "-pthread"], ["15"], []),
    "fileio": (["fileio.c"], ["out.txt", "12"], []),
    "recursive-args": (["recursive.c", "-g"], ["7"], ["-a"]),   # -a needs debug info
    # main's own time is always >= 10 us: the flame graph oracle's printing limit (see
    # _uftrace_flame) is met on every run, not only on a loaded machine
    "root-self": (["rootwork.c"], ["200000"], []),
}


def _run(args, cwd):
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, (args, p.stderr)
    return p.stdout


@pytest.fixture(scope="module", params=sorted(CASES))
def recording(request, tmp_path_factory):
    name = request.param
    src, argv, rec_opts = CASES[name]
    d = tmp_path_factory.mktemp(name)
    exe = d / "prog"
    _run(["gcc", "-pg", "-O0", "-o", str(exe)] + [str(PROGRAMS / s) if s.endswith(".c") else s
                                                  for s in src], d)
    _run(["uftrace", "record", "--no-sched", *rec_opts, "-d", "u.data", str(exe), *argv], d)
    replay = d / "replay.txt"
    replay.write_text(_run(["uftrace", "replay", "-d", "u.data", "-f", "time,duration,tid"], d))
    return {
        "name": name, "dir": d, "replay": replay,
        "flame": _run(["uftrace", "dump", "-d", "u.data", "--flame-graph",
                       "--sample-time=1ns"], d),
        "report": _run(["uftrace", "report", "-d", "u.data"], d),
        "chrome": json.loads(_run(["uftrace", "dump", "-d", "u.data", "--chrome"], d)),
    }


def test_replay_is_fully_read(recording):
    d = tracefold.info(recording["replay"])
    assert d["format"] == "uftrace" and d["unrecognized"] == 0 and d["events"] > 5
    t = tracefold.read(recording["replay"])
    calls = t[t.kind == "call"]
    assert calls.status.isna().all(), "every call closed in a complete recording"
    assert (calls.ts_res_ns == 1).all() and (calls.dur_res_ns == 1).all()
    if recording["name"] == "recursive-args":
        fib = calls[calls.name == "fib"]
        assert fib.args.notna().all() and fib.retval.notna().all()
        assert {"(1)", "(0)"} <= set(fib.args)


def _uftrace_flame(text):
    """{stack: printed weight} of `uftrace dump --flame-graph --sample-time=1ns`.

    uftrace 0.13 prints a weight with `snprintf(ptr, len, "%lu", sample)` where `len` is the
    length of the stack text plus one (cmds/dump.c, print_flame_graph): a weight with more
    digits than its stack has characters is cut to its leading digits. `main` (4 characters)
    prints 14411 ns as 1441; on a loaded machine any root frame gets there. `uftrace report`
    of the same data is not affected (it printed 14.411 us)."""
    out = {}
    for ln in text.splitlines():
        stack, _, w = ln.rpartition(" ")
        assert stack not in out, ("uftrace prints one line per stack", stack)
        out[stack] = w
    return out


def _assert_same_as_flame_graph(got, recording):
    """Our self ns per stack against uftrace's flame graph: equal wherever uftrace printed the
    whole figure; where it may have cut it (as many digits as the stack has characters), ours
    must start with the digits printed and, for a root frame, equal `uftrace report`'s self
    time at its printed precision (a root frame's self time is its function's self time when
    the function is only called at the root). Deterministic: does not depend on how long the
    recorded program ran."""
    flame = _uftrace_flame(recording["flame"])
    report = _report(recording["report"])
    got = {k: v for k, v in got.items() if v}
    assert set(got) == set(flame)
    cut = 0
    for stack, printed in flame.items():
        g = got[stack]
        if len(printed) < len(stack):
            assert g == int(printed), stack
            continue
        cut += 1
        assert str(g).startswith(printed) and len(str(g)) >= len(printed), (stack, g, printed)
        name = stack
        if ";" not in stack and not any(s.endswith(";" + name) for s in flame):
            _, self_, _ = report[name]
            assert abs(g - self_) <= max(1, self_ // 1000) + 1, (stack, g, self_)
    if recording["name"] == "root-self":
        assert cut and "main" in got and got["main"] >= 10_000, "the printing limit is met"
    return cut


def test_self_time_per_stack_equals_uftrace_flame_graph(recording):
    got = self_time_by_path(tracefold.read_arrow(recording["replay"]))
    _assert_same_as_flame_graph(got, recording)


def test_flame_graph_oracle_printing_limit():
    """The model of uftrace's cut weights in _uftrace_flame, on lines uftrace 0.13 printed
    (root-self recording: `main 2169` where `uftrace report` said 216.921 us self)."""
    rec = {"name": "x", "flame": "main 2169\nmain;leaf 50\nmain;printf 6270\n",
           "report": "  223.241 us  216.921 us           1  main\n"
                     "    6.270 us    6.270 us           1  printf\n"
                     "    0.050 us    0.050 us           1  leaf\n"}
    assert _assert_same_as_flame_graph({"main": 216921, "main;leaf": 50,
                                        "main;printf": 6270}, rec) == 1
    for wrong in ({"main": 216821, "main;leaf": 50, "main;printf": 6270},   # off report
                  {"main": 21692, "main;leaf": 50, "main;printf": 6270},    # too few digits
                  {"main": 216921, "main;leaf": 51, "main;printf": 6270}):  # exact line off
        with pytest.raises(AssertionError):
            _assert_same_as_flame_graph(wrong, rec)


def _report(text):
    unit = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
    out = {}
    for ln in text.splitlines():
        m = re.match(r"^\s*([\d.]+) (ns|us|ms|s)\s+([\d.]+) (ns|us|ms|s)\s+(\d+)\s+(.+?)\s*$", ln)
        if m:
            out[m.group(6)] = (round(float(m.group(1)) * unit[m.group(2)]),
                               round(float(m.group(3)) * unit[m.group(4)]), int(m.group(5)))
    return out


def test_function_report_equals_uftrace_report(recording):
    want = _report(recording["report"])
    got = function_report(tracefold.read_arrow(recording["replay"]))
    _assert_same_report(got, want)


def _assert_same_report(got, want):
    """Per function calls, total and self against `uftrace report`; uftrace prints %7.3f in
    the unit it picked: times are compared at that precision."""
    assert set(got) == set(want)
    for name, (total, self_, calls) in want.items():
        g = got[name]
        assert g["calls"] == calls, name
        assert abs(g["total_ns"] - total) <= max(1, total // 1000) + 1, (name, g, total)
        assert abs(g["self_ns"] - self_) <= max(1, self_ // 1000) + 1, (name, g, self_)


def _uftrace_chrome_calls(recording):
    """uftrace's Chrome B/E pairs per thread → [(name, depth, start ns, duration ns)]."""
    want = defaultdict(list)
    stacks = defaultdict(list)
    for ev in recording["chrome"]["traceEvents"]:
        if ev.get("ph") not in ("B", "E"):
            continue
        tid = ev.get("tid", ev["pid"])
        ts = round(float(ev["ts"]) * 1000)
        if ev["ph"] == "B":
            stacks[tid].append((ev["name"], ts))
        else:
            name, start = stacks[tid].pop()
            assert name == ev["name"]
            want[tid].append((name, len(stacks[tid]), start, ts - start))
    return want


def test_calls_and_nesting_equal_uftrace_chrome(recording):
    """Chrome B/E pairs per thread → (name, depth, start ns, duration ns) must be ours."""
    want = _uftrace_chrome_calls(recording)
    t = tracefold.read(recording["replay"])
    calls = t[t.kind == "call"]
    got = defaultdict(list)
    for r in calls.itertuples():
        got[r.tid].append((r.name, int(r.depth), int(r.ts_ns), int(r.dur_ns)))
    assert set(got) == set(want)
    for tid in want:
        assert sorted(got[tid]) == sorted(want[tid])
    # and the tree: every call's parent is the innermost call around it in time
    paths = call_paths(tracefold.read_arrow(recording["replay"]))
    assert all(len(p) == d + 1 for p, d in zip((paths[x] for x in calls.line), calls.depth))


def test_folded_writer_equals_uftrace_flame_graph(recording, tmp_path):
    """`tracefold convert replay -o x.folded` (and from its Parquet file) gives uftrace's
    own `dump --flame-graph --sample-time=1ns` lines."""
    pq = tmp_path / "r.parquet"
    tracefold.convert(recording["replay"], pq)
    for src in (recording["replay"], pq):
        out = tmp_path / "r.folded"
        tracefold.convert(src, out)
        got = {}
        for ln in out.read_text().splitlines():
            stack, _, w = ln.rpartition(" ")
            assert stack not in got, "one line per stack"
            got[stack] = int(w)
        _assert_same_as_flame_graph(got, recording)


def test_chrome_writer_equals_uftrace_chrome(recording, tmp_path):
    """`tracefold convert replay -o x.json`: per thread the same calls with the same nesting,
    start times and durations as `uftrace dump --chrome`, and `tracefold check` passes."""
    from tracefold.writers.chrome_check import check_file
    want = _uftrace_chrome_calls(recording)
    out = tmp_path / "t.json"
    tracefold.convert(recording["replay"], out, absolute_ts=True)
    assert check_file(out)["ok"]
    xs = [e for e in json.loads(out.read_text())["traceEvents"] if e["ph"] == "X"]
    got = defaultdict(list)
    by_tid = defaultdict(list)
    for e in xs:
        start = round(e["ts"] * 1000)
        by_tid[e["tid"]].append((start, start + round(e["dur"] * 1000), e["name"]))
    for tid, sl in by_tid.items():
        sl.sort(key=lambda s: (s[0], -s[1]))
        st = []
        for start, end, name in sl:
            while st and st[-1] <= start:
                st.pop()
            got[tid].append((name, len(st), start, end - start))
            st.append(end)
    assert set(got) == set(want)
    for tid in want:
        assert sorted(got[tid]) == sorted(want[tid])


def test_report_command_equals_uftrace_report(recording, tmp_path):
    """`tracefold report --json` (and the call graph's nodes) against `uftrace report`."""
    from conftest import run_cli
    want = _report(recording["report"])
    p = run_cli("report", recording["replay"], "--json")
    assert p.returncode == 0, p.stderr
    rows = [json.loads(x) for x in p.stdout.decode().splitlines()]
    got = {r["function"]: r for r in rows}
    _assert_same_report(got, want)
    assert all(g["min_ns"] <= g["avg_ns"] <= g["max_ns"] for g in got.values())
    # sorted by total time, descending, as uftrace does
    assert [r["total_ns"] for r in rows] == sorted((r["total_ns"] for r in rows), reverse=True)
    g = tracefold.callgraph(tracefold.read_arrow(recording["replay"]))
    assert {n: a["calls"] for n, a in g.nodes(data=True)} == {n: c for n, (_, _, c) in want.items()}
