"""Call graphs and per-function figures from the normalized table, streaming.

Works from the table alone: calls nest through ``parent_line`` (function_graph, uftrace);
samples carry their ``stack``. (The row-by-row reference implementations the tests compare
with live in tests/oracles.py.)
"""
from __future__ import annotations


import numpy as np
import pyarrow as pa

from ..schema import CALL, ENTRY, has_stack, kind_is


# ---------------------------------------------------------------------- networkx call graph
class CallGraphBuilder:
    """Feed normalized tables chunk by chunk; ``graph()`` gives the call graph, ``report()``
    the per-function table. Three sources, all from the table alone:

    * calls nested through ``parent_line`` (function_graph, uftrace): calls, inclusive time
      (a recursive function's time counted once: calls inside an active call of the same
      function add nothing, as uftrace does), self time, min / max / average duration;
    * stacks (perf samples, ftrace stack traces): weight inclusive (once per stack) and self
      (leaf), edges between adjacent frames;
    * function-tracer entries (``name`` called from ``caller``): call counts per edge.
    """

    def __init__(self, per_thread: bool = False, group: str | None = None, hist: bool = False):
        """``per_thread``: nodes per (thread, function), thread = "comm-tid"; ``group``
        "comm" groups by task name instead (threads of one name together). ``hist``: keep
        per-call histograms for ``call_medians()``."""
        from .paths import PathAggregator
        self.group = group or ("tid" if per_thread else None)
        self.per_thread = self.group is not None
        self._calls = PathAggregator(_group_labels(self.group) if self.group else None, hist)
        self._ncalls = 0
        self._stack_nodes = {}          # key -> [weight incl, self, samples]
        self._stack_edges = {}          # (a, b) -> [weight, samples]
        self._entry_nodes = {}
        self._entry_edges = {}

    def _key(self, name, tid, comm):
        if not self.per_thread:
            return name
        if self.group == "comm":
            return (comm or "?", name)
        return (f"{comm or '?'}-{tid if tid is not None else '?'}", name)

    def add(self, t: pa.Table):
        import pyarrow.compute as pc
        is_call = kind_is(t, CALL)
        if pc.any(is_call).as_py():
            c = t.filter(is_call)
            self._calls.add(c)
            self._ncalls += c.num_rows
        stacky = has_stack(t)
        if pc.any(stacky).as_py():
            from .folded import with_traced_leaf
            s = with_traced_leaf(t.filter(stacky))
            for st, w, tid, comm in zip(s.column("stack").to_pylist(),
                                        pc.fill_null(s.column("weight"), 1).to_pylist(),
                                        s.column("tid").to_pylist(), s.column("comm").to_pylist()):
                keys = [self._key(f, tid, comm) for f in st]
                for k in dict.fromkeys(keys):
                    e = self._stack_nodes.setdefault(k, [0, 0, 0])
                    e[0] += w
                    e[2] += 1
                self._stack_nodes[keys[-1]][1] += w
                for a, b in dict.fromkeys(zip(keys, keys[1:])):
                    e = self._stack_edges.setdefault((a, b), [0, 0])
                    e[0] += w
                    e[1] += 1
        is_entry = pc.and_(kind_is(t, ENTRY), pc.invert(stacky))
        if pc.any(is_entry).as_py():
            s = t.filter(is_entry)
            for name, caller, tid, comm in zip(*(s.column(c).to_pylist() for c in
                                                 ("name", "caller", "tid", "comm"))):
                k = self._key(name or "?", tid, comm)
                self._entry_nodes[k] = self._entry_nodes.get(k, 0) + 1
                if caller:
                    ck = self._key(caller, tid, comm)
                    self._entry_nodes.setdefault(ck, 0)
                    self._entry_edges[(ck, k)] = self._entry_edges.get((ck, k), 0) + 1

    # ------------------------------------------------------------------ calls
    def _call_figures(self):
        """Per node and per edge figures of the nested calls, from the per-path sums."""
        a = self._calls.finish()
        names = list(a.names)
        rec = a.recursive()
        thread = a.thread_of() if self.per_thread else None
        keys = [None] * len(a.parent)
        for p, nm in enumerate(a.name):
            if nm >= 0:
                keys[p] = (thread[p], names[nm]) if self.per_thread else names[nm]
        nodes, edges = {}, {}
        for p, k in enumerate(keys):
            if k is None:
                continue
            e = nodes.get(k)
            if e is None:
                e = nodes[k] = {"calls": 0, "total_ns": 0, "self_ns": 0, "min_ns": None,
                                "max_ns": None, "sum_ns": 0, "timed": 0}
            e["calls"] += int(a.calls[p])
            if a.timed[p]:
                if not rec[p]:
                    e["total_ns"] += int(a.dur_ns[p])
                e["self_ns"] += int(a.self_ns[p])
                e["sum_ns"] += int(a.dur_ns[p])
                e["timed"] += int(a.timed[p])
                lo, hi = int(a.dmin[p]), int(a.dmax[p])
                e["min_ns"] = lo if e["min_ns"] is None else min(e["min_ns"], lo)
                e["max_ns"] = hi if e["max_ns"] is None else max(e["max_ns"], hi)
            q = a.parent[p]
            if q >= 0 and keys[q] is not None:
                ed = edges.setdefault((keys[q], k), {"calls": 0, "total_ns": 0})
                ed["calls"] += int(a.calls[p])
                ed["total_ns"] += int(a.dur_ns[p])
        return nodes, edges

    def call_medians(self):
        """{node key: (median duration, median self time) per call, ns} from the per-call
        histograms (1 % bins); needs ``hist=True``. Calls of every path of the function."""
        a = self._calls.finish()
        names = list(a.names)
        thread = a.thread_of() if self.per_thread else None
        return self._medians(lambda p: (thread[p], names[a.name[p]]) if self.per_thread
                             else names[a.name[p]])

    def path_medians(self, max_depth: int | None = None):
        """{call path text ("a;b;c", as PathAggregator.strings(max_depth=…)): (median duration,
        median self time) per call, ns}; needs ``hist=True``."""
        texts = self._calls.finish().strings(max_depth=max_depth)
        return self._medians(lambda p: texts[p])

    def _medians(self, key_of):
        """Per key: the medians of the merged histograms of the paths ``key_of`` maps to it."""
        from .paths import hist_quantile
        a = self._calls.finish()
        out = {}
        for which, pos in (("dur", 0), ("self", 1)):
            merged: dict = {}
            for p, (bins, cnt) in a.hists(which).items():
                if a.name[p] >= 0:
                    merged.setdefault(key_of(p), []).append((bins, cnt))
            for k, parts in merged.items():
                b = np.concatenate([x[0] for x in parts])
                c = np.concatenate([x[1] for x in parts])
                out.setdefault(k, [np.nan, np.nan])[pos] = hist_quantile(b, c)
        return {k: tuple(v) for k, v in out.items()}

    def graph(self):
        import networkx as nx
        g = nx.DiGraph()
        if self._ncalls:
            nodes, edges = self._call_figures()
            for k, e in nodes.items():
                g.add_node(k, **_node_attrs(k, calls=e["calls"], total_ns=e["total_ns"],
                                            self_ns=e["self_ns"],
                                            avg_ns=e["sum_ns"] // e["timed"] if e["timed"] else 0,
                                            min_ns=e["min_ns"] or 0, max_ns=e["max_ns"] or 0))
            for (a, b), e in edges.items():
                g.add_edge(a, b, **e)
            g.graph["source"] = "calls"
        elif self._stack_nodes:
            for k, (w, s, nsamp) in self._stack_nodes.items():
                g.add_node(k, **_node_attrs(k, weight=w, self_weight=s, samples=nsamp))
            for (a, b), (w, nsamp) in self._stack_edges.items():
                g.add_edge(a, b, weight=w, samples=nsamp)
            g.graph["source"] = "stacks"
        else:
            for k, calls in self._entry_nodes.items():
                g.add_node(k, **_node_attrs(k, calls=calls))
            for (a, b), calls in self._entry_edges.items():
                g.add_edge(a, b, calls=calls)
            g.graph["source"] = "entries"
        return g

    def report(self):
        """Per function: calls, total / self / avg / min / max ns (calls), or sample weight."""
        g = self.graph()
        rows = []
        for _k, a in g.nodes(data=True):
            r = {"function": a["name"]}
            if self.per_thread:
                r["thread"] = a["thread"]
            r.update({x: a[x] for x in ("calls", "total_ns", "self_ns", "avg_ns", "min_ns",
                                        "max_ns", "weight", "self_weight", "samples") if x in a})
            rows.append(r)
        return rows, g.graph.get("source")


def _group_labels(group):
    def labels(t: pa.Table):
        comm = t.column("comm").to_pylist()
        if group == "comm":
            return [c or "?" for c in comm]
        tid = t.column("tid").to_pylist()
        return [f"{c or '?'}-{x if x is not None else '?'}" for c, x in zip(comm, tid)]
    return labels


def _node_attrs(key, **figures):
    if isinstance(key, tuple):
        return dict(name=key[1], thread=key[0], **figures)
    return dict(name=key, **figures)


ADDED = ("calls", "total_ns", "self_ns", "weight", "self_weight", "samples", "timed")


def merge_graphs(graphs, ordered: bool = False):
    """The call graph of several traces (a dataset's): figures of equal nodes and edges
    added, min / max over all, avg weighted by calls; nodes in order of first appearance, or
    with ``ordered`` (graphs that come in any order) sorted by key."""
    import networkx as nx
    g = nx.DiGraph()
    for h in graphs:
        if not g.graph and h.graph:
            g.graph.update(h.graph)
        for k, a in h.nodes(data=True):
            if k not in g:
                g.add_node(k, **a)
                continue
            m = g.nodes[k]
            calls = m.get("calls", 0) + a.get("calls", 0)
            if "avg_ns" in a and calls:
                m["avg_ns"] = (m["avg_ns"] * m.get("calls", 0) + a["avg_ns"] * a.get("calls", 0)) \
                    // calls
            for x in ADDED:
                if x in a:
                    m[x] = m.get(x, 0) + a[x]
            if "min_ns" in a:
                m["min_ns"] = min(m["min_ns"], a["min_ns"])
                m["max_ns"] = max(m["max_ns"], a["max_ns"])
        for u, v, e in h.edges(data=True):
            if not g.has_edge(u, v):
                g.add_edge(u, v, **e)
                continue
            m = g.edges[u, v]
            for x, val in e.items():
                if isinstance(val, (int, float)):
                    m[x] = m.get(x, 0) + val
    if not ordered:
        return g
    h = nx.DiGraph()
    h.graph.update(g.graph)
    h.add_nodes_from(sorted(g.nodes(data=True), key=lambda kv: str(kv[0])))
    h.add_edges_from(sorted(g.edges(data=True), key=lambda e: (str(e[0]), str(e[1]))))
    return h
