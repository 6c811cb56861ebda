"""Golden tests: real tool output in tests/golden/<format>/ and the expected normalized rows,
plus cross-checks between different real views of the same recording."""
import json
from pathlib import Path

import pytest

import tracefold
from conftest import GOLDEN

# one folder per reader (tests/golden/<format>/); other folders (fs/) have their own tests
from tracefold.readers import READERS  # noqa: E402
INPUTS = sorted(p for p in GOLDEN.glob("*/*.txt") if p.parent.name in READERS)
INFO_KEYS = ("format", "lines", "events", "event_lines", "unrecognized", "skipped",
             "lost_events", "tasks", "time_span_ns")


@pytest.mark.parametrize("path", INPUTS, ids=[f"{p.parent.name}/{p.name}" for p in INPUTS])
def test_golden_rows(path):
    want = [json.loads(x) for x in Path(str(path) + ".expected.jsonl").read_text().splitlines()
            if x.strip()]
    got = tracefold.read_arrow(path).to_pylist()
    got = [json.loads(json.dumps(r)) for r in got]      # tuples -> lists, as stored
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g == w, (g["line"], {k: (g[k], w[k]) for k in g if g[k] != w[k]})
    info = tracefold.info(path)
    want_info = json.loads(Path(str(path) + ".expected-info.json").read_text())
    assert {k: info[k] for k in INFO_KEYS} == want_info
    assert path.parent.name == info["format"]


def _read(name):
    return tracefold.read(GOLDEN / name)


def test_trace_cmd_plain_and_latency_views_agree():
    a = _read("trace-cmd/function-kernel_stack.txt")
    b = _read("trace-cmd/function-kernel_stack-l.txt")
    for col in ("line", "kind", "name", "ts_ns", "tid", "comm", "cpu"):
        assert a[col].tolist() == b[col].tolist(), col
    assert [list(x) for x in a["stack"]] == [list(x) for x in b["stack"]]
    assert a["stack"].iloc[0][0] == "entry_SYSCALL_64_after_hwframe"
    assert list(a["stack"].iloc[0][-2:]) == ["ksys_mmap_pgoff", "ftrace_trampoline"]
    assert b["flags"].iloc[0] == "....."       # -l shows flags ("1....." = CPU 1 + flags)


def test_trace_cmd_raw_function_view_has_same_events():
    a = _read("trace-cmd/function-kernel_stack.txt")
    r = _read("trace-cmd/function-kernel_stack-R.txt")
    fa = a[a.event == "function"]
    # -R prints "function: ip=ksys_read parent_ip=do_syscall_64": still a function entry
    fr = r[r.event == "function"]
    assert fr.kind.unique().tolist() == ["entry"]
    assert fr.name.tolist() == fa.name.tolist()
    assert fr.caller.unique().tolist() == ["do_syscall_64"]
    assert fr.ts_ns.tolist() == fa.ts_ns.tolist()


def test_trace_cmd_ns_and_us_timestamps_agree():
    us, ns = _read("trace-cmd/events-head50.txt"), _read("trace-cmd/events-t-head50.txt")
    assert us.name.tolist() == ns.name.tolist()
    assert (ns.ts_res_ns == 1).all() and (us.ts_res_ns == 1000).all()
    # the µs view is the ns timestamp rounded to µs
    assert all(abs(a - b) <= 500 for a, b in zip(us.ts_ns, ns.ts_ns))


def test_trace_cmd_ts_diff_column_changes_nothing():
    a, b = _read("trace-cmd/events-head50.txt"), _read("trace-cmd/events-ts-diff-head50.txt")
    for col in ("line", "name", "ts_ns", "tid", "text"):
        assert a[col].tolist() == b[col].tolist(), col


def test_ftrace_sym_addr_option_changes_nothing_but_addresses():
    a = _read("ftrace/function-stacktrace.txt")
    b = _read("ftrace/function-stacktrace-sym-addr.txt")
    for col in ("line", "name", "caller", "ts_ns", "tid"):
        assert a[col].tolist() == b[col].tolist(), col
    assert [list(x) for x in a["stack"]] == [list(x) for x in b["stack"]]


def test_graph_views_of_the_same_trace_agree():
    pretty = _read("trace-cmd/function_graph-head80.txt")
    raw = _read("trace-cmd/function_graph-R-head120.txt")
    done_p = pretty[(pretty.kind == "call") & pretty.status.isna()]
    done_r = raw[(raw.kind == "call") & raw.status.isna()]
    n = min(len(done_p), len(done_r)) - 10
    key = lambda d: list(zip(d.name, d.depth, d.dur_ns))[:n]  # noqa
    assert n > 30 and key(done_p.sort_values("ts_ns")) == key(done_r.sort_values("ts_ns"))
