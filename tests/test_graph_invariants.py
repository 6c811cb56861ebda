"""function_graph invariants on every corpus file that has graph lines (ftrace pretty,
trace-cmd pretty and -R raw), and cross-checks between real outputs of the same recording."""
import re

import numpy as np
import pytest

import tracefold
from conftest import GENERATED, SAMPLES, need_shared
from tracefold.grammar import load

G = load("ftrace")
ENTRY = re.compile(r"\(\) \{\s*$")


def graph_files():
    if not SAMPLES.is_dir():
        return []
    out = []
    for base in (SAMPLES / "ftrace", SAMPLES / "trace-cmd", SAMPLES / "seed", GENERATED):
        for p in sorted(base.rglob("*")):
            if p.is_file() and p.suffix in ("", ".txt") and p.stat().st_size < 5_000_000:
                try:
                    txt = p.read_text(errors="replace")
                except OSError:
                    continue
                if ("funcgraph_" in txt
                        or re.search(r"^\s*(?:[\d.]+ \|\s*)?\d+\)\s.*\|", txt, re.M)) \
                        and "=>" not in txt[:0]:
                    out.append(p)
    return out


FILES = graph_files()


def _calls(path):
    try:
        df = tracefold.read(path)
    except tracefold.source.InputError:
        pytest.skip("not a trace (prose)")
    return df[df.kind == "call"]


@pytest.mark.parametrize("path", FILES or [pytest.param(None, marks=pytest.mark.skip(
    reason="../shared absent"))], ids=[str(p.relative_to(p.parents[2])) for p in FILES] or None)
def test_graph_invariants(path):
    need_shared()
    calls = _calls(path)
    if calls.empty:
        pytest.skip("no function_graph calls in this file")
    by_line = calls.set_index("line")
    # 1. depth: a child is exactly one level below its parent
    kids = calls.dropna(subset=["parent_line"])
    pd_ = by_line.loc[kids.parent_line.astype(int), "depth"].to_numpy()
    assert (kids.depth.to_numpy() == pd_ + 1).all()
    # 2. each call lasts at least as long as its children together
    closed = calls[calls.dur_ns.notna()]
    child_sum = closed.dropna(subset=["parent_line"]).groupby("parent_line").dur_ns.sum()
    parent_dur = by_line.dur_ns.reindex(child_sum.index)
    ok = parent_dur.isna() | (parent_dur >= child_sum)
    assert ok.all(), child_sum[~ok].head()
    # 3. children start inside their parent when times are known
    timed = kids.dropna(subset=["ts_ns"])
    if len(timed):
        pts = by_line.ts_ns.reindex(timed.parent_line.astype(int)).to_numpy()
        m = ~np.isnan(pts)
        assert (timed.ts_ns.to_numpy()[m] >= pts[m] - 1000).all()


@pytest.mark.parametrize("path", FILES or [pytest.param(None, marks=pytest.mark.skip(
    reason="../shared absent"))], ids=[str(p.relative_to(p.parents[2])) for p in FILES] or None)
def test_entries_matched_with_exits(path):
    """Number of complete calls opened by an entry line == entry lines matched with exits;
    the rest are counted as unclosed. Exit lines are matched or counted as no_entry."""
    need_shared()
    calls = _calls(path)
    text = path.read_text(errors="replace").splitlines()
    entry_lines = {i + 1 for i, ln in enumerate(text)
                   if ENTRY.search(ln) or ("funcgraph_entry" in ln and "depth=" in ln)}
    exit_lines = {i + 1 for i, ln in enumerate(text)
                  if re.search(r"\|\s+\}( /\*.*\*/)?\s*$", ln) or re.search(r"^\s*\d+\)\s+\}", ln)
                  or ("funcgraph_exit" in ln and "depth=" in ln)}
    opened = calls[calls.line.isin(entry_lines) & calls.status.isna()]
    unclosed = calls[calls.status == "unclosed"]
    assert set(opened.line) | set(unclosed.line) == entry_lines
    assert set(opened.end_line.dropna().astype(int)) | set(
        calls[calls.status == "no_entry"].line) == exit_lines
    assert opened.end_line.notna().all()


def test_trace_cmd_plain_latency_and_raw_agree():
    """`trace-cmd report`, `report -l` and `report -R` of the same trace.dat: the same calls,
    names, depths and durations (raw gives exact ns from calltime/rettime)."""
    need_shared()
    d = GENERATED / "vm-trace-cmd-graph-hello"
    plain, lat, raw = (_calls(d / f) for f in ("report.txt", "report-l.txt", "report-R.txt"))
    assert len(plain) == len(lat) == len(raw) == 2021
    for col in ("name", "depth", "dur_ns", "tid"):
        assert plain[col].tolist() == lat[col].tolist() == raw[col].tolist(), col
    # printed entry timestamps are the event time truncated to µs, taken just after calltime
    diff = plain.ts_ns.to_numpy() - raw.ts_ns.to_numpy()
    assert (diff > -1000).all() and (diff < 40_000).all()
    assert (raw.ts_res_ns == 1).all() and (plain.ts_res_ns == 1000).all()


def test_ftrace_graph_matches_trace_cmd_structure():
    """The ftrace (abstime, proc, tail) and trace-cmd recordings of the same program give
    the same top-level syscall functions in the same order."""
    need_shared()
    a = _calls(GENERATED / "vm-ftrace-graph-hello-abstime-proc-tail" / "trace.txt")
    b = _calls(GENERATED / "vm-trace-cmd-graph-hello" / "report.txt")
    # the ftrace capture starts with the shell closing tracing_on (see its COMMANDS.md)
    top_a = [n for n in a[a.depth == 0].name if n != "mutex_unlock"]
    top_b = [n for n in b[b.depth == 0].name if n != "mutex_unlock"]
    top_a = top_a[top_a.index("do_sys_openat2"):]
    assert len(top_a) >= 8 and top_a == top_b[:len(top_a)]
    assert "ext4_file_open [ext4]" in set(a.name) or "ext4_file_open" in set(a.name)
