"""Rows come out in line order with bounded memory (readers/order.py): rows held back by a
call still open wait in memory up to a budget, then on disk, and come back in order."""
import random

import pyarrow as pa
from hypothesis import given, settings, strategies as st

from tracefold.readers.order import InputOrder


def _calls(rng, n):
    """(entry line, end line) of n calls on lines 1.., a few of them open for long."""
    out = []
    for line in range(1, n + 1):
        r = rng.random()
        span = 0 if r < 0.5 else rng.randrange(1, 20) if r < 0.97 else rng.randrange(1, 3 * n)
        out.append((line, line + span))
    return out


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 10 ** 9), n=st.integers(1, 400), chunk=st.integers(1, 60),
       budget=st.sampled_from([0, 200, 10 ** 9]))
def test_rows_come_out_in_line_order_whatever_waits(seed, n, chunk, budget):
    rng = random.Random(seed)
    calls = _calls(rng, n)
    last = max(c[1] for c in calls)
    order = InputOrder(budget=budget)
    out = []
    for lo in range(1, last + 1, chunk):
        hi = lo + chunk                       # this chunk: lines lo .. hi-1
        done = [c for c in calls if lo <= c[1] < hi]
        rng.shuffle(done)                     # a reader emits in any order within a chunk
        open_ = [c[0] for c in calls if c[0] < hi <= c[1]]
        t = pa.table({"line": pa.array([c[0] for c in done], pa.int64()),
                      "end": pa.array([c[1] for c in done], pa.int64())})
        for part in order.push(t if len(done) else None, min(open_) if open_ else None):
            out += part.column("line").to_pylist()
    for part in order.push(None, None):
        out += part.column("line").to_pylist()
    order.close()
    assert out == sorted(c[0] for c in calls)


def test_waiting_rows_go_to_disk_and_the_directory_is_removed():
    order = InputOrder(budget=0)
    out = []
    # line 1 stays open while 50 chunks of rows arrive
    for k in range(50):
        t = pa.table({"line": pa.array(range(2 + 10 * k, 12 + 10 * k), pa.int64())})
        out += [x for p in order.push(t, 1) for x in p.column("line").to_pylist()]
    assert out == [] and order.spilled >= 40
    d = order._dir
    import os
    assert os.path.isdir(d)
    t = pa.table({"line": pa.array([1], pa.int64())})
    out += [x for p in order.push(t, None) for x in p.column("line").to_pylist()]
    assert out == list(range(1, 502))
    order.close()
    assert not os.path.exists(d)
