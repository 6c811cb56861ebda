"""Call graphs: GraphML (networkx) and Graphviz DOT, built with analysis.callgraph."""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from ..analysis.callgraph import CallGraphBuilder
from .base import Writer


def human_ns(ns: int) -> str:
    for unit, div in (("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if abs(ns) >= div:
            return f"{ns / div:.3g} {unit}"
    return f"{ns} ns"


def _node_id(key) -> str:
    return " / ".join(key) if isinstance(key, tuple) else str(key)


@dataclass
class GraphOptions:
    per_thread: bool = False        # a node per thread and function (default: threads merged)


class _GraphWriter(Writer):
    Options = GraphOptions

    def begin(self):
        self.builder = CallGraphBuilder(per_thread=self.o.per_thread)

    def write(self, table: pa.Table):
        self.builder.add(table)


class GraphMLWriter(_GraphWriter):
    name = "graphml"
    description = "call graph as GraphML (networkx, Gephi, yEd, Cytoscape)"

    def end(self):
        with self.open_binary() as f:
            write_graphml(self.builder.graph(), f)


class DotWriter(_GraphWriter):
    name = "dot"
    description = "call graph as Graphviz DOT (render with `dot -Tsvg`)"

    def end(self):
        with self.open_text() as f:
            f.write(dot_text(self.builder.graph()))


def write_graph(g, output: str, fmt: str):
    """A call graph made elsewhere (a dataset's, merged) to ``output`` atomically."""
    from .atomic import output_stream
    with output_stream(output, binary=fmt == "graphml") as f:
        if fmt == "graphml":
            write_graphml(g, f)
        else:
            f.write(dot_text(g))


def write_graphml(g, f):
    import networkx as nx
    h = nx.relabel_nodes(g, {k: _node_id(k) for k in g.nodes})
    h.graph = {k: str(v) for k, v in g.graph.items()}
    nx.write_graphml(h, f)


def dot_text(g) -> str:
    src = g.graph.get("source")
    measure = {"calls": "total_ns", "stacks": "weight", "entries": "calls"}.get(src, "calls")
    top = max((a.get(measure, 0) for _, a in g.nodes(data=True)), default=0) or 1
    ids = {k: f"n{i}" for i, k in enumerate(g.nodes)}
    out = ["digraph callgraph {", '  graph [rankdir=TB, fontname="Helvetica"];',
           '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
           '  edge [fontname="Helvetica", fontsize=9];']
    for k, a in g.nodes(data=True):
        lines = [a["name"]] + ([a["thread"]] if "thread" in a else [])
        if src == "calls":
            lines += [f"{a['calls']} calls", f"total {human_ns(a['total_ns'])}",
                      f"self {human_ns(a['self_ns'])}"]
            heat = a["self_ns"] / top
        elif src == "stacks":
            lines += [f"weight {a['weight']} ({100 * a['weight'] / top:.1f}% of top)",
                      f"self {a['self_weight']}"]
            heat = a["self_weight"] / top
        else:
            lines += [f"{a['calls']} calls"]
            heat = a["calls"] / top
        out.append(f'  {ids[k]} [label={_q(chr(10).join(lines))}, fillcolor="{_heat(heat)}"];')
    for a, b, e in g.edges(data=True):
        if src == "calls":
            lab = f"{e['calls']}x {human_ns(e['total_ns'])}"
        elif src == "stacks":
            lab = f"{e['weight']}"
        else:
            lab = f"{e['calls']}x"
        out.append(f"  {ids[a]} -> {ids[b]} [label={_q(lab)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _q(s: str) -> str:
    """A DOT string literal (newlines as \\n)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _heat(x: float) -> str:
    """white (0) → red (1)."""
    x = min(max(x, 0.0), 1.0)
    gb = int(255 - 175 * x)
    return f"#ff{gb:02x}{gb:02x}"
