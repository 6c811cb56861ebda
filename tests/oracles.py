"""Row-by-row reference implementations (call paths, self times, per-function figures) that
the tests compare tracefold's streaming analyses and the real tools' outputs with: slow and
obvious on purpose, never used by tracefold itself."""
from __future__ import annotations

from collections import defaultdict

import pyarrow as pa


def _rows(table):
    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    cols = ["line", "kind", "name", "dur_ns", "parent_line", "tid", "status"]
    return {c: table.column(c).to_pylist() for c in cols}


def call_paths(table) -> dict:
    """{line of a call: tuple of names root → this call}."""
    r = _rows(table)
    order = sorted(range(len(r["line"])), key=lambda i: r["line"][i])
    path = {}
    for i in order:
        if r["kind"][i] != "call":
            continue
        p = r["parent_line"][i]
        base = path.get(p, ()) if p is not None else ()
        path[r["line"][i]] = base + (r["name"][i],)
    return path


def self_times(table) -> dict:
    """{line of a call: its duration minus its children's (ns)}; calls without a duration are
    left out."""
    r = _rows(table)
    child = defaultdict(int)
    for i in range(len(r["line"])):
        if r["kind"][i] == "call" and r["parent_line"][i] is not None \
                and r["dur_ns"][i] is not None:
            child[r["parent_line"][i]] += r["dur_ns"][i]
    return {r["line"][i]: r["dur_ns"][i] - child[r["line"][i]]
            for i in range(len(r["line"]))
            if r["kind"][i] == "call" and r["dur_ns"][i] is not None}


def self_time_by_path(table, sep=";") -> dict:
    """Self time (ns) summed per call path "root;…;leaf" — a folded flame graph of traced calls."""
    paths = call_paths(table)
    out = defaultdict(int)
    for line, s in self_times(table).items():
        out[sep.join(paths[line])] += s
    return dict(out)


def function_report(table) -> dict:
    """Per function: calls, total (ns; a recursive call inside itself is not counted again, as
    uftrace does), self (ns), min and max duration."""
    r = _rows(table)
    paths = call_paths(table)
    selfs = self_times(table)
    rep = {}
    for i in range(len(r["line"])):
        if r["kind"][i] != "call":
            continue
        name, line, d = r["name"][i], r["line"][i], r["dur_ns"][i]
        e = rep.setdefault(name, {"calls": 0, "total_ns": 0, "self_ns": 0,
                                  "min_ns": None, "max_ns": None})
        e["calls"] += 1
        if d is None:
            continue
        if name not in paths[line][:-1]:          # outermost call of a recursion
            e["total_ns"] += d
        e["self_ns"] += selfs.get(line, 0)
        e["min_ns"] = d if e["min_ns"] is None else min(e["min_ns"], d)
        e["max_ns"] = d if e["max_ns"] is None else max(e["max_ns"], d)
    return rep
