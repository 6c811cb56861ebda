"""strace input (readers/strace.py): checked against strace's own summary of the same run
(`strace -C -w` prints the trace and, at its end, the per-syscall summary: calls, errors and
wall-clock seconds), and on the golden recordings in tests/golden/strace/ (SOURCES.md)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pytest

import tracefold
from tracefold import api

GOLDEN = Path(__file__).parent / "golden" / "strace"
PROGRAMS = Path(__file__).parent / "programs"


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "tracefold", *map(str, args)],
                          capture_output=True, text=True, **kw)


def _summary(path: Path) -> dict:
    """strace's -c table at the end of a -C file: {syscall: (seconds, calls, errors)}."""
    lines = path.read_text().splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("% time"))
    out = {}
    for ln in lines[at + 2:]:
        p = ln.split()
        if not p or p[0].startswith("-") or p[-1] == "total":
            continue
        errors = int(p[4]) if len(p) == 6 else 0
        out[p[-1]] = (float(p[1]), int(p[3]), errors)
    return out


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    if not shutil.which("strace") or not shutil.which("gcc"):
        pytest.skip("strace and gcc are needed (apt-get install strace gcc)")
    d = tmp_path_factory.mktemp("strace")
    subprocess.run(["gcc", "-O0", "-pthread", "-o", d / "threads", PROGRAMS / "threads.c"],
                   check=True)
    subprocess.run(["gcc", "-O0", "-o", d / "fileio", PROGRAMS / "fileio.c"], check=True)
    runs = {"threads": ["./threads", "4"], "fileio": ["./fileio", "io.out", "300"],
            "shell": ["sh", "-c", "sleep 0.01 & wait; ls / > /dev/null; cat nothing 2>/dev/null;"
                      " true"]}
    out = {}
    for name, cmd in runs.items():
        f = d / f"{name}.txt"
        r = subprocess.run(["strace", "-f", "-tt", "-T", "-y", "-C", "-w", "-o", f, *cmd],
                           cwd=d, capture_output=True)
        if r.returncode not in (0, 1) or not f.exists() or "% time" not in f.read_text():
            pytest.skip(f"strace cannot trace here: {r.stderr.decode()[-200:]}")
        out[name] = f
    return out


@pytest.mark.parametrize("name", ["threads", "fileio", "shell"])
def test_calls_errors_and_times_agree_with_strace_summary(recordings, name):
    """Every syscall strace counted is one row (calls per syscall exact, errors exact); their
    -T durations add up to its wall-clock seconds within the microsecond each -T value is
    printed with."""
    path = recordings[name]
    t = tracefold.read_arrow(path)
    calls = t.filter(pc.equal(t.column("event"), "syscall"))
    names = calls.column("name").to_pylist()
    durs = calls.column("dur_ns").to_pylist()
    errno = pc.map_lookup(calls.column("fields"), "errno", "first").to_pylist()
    summary = _summary(path)
    count = Counter(names)
    # calls that never return (exit, exit_group) are not in strace's summary
    never = {n for n, d in zip(names, durs) if d is None}
    assert set(count) - set(summary) <= never
    for sc, (seconds, ncalls, nerrors) in summary.items():
        assert count[sc] == ncalls, sc
        assert sum(1 for n, e in zip(names, errno) if n == sc and e) == nerrors, sc
        total = sum(d for n, d in zip(names, durs) if n == sc and d is not None)
        assert abs(total - round(seconds * 1e9)) <= 1000 * ncalls + 1000, sc
    info = tracefold.info(path)
    assert info["unrecognized"] == 0
    assert info["skipped"]["strace -c summary"] == len(summary) + 4   # header, 2 rules, total
    assert not info["warnings"]


def test_threads_get_their_process(recordings):
    t = tracefold.read(recordings["threads"])
    pids = t.groupby("tid")["pid"].first()
    main = int(t["tid"].iloc[0])
    clones = int((t["name"] == "clone3").sum() + (t["name"] == "clone").sum())
    assert len(pids) == clones + 1 >= 3 and set(pids) == {main}   # threads of the process
    assert set(t["comm"].dropna()) == {"threads"}


def test_forked_processes_are_their_own(recordings):
    t = tracefold.read(recordings["shell"])
    procs = t.groupby("pid")["comm"].agg(lambda s: set(s.dropna()))
    # sh forks a child that runs sleep, then ls and cat (each its own process)
    # each child is "sh" until its execve, then the program: no other name (a resumed call
    # returning 0 is not an execve)
    assert sorted(map(sorted, procs)) == [["cat", "sh"], ["ls", "sh"], ["sh"], ["sh", "sleep"]]


def test_unfinished_and_resumed_lines_are_joined_exactly():
    """Each <unfinished ...> line and the next <... NAME resumed> line of its thread make one
    row: line = the first, end_line = the second, the arguments of both joined."""
    path = GOLDEN / "threads-f-tt-T.txt"
    expect = {}
    open_ = {}
    for no, ln in enumerate(path.read_text().splitlines(), 1):
        tid = ln.split()[0]
        if ln.endswith("<unfinished ...>"):
            open_[tid] = no
        m = re.search(r"<\.\.\. (\w+) resumed>", ln)
        if m:
            expect[open_.pop(tid)] = no
    assert not open_ and len(expect) == 13
    t = tracefold.read_arrow(path)
    got = {r["line"]: r["end_line"] for r in t.to_pylist() if r["end_line"] is not None
           and r["name"] not in ("exit", "exit_group")}
    assert got == expect
    # a call that never returns (exit, exit_group) ends at its thread's "+++ exited" line
    ends = {r["end_line"] for r in t.to_pylist() if r["name"] in ("exit", "exit_group")}
    assert ends == {63, 78, 86, 98}  # exit of 3 threads, exit_group of the process
    row = next(r for r in t.to_pylist() if r["line"] == 43)
    assert row["name"] == "rt_sigprocmask" and row["args"] == "SIG_SETMASK, [], NULL, 8"
    assert row["dur_ns"] == 12000 and row["ts_ns"] == (10 * 3600 + 55 * 60 + 27) * 10**9 + 57013000
    assert not tracefold.info(path)["warnings"]


def test_a_cut_trace_counts_what_it_lost():
    info = tracefold.info(GOLDEN / "threads-f-tt-T-cut.txt")
    assert info["warnings"] == {"unfinished syscall without its resumption": 2}
    assert info["unrecognized"] == 1               # the cut last line
    t = tracefold.read(GOLDEN / "threads-f-tt-T-cut.txt")
    assert list(t[t["status"] == "unclosed"]["name"]) == ["rseq", "rt_sigprocmask"]


def test_mixed_with_the_programs_output_is_counted_not_fatal():
    r = _cli("info", "--json", GOLDEN / "threads-f-t-stderr-mixed.txt")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    # "strace: Process N attached" inside a syscall line: the line and its rest read as one;
    # the program's own output inside a write line stays unrecognized (2 lines)
    assert d["unrecognized"] == 2 and d["events"] == 77
    t = tracefold.read(GOLDEN / "threads-f-t-stderr-mixed.txt")
    row = t[t["line"] == 78].iloc[0]
    assert (row["name"], row["args"], row["retval"]) == \
        ("rt_sigprocmask", "SIG_BLOCK, ~[RT_1], NULL, 8", "0")
    assert d["lines"] == d["event_lines"] + sum(d["skipped"].values()) + d["unrecognized"]


def test_summary_is_refused_with_a_clear_error(tmp_path):
    f = tmp_path / "c.txt"
    shutil.copy(GOLDEN / "summary-c.notrace", f)
    r = _cli("convert", f, "-o", tmp_path / "x.parquet")
    assert r.returncode == 1
    assert r.stderr.strip() == (f"tracefold: {f}:1: a strace -c summary (counts per syscall), "
                                "not a trace: record one with strace -f -tt -T -o FILE")
    assert not (tmp_path / "x.parquet").exists()


def test_ff_files_by_prefix_as_joined_by_tail(tmp_path):
    """strace -ff -o st: the prefix reads st.<tid> in order (as `tail -n +1 st.*` joins them);
    each file's thread id comes from its name, the process from the clone calls."""
    joined = tmp_path / "joined.txt"
    files = sorted((GOLDEN / "ff").glob("st.*"))
    joined.write_text(subprocess.run(["tail", "-n", "+1", *files], capture_output=True,
                                     text=True, check=True).stdout.replace(
                                         str(GOLDEN / "ff") + "/", ""))
    a = tracefold.read_arrow(GOLDEN / "ff" / "st").drop_columns(["line", "end_line"])
    b = tracefold.read_arrow(joined).drop_columns(["line", "end_line"])
    assert a.to_pylist() == b.to_pylist()
    t = a.to_pandas()
    assert sorted(set(t["tid"])) == [9870, 9871, 9872, 9873]
    assert set(t["pid"]) == {9870}
    # each file alone: its thread id from the file name
    one = tracefold.read(GOLDEN / "ff" / "st.9872")
    assert set(one["tid"]) == {9872}


def test_ff_files_as_a_dataset_report_like_the_prefix(tmp_path):
    ds = tmp_path / "ds"
    r = _cli("convert", *sorted((GOLDEN / "ff").glob("st.*")), "-o", f"{ds}/", "-q")
    assert r.returncode == 0, r.stderr
    whole = api.report(str(GOLDEN / "ff" / "st"))
    parts = api.report(str(ds))
    key = ["function", "calls", "total_ns"]
    assert whole[key].sort_values(key).values.tolist() == \
        parts[key].sort_values(key).values.tolist()


def test_chrome_has_a_track_per_thread(tmp_path):
    out = tmp_path / "t.json"
    api.convert(str(GOLDEN / "threads-f-tt-T.txt"), str(out))
    ev = json.loads(out.read_text())["traceEvents"]
    tracks = {(e["pid"], e["tid"]) for e in ev if e["ph"] == "X"}
    assert tracks == {(19128, t) for t in (19128, 19129, 19130, 19131)}
    names = {e["tid"]: e["args"]["name"] for e in ev
             if e["ph"] == "M" and e["name"] == "thread_name"}
    assert set(names.values()) == {"threads"}
    assert sum(1 for e in ev if e["ph"] == "X") == 81        # every syscall with a duration


def test_folded_stacks_weigh_syscall_time(tmp_path):
    """-k: each syscall folded under its stack (root first), the syscall as the leaf, its -T
    duration as the weight; a trace without -T counts calls."""
    path = GOLDEN / "fileio-f-tt-T-k-y-trace-file-desc.txt"
    t = tracefold.read_arrow(path)
    lines, unit = api.fold(str(path))
    lines = list(lines)
    assert unit == "ns"
    total = sum(int(ln.rsplit(" ", 1)[1]) for ln in lines)
    assert total == pc.sum(t.column("dur_ns")).as_py()
    write = [ln for ln in lines if ln.split(" ")[0].endswith(";__write;write")]
    assert write and all(ln.startswith("fileio;_start;__libc_start_main;") for ln in write)
    calls, unit = api.fold(str(GOLDEN / "hello-k-trace-write.txt"))
    assert unit == "calls"
    assert sum(int(ln.rsplit(" ", 1)[1]) for ln in calls) == 2   # -e trace=write: 2 writes


def test_fs_by_file_and_syscall():
    res = api.fs(str(GOLDEN / "fileio-f-tt-T-yy.txt"))
    assert res.kind == "syscall events"
    rows = {(r["path"], r["syscall"]): r for r in res.by_file()}
    out = rows[("/tmp/sg/b.out", "write")]
    assert out["count"] == 1 and out["total_ns"] == 27000
    assert rows[("/tmp/sg/b.out", "read")]["count"] == 2
    assert rows[("/etc/ld.so.preload", "access")]["errors"] == 1
    r = _cli("fs", "--by", "file", "--format", "tsv", GOLDEN / "fileio-f-tt-T-yy.txt")
    assert r.returncode == 0 and r.stdout.splitlines()[0].split("\t")[:3] == \
        ["path", "syscall", "count"]


def test_diff_of_two_runs(tmp_path):
    d = api.diff(str(GOLDEN / "hello-f-tt-T.txt"), str(GOLDEN / "threads-f-tt-T.txt"))
    assert "clone3" in set(d["function"])
