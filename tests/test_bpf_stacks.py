"""bpftrace map printouts (readers/bpftrace.py) and bcc stack tools' output (readers/bcc.py):
each checked against an independent reading of the same real outputs written here (blocks of
frames and their count), on the goldens of tests/golden/bpftrace and tests/golden/bcc
(SOURCES.md says where each comes from)."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pytest

import tracefold
from tracefold import api
from tracefold.errors import InputError

GOLDEN = Path(__file__).parent / "golden"
BPFTRACE = sorted((GOLDEN / "bpftrace").glob("*.txt"))
BCC = sorted((GOLDEN / "bcc").glob("*.txt"))


def _bpftrace_entries(path: Path):
    """(map, frames innermost first, key texts, value) of every complete entry with a stack:
    an opening "@m[" line, indented frames and ", " separators, then "…]: N"; or one line
    whose key has an empty stack part."""
    out, cur = [], None
    for ln in path.read_text().splitlines():
        if cur is None:
            m = re.match(r"^(@\w*)\[(.*)$", ln)
            if m and not re.search(r"\]: ", ln):
                cur = (m.group(1), [], [m.group(2)])
            elif m and re.match(r"^@\w*\[(?:|.*, |, .*)\]: -?\d+$", ln):
                one = re.match(r"^(@\w*)\[(.*)\]: (-?\d+)$", ln)
                out.append((one.group(1), [], [one.group(2)], int(one.group(3))))
            continue
        end = re.match(r"^(?:,(.*))?\]: (-?\d+)$", ln)
        if end:
            out.append((cur[0], cur[1], cur[2] + [end.group(1) or ""], int(end.group(2))))
            cur = None
        elif ln.startswith(","):
            cur[2].append(ln[1:])
        elif ln[:1] in (" ", "\t"):
            f = ln.strip()
            if ln.startswith("\t"):             # perf mode: address, symbol, (object)
                f = f.split(" ", 1)[1]
                f = f.rsplit(" (", 1)[0] if f.endswith(")") else f
            cur[1].append(re.sub(r"\+\d+$", "", f))
        else:
            cur = None                       # cut: a new map started inside it
    return out


@pytest.mark.parametrize("path", BPFTRACE, ids=lambda p: p.name)
def test_bpftrace_entries_become_samples(path):
    entries = _bpftrace_entries(path)
    t = tracefold.read_arrow(path)
    assert t.num_rows == len(entries)
    assert t.column("event").to_pylist() == [e[0] for e in entries]
    assert t.column("weight").to_pylist() == [e[3] for e in entries]
    stacks = [s or [] for s in t.column("stack").to_pylist()]
    assert stacks == [list(reversed(e[1])) for e in entries]
    for (_, _, keys, _), comm in zip(entries, t.column("comm").to_pylist()):
        words = [k.strip() for x in keys for k in x.split(",") if k.strip()]
        names = [w for w in words if not w.isdigit()]
        assert comm == (names[0] if names else None)
    info = tracefold.info(path)
    assert info["unrecognized"] == 0


def test_bpftrace_folded_is_its_stacks_by_map():
    """Folded stacks of the first map with stacks (as for perf events); the other map on
    request; no task frame where the key has none; empty stacks left out with a note."""
    path = GOLDEN / "bpftrace" / "profile-two-stack-maps.txt"
    entries = _bpftrace_entries(path)
    for ev in ("@k", "@u"):
        want = Counter()
        for m, frames, keys, v in entries:
            comm = [k.strip() for x in keys for k in x.split(",") if k.strip()]
            stack = ";".join(comm[:1] + list(reversed(frames)))
            if m == ev and stack:
                want[stack] += v
        opts = {} if ev == "@k" else {"event_filter": ev}
        lines, unit = api.fold(str(path), **opts)
        got = Counter({ln.rsplit(" ", 1)[0]: int(ln.rsplit(" ", 1)[1]) for ln in lines})
        assert got == want and unit == "samples"
    assert all(";" in s or s for s in want)


def test_bpftrace_perf_mode_keeps_addresses_and_objects():
    t = tracefold.read(GOLDEN / "bpftrace" / "profile-comm-pid-ustack-perf-head100.txt")
    row = t.iloc[1]
    assert row["comm"] == "python" and row["pid"] == 18163
    assert list(row["stack_addr"]) == ["5603e8bdb020", "7ff1f57b3556"]
    assert row["stack_dso"][0] == "[unknown]" and row["stack_dso"][1].endswith(".so")
    assert row["stack"][1].startswith("__Pyx_CyFunction_Vectorcall_FASTCALL_KEYWORDS(")


def test_bpftrace_entry_cut_mid_stack_is_counted():
    path = GOLDEN / "bpftrace" / "profile-kstack-perf-comm-head150.txt"
    lines = path.read_text().splitlines()
    last_close = max(i for i, ln in enumerate(lines) if re.match(r"^(?:,.*)?\]: \d+$", ln))
    info = tracefold.info(path)
    assert info["skipped"]["map entry cut before its ']: N' line"] == len(lines) - last_close - 1
    assert info["lines"] == info["event_lines"] + sum(info["skipped"].values())


def _bcc_entries(path: Path):
    """(frames innermost first, comm, pid, count) of every entry: indented lines up to an
    indented number; "-  comm (pid)" / "comm [pid]" is the task, "--" the delimiter."""
    out, cur = [], []
    for ln in path.read_text().splitlines():
        s = ln.strip()
        if not ln[:1].isspace() or not s:
            cur = []
            continue
        if re.fullmatch(r"\d+", s):
            frames = [f for f in cur if not re.match(r"^(?:- +\S.* \(\d+\)|\S.* \[\d+\])$", f)]
            task = [f for f in cur if f not in frames]
            m = re.match(r"^(?:- +(.*) \((\d+)\)|(.*) \[(\d+)\])$", task[0]) if task else None
            comm = (m.group(1) or m.group(3)) if m else None
            pid = int(m.group(2) or m.group(4)) if m else None
            out.append(([f for f in frames if f != "--"], comm, pid, int(s)))
            cur = []
        else:
            cur.append(s)
    return out


@pytest.mark.parametrize("path", BCC, ids=lambda p: p.name)
def test_bcc_entries_become_samples(path):
    entries = _bcc_entries(path)
    t = tracefold.read_arrow(path)
    assert t.num_rows == len(entries)
    assert t.column("weight").to_pylist() == [e[3] for e in entries]
    old_offcpu = "offcputime" in path.name and not any(e[1] for e in entries)
    for (frames, comm, pid, _), st, c, p in zip(entries, t.column("stack").to_pylist(),
                                                 t.column("comm").to_pylist(),
                                                 t.column("pid").to_pylist()):
        if old_offcpu:                        # the task printed as the last frame
            frames, comm = frames[:-1], frames[-1]
        assert (st or []) == list(reversed(frames))
        assert (c, p) == (comm, pid)
    assert tracefold.info(path)["unrecognized"] == 0


def test_bcc_tool_units_and_folded():
    path = GOLDEN / "bcc" / "offcputime-K-p.txt"
    t = tracefold.read(path)
    assert list(t["event"]) == ["offcputime"] and list(t["weight"]) == [2405710]
    lines, unit = api.fold(str(path))
    assert unit == "us"
    assert list(lines) == ["dd;entry_SYSCALL_64_fastpath;sys_read;vfs_read;__vfs_read;"
                           "blkdev_read_iter;generic_file_read_iter;blkdev_direct_IO;"
                           "__blockdev_direct_IO;do_blockdev_direct_IO;io_schedule_timeout;"
                           "schedule_timeout;schedule 2405710"]
    # -d: the number of kernel frames (printed before "--") is kept
    t = tracefold.read_arrow(GOLDEN / "bcc" / "profile-d-delimited.txt").to_pylist()
    assert [dict(r["fields"])["kernel_frames"] for r in t] == ["3", "0", "5", "7"]
    assert t[0]["stack"] == ["__write", "entry_SYSCALL_64_fastpath", "sys_write", "__vfs_write"]
    lines, unit = api.fold(str(GOLDEN / "bcc" / "profile-d-delimited.txt"))
    assert unit == "samples"
    assert "dd;read;entry_SYSCALL_64_fastpath;sys_read;vfs_read;__vfs_read;read_iter_zero;" \
        "iov_iter_zero;__clear_user 9" in list(lines)


def test_bcc_folded_output_is_read_by_the_folded_reader():
    """The tools' -f output is folded stacks: offcputime's weights are its microseconds."""
    path = GOLDEN / "folded" / "bcc-offcputime-K-f.txt"
    t = tracefold.read_arrow(path)
    total = sum(int(ln.rsplit(" ", 1)[1]) for ln in path.read_text().splitlines() if ln)
    assert t.column("format").to_pylist()[0] == "folded"
    assert pc.sum(t.column("weight")).as_py() == total


@pytest.mark.parametrize("path", BPFTRACE + BCC, ids=lambda p: p.name)
def test_cut_anywhere_never_fails(path, tmp_path):
    """Real outputs cut at many places: every line parsed or counted, never a traceback."""
    data = path.read_bytes()
    for cut in range(1, len(data), max(1, len(data) // 23)):
        f = tmp_path / "cut.txt"
        f.write_bytes(data[:cut])
        try:
            info = api.info(str(f), path.parent.name)
        except InputError:
            continue                            # nothing of that format left: a clear error
        assert info["lines"] == info["event_lines"] + sum(info["skipped"].values()) + \
            info["unrecognized"]


def test_event_option_keeps_one_map_in_every_command():
    """--event (any command): only the rows of these events; here one bpftrace map."""
    from tracefold.analysis.filters import Filters
    path = GOLDEN / "bpftrace" / "profile-two-stack-maps.txt"
    entries = _bpftrace_entries(path)
    for ev in ("@k", "@u"):
        r = api.report(str(path), filters=Filters.from_options(event=ev))
        assert r["self_weight"].sum() == sum(v for m, f, _, v in entries if m == ev and f)
    t = tracefold.read_arrow(path)
    assert set(t.column("event").to_pylist()) == {"@k", "@u"}
