"""The vectorized nesting of function_graph / uftrace records (readers/nesting.py: _nest and
_vector_group) computes exactly what the record-by-record stack machine
(GraphBuilder.record) computes, on any stream: interleaved tasks and CPUs, context-switch
banners, exits of calls opened before the trace, entries never closed, depth jumps,
comments, exits naming another function, calls carried across chunks, lost events."""
import random

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

from tracefold.readers import nesting as G

NAMES = ["f", "g", "h", "ext4_file_open [ext4]", "ext4_file_open", None]


def _batch(recs):
    b = G.new_batch(np.array([r["line"] for r in recs], np.int64))
    n = len(recs)
    for k in ("kind", "cpu", "tid", "depth", "ts", "dur"):
        b[k] = np.array([r[k] for r in recs], np.int8 if k == "kind" else np.int64)
    b["ts_ok"] = np.array([r["ts"] >= 0 for r in recs], bool)
    b["tres"] = np.where(b["ts_ok"], 1000, 0)
    b["dur_ok"] = np.array([r["dur"] >= 0 for r in recs], bool)
    b["dres"] = np.where(b["dur_ok"], 10, 0)
    b["pid"] = b["tid"].copy()
    b["comm"] = pa.array([None if r["tid"] < 0 else f"t{r['tid']}" for r in recs], pa.string())
    b["name"] = pa.array([r["name"] for r in recs], pa.string())
    b["retval"] = pa.array([r.get("retval") for r in recs], pa.string())
    b["text"] = pa.array([r["name"] if r["kind"] == G.COMMENT else None for r in recs],
                         pa.string())
    b["flags"] = pa.nulls(n, pa.string())
    b["args"] = pa.nulls(n, pa.string())
    return b


def _stream(rng: random.Random, n: int, tasks_known: bool):
    """Random records: a per-stream depth that mostly follows the calls, sometimes jumps."""
    recs, switches, losts = [], [], []
    depth = {}
    line = 1
    for _ in range(n):
        line += rng.choice([1, 1, 1, 2])
        cpu = rng.randrange(2)
        if not tasks_known and rng.random() < 0.03:
            switches.append((line, cpu, rng.randrange(100, 104), "a", rng.randrange(100, 104),
                             "b"))
            line += 1
        if rng.random() < 0.01:
            losts.append((line, rng.choice([cpu, None])))
            line += 1
        tid = rng.randrange(100, 104) if tasks_known else -1
        key = (tid, cpu)
        d = depth.get(key, rng.randrange(4))
        r = rng.random()
        if r < 0.4:
            kind = G.ENTRY
        elif r < 0.65:
            kind = G.LEAF
        elif r < 0.95:
            kind = G.EXIT
        else:
            kind = G.COMMENT
        if kind == G.EXIT:
            d = max(0, d - 1)
        if rng.random() < 0.05:
            d = rng.randrange(6)            # a jump: lost records, a filtered depth
        name = rng.choice(NAMES) if (kind != G.EXIT or rng.random() < 0.3) else None
        recs.append({"line": line, "kind": kind, "cpu": cpu, "tid": tid, "depth": d,
                     "ts": line * 100 if rng.random() < 0.9 else -1,
                     "dur": rng.randrange(1, 10 ** 6) if kind in (G.EXIT, G.LEAF) else -1,
                     "name": name, "retval": str(line) if kind == G.EXIT else None})
        depth[key] = d + 1 if kind == G.ENTRY else d
    return recs, switches, losts


def _run(recs, switches, losts, cuts, vector: bool, monkeypatch):
    if not vector:
        monkeypatch.setattr(G, "_nest", lambda *a, **k: None)
    gb = G.GraphBuilder()
    out = []
    bounds = [0, *cuts, len(recs)]
    for lo, hi in zip(bounds, bounds[1:]):
        part = recs[lo:hi]
        if not part:
            continue
        first, last = part[0]["line"], part[-1]["line"]
        sw = [s for s in switches if (lo == 0 or s[0] > recs[lo - 1]["line"]) and s[0] <= last]
        ls = [x for x in losts if (lo == 0 or x[0] > recs[lo - 1]["line"]) and x[0] <= last]
        del first
        gb.feed_batch(_batch(part), sw, ls)
        out.append(gb.take())
    gb.finish()
    out.append(gb.take())
    monkeypatch.undo()
    return _rows(out), (gb.unclosed, gb.orphans)


def _rows(takes):
    """Every emitted row as a tuple, sorted by line (the two paths emit in other orders)."""
    rows = []
    for r, pieces in takes:
        for i in range(len(r["line"])):
            rows.append(tuple(_norm(k, r[k][i]) for k in G.OUT_COLS))
        for p in pieces:
            m = len(p["line"])
            cols = {}
            for k, v in p.items():
                if isinstance(v, tuple):
                    cols[k] = [int(a) if ok else None for a, ok in zip(v[0], v[1])]
                elif isinstance(v, np.ndarray):
                    cols[k] = [int(a) for a in v]
                else:
                    cols[k] = v.to_pylist()
            for i in range(m):
                rows.append(tuple(_norm(k, cols[k][i]) if k in cols else None
                                  for k in G.OUT_COLS))
    return sorted(rows, key=lambda t: (t[0], repr(t)))


def _norm(k, v):
    if v is None:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 10 ** 9), n=st.integers(1, 300), known=st.booleans(),
       ncuts=st.integers(0, 4))
def test_vector_nesting_equals_record_by_record(seed, n, known, ncuts):
    rng = random.Random(seed)
    recs, switches, losts = _stream(rng, n, known)
    cuts = sorted(rng.randrange(len(recs) + 1) for _ in range(ncuts))
    mp = pytest.MonkeyPatch()
    want = _run(recs, switches, losts, cuts, False, mp)
    got = _run(recs, switches, losts, cuts, True, mp)
    assert got[1] == want[1]
    assert len(got[0]) == len(want[0])
    for a, b in zip(got[0], want[0]):
        assert a == b, dict(zip(G.OUT_COLS, zip(a, b)))


def test_well_nested_and_messy_streams_take_the_vector_path(monkeypatch):
    """Orphan exits at the start, unclosed calls, exits naming another function: no record
    goes one by one."""
    rng = random.Random(7)
    recs, switches, losts = _stream(rng, 2000, False)
    gb = G.GraphBuilder()
    gb.feed_batch(_batch(recs), switches, losts)
    gb.finish()
    assert gb.fallback_records == 0
    assert gb.orphans and gb.unclosed


def test_a_stream_that_does_not_settle_goes_alone(monkeypatch):
    """When the chunk's streams cannot be nested together (here a negative depth in one of
    them), each stream is tried alone: the others stay vectorized, only that one goes record
    by record — and the rows are those of the record-by-record machine."""
    rng = random.Random(11)
    recs, _, _ = _stream(rng, 400, True)
    bad_tid = recs[0]["tid"]
    for r in recs:
        if r["tid"] == bad_tid and r["kind"] == G.LEAF:
            r["depth"] = -1
            break
    want = _run(recs, [], [], [], False, pytest.MonkeyPatch())
    gb = G.GraphBuilder()
    gb.feed_batch(_batch(recs), [], [])
    gb.finish()
    assert gb.fallback_records == sum(r["tid"] == bad_tid for r in recs)
    got = _run(recs, [], [], [], True, pytest.MonkeyPatch())
    assert got == want
