"""The split form of a rule against the rule's regex on generated lines whose fields hold the
separators themselves (comm names with '|', ']', ':', '-' and digits; bodies with '|'): where
the split form takes a line, every field equals what the regex gives."""
import pyarrow as pa
from hypothesis import given, settings, strategies as st

from tracefold.readers.ftrace import FtraceReader
from tracefold.readers.trace_cmd import TraceCmdReader
from tracefold.readers.uftrace import UftraceReader

comm = st.text("ab-1:|] [.", min_size=1, max_size=15).filter(lambda s: s.strip() == s)
func = st.sampled_from(["f", "do_sys_open", "ext4_file_open [ext4]", "a|b", "x]y", "k:l"])
dur = st.one_of(st.just(""), st.builds(lambda m, v: f"{m} {v} us", st.sampled_from(["", "+", "!"]),
                                       st.decimals(0, 99999, places=3).map(str)))
secs = st.integers(0, 10 ** 6).map(lambda s: f"{s // 1000}.{s % 1000:06d}")


def graph_line(t, cpu, c, pid, d, depth, f, kind):
    body = {"e": f"{f}() {{", "l": f"{f}();", "x": f"}} /* {f} */", "c": f"/* {f}|{c} */"}[kind]
    return f"{t:>12} |  {cpu})  {c}-{pid:<5} | {d:>12}  |{'  ' * depth}  {body}"


def event_line(c, pid, cpu, t, f):
    return f"{c:>16}-{pid:<7} [{cpu:03d}] d..1. {t:>12}: {f} <-parent+0x1/0x2"


def agree(reader, lines, rule, seps, inner):
    arr = pa.array(lines)
    res = reader.split_fast(arr, rule, seps, (inner,), (), reader.absent, reader.present)
    assert res is not None
    smask, scols = res
    fmask, fcols = reader.fast(arr, rule, (inner,), (), reader.absent)
    assert not (smask & ~fmask).any()
    pos = (fmask.cumsum() - 1)[smask]
    for k in fcols.names():
        assert scols[k].to_pylist() == fcols[k].take(pa.array(pos)).to_pylist(), k
    return int(smask.sum())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(secs, st.integers(0, 3), comm, st.integers(1, 99999), dur,
                          st.integers(0, 4), func, st.sampled_from("elxc")),
                min_size=1, max_size=30))
def test_function_graph_split_agrees_with_regex(rows):
    r = FtraceReader()
    r.specialize(pa.array(["# tracer: function_graph",
                           "#     TIME       CPU  TASK/PID         DURATION"
                           "                  FUNCTION CALLS"]))
    agree(r, [graph_line(*x) for x in rows], "graph_line", r.SPLIT["graph_line"], "graph_body")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(comm, st.integers(1, 99999), st.integers(0, 7), secs, func),
                min_size=1, max_size=30))
def test_event_line_split_agrees_with_regex(rows):
    r = FtraceReader()
    r.specialize(pa.array(["# tracer: function",
                           "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION"]))
    agree(r, [event_line(*x) for x in rows], "event_line", r.SPLIT["event_line"], "payload")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(comm, st.integers(1, 99999), st.integers(0, 7), secs, func),
                min_size=12, max_size=30))
def test_trace_cmd_guessed_columns_split_agrees_with_regex(rows):
    lines = [f"{c:>16}-{pid:<7} [{cpu:03d}] {t:>12}: function:             {f}"
             for c, pid, cpu, t, f in rows]
    r = TraceCmdReader()
    r.specialize(pa.array(lines))
    if r.absent:
        agree(r, lines, "event_line", r.SPLIT["event_line"], "payload")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(dur, st.integers(1, 99999), st.integers(0, 10 ** 9), st.integers(0, 4),
                          func, st.sampled_from("elx")), min_size=1, max_size=30))
def test_uftrace_split_agrees_with_regex(rows):
    body = {"e": "{}() {{", "l": "{}();", "x": "}} /* {} */"}
    lines = [f"{d.replace(' us', '').strip().lstrip('+!').strip() + ' us' if d else '':>10} "
             f"[{tid:6d}] {ts // 10 ** 9 + 500}.{ts % 10 ** 9:09d} | {'  ' * depth}"
             + body[k].format(f) for d, tid, ts, depth, f, k in rows]
    r = UftraceReader()
    r.specialize(pa.array(["# DURATION     TID        TIMESTAMP       FUNCTION"]))
    agree(r, lines, "replay_line", r.SPLIT["replay_line"], "body")


def test_the_split_form_takes_lines_whose_fields_hold_separators():
    """Not vacuous: comm names with '-', ':' or digits and bodies with '|' stay on the split
    path; a comm holding the separator itself ('|' in a graph line, ']' in an event line)
    goes to the regex — with the same fields, as the properties above check."""
    r = FtraceReader()
    r.specialize(pa.array(["# tracer: function_graph",
                           "#     TIME       CPU  TASK/PID         DURATION"
                           "                  FUNCTION CALLS"]))
    comms = ["bash", "a|b", "x-1-2", "k]z", "q:r"]
    lines = [graph_line("12.000001", 1, c, 123, d, 2, "f", k) for c in comms
             for d in ["", "+ 12.5 us", "3.250 us"] for k in "elxc"]
    assert agree(r, lines, "graph_line", r.SPLIT["graph_line"], "graph_body") == 48
    r = FtraceReader()
    r.specialize(pa.array(["# tracer: function",
                           "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION"]))
    lines = [event_line(c, 42, 1, "12.000001", f) for c in comms for f in ["f", "x]y", "k:l"]]
    assert agree(r, lines, "event_line", r.SPLIT["event_line"], "payload") == 12
