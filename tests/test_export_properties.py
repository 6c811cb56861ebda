"""Property tests on random call trees: whatever the nesting, coincident ends, zero-length
and unclosed calls, the Chrome JSON is strictly nested (tracefold check) and the folded self
times add up to the root durations, chunk by chunk or at once."""
import json

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracefold.writers.chrome_check import check_file
from tracefold.analysis.folded import Folder, FoldOptions
from tracefold.schema import table_from_columns
from tracefold.writers.chrome import ChromeWriter

NAMES = ["a", "b", "c", "d", "e"]


@st.composite
def call_trees(draw):
    """Rows of one or two threads: calls nested in time, in input-line order."""
    rows = []
    line = [0]

    def node(tid, parent_line, start, budget, depth):
        line[0] += 1
        me = line[0]
        dur = draw(st.integers(0, budget))
        unclosed = depth > 0 and draw(st.integers(0, 20)) == 0
        row = dict(line=me, kind="call", name=draw(st.sampled_from(NAMES)), ts_ns=start,
                   dur_ns=None if unclosed else dur, parent_line=parent_line, tid=tid,
                   comm=f"t{tid}", depth=depth, format="uftrace",
                   status="unclosed" if unclosed else None)
        rows.append(row)
        t = start
        kids = 0
        if depth < 4:
            for _ in range(draw(st.integers(0, 3))):
                gap = draw(st.integers(0, 3))
                if t + gap > start + dur:
                    break
                child_budget = start + dur - (t + gap)
                end = node(tid, me, t + gap, child_budget, depth + 1)
                t = end
                kids += 1
        # a call with children ends on an exit line of its own (as the readers give it);
        # a leaf is one line; an unclosed call has no exit
        row["end_line"] = None
        if kids and not unclosed:
            line[0] += 1
            row["end_line"] = line[0]
        return start + dur

    t = 1000
    for _ in range(draw(st.integers(1, 4))):
        tid = draw(st.sampled_from([1, 2]))
        t = node(tid, None, t, draw(st.integers(0, 200)), 0) + draw(st.integers(0, 5))
    return rows


def _table(rows):
    cols = {k: [r[k] for r in rows] for k in rows[0]}
    return table_from_columns(cols, len(rows))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(rows=call_trees())
def test_chrome_always_strictly_nested(tmp_path, rows):
    out = tmp_path / "p.json"
    with ChromeWriter(out) as w:
        w.write(_table(rows))
        w.set_info({"format": "uftrace", "source": None, "stats": {}})
    r = check_file(out)
    assert r["ok"], r["problems"]
    ev = json.loads(out.read_text())["traceEvents"]
    assert len([e for e in ev if e.get("cat") == "call"]) == len(rows), ev


@settings(max_examples=150, deadline=None)
@given(rows=call_trees(), size=st.integers(1, 7))
def test_folded_self_times_add_up_in_any_chunking(rows, size):
    t = _table(rows)
    whole = Folder(FoldOptions())
    whole.add(t)
    a = whole.lines()
    chunked = Folder(FoldOptions())
    for b in t.to_batches(max_chunksize=size):
        chunked.add(pa.Table.from_batches([b]))
    assert chunked.lines() == a
    closed_roots = sum(r["dur_ns"] for r in rows if r["parent_line"] is None
                       and r["dur_ns"] is not None)
    # children of an unclosed call are counted in its subtree but it has no own time
    total = sum(int(x.rpartition(" ")[2]) for x in a)
    open_lines = {r["line"] for r in rows if r["dur_ns"] is None}
    under_open = sum(r["dur_ns"] for r in rows if r["parent_line"] in open_lines
                     and r["dur_ns"] is not None)
    assert total <= closed_roots + under_open
    if not open_lines:
        assert total == closed_roots
