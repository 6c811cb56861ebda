"""Call graphs (networkx): figures from nesting, stacks and function-tracer entries; GraphML
and DOT outputs (DOT rendered with Graphviz's `dot`); `tracefold report`."""
import json
import shutil
import subprocess

import networkx as nx
import pytest

import tracefold
from conftest import ROOT, run_cli
from oracles import function_report
from tracefold.analysis.filters import Filters

UFTRACE = ROOT / "samples" / "uftrace-threads-replay.txt"
GRAPH = ROOT / "samples" / "trace-cmd-graph-hello.txt"
PERF = ROOT / "samples" / "perf-script-cpuloop.txt"
FUNC = ROOT / "samples" / "ftrace-function-stack.txt"


def test_nodes_and_edges_from_nesting():
    t = tracefold.read_arrow(GRAPH)
    g = tracefold.callgraph(t)
    df = t.to_pandas()
    calls = df[df.kind == "call"]
    assert sum(a["calls"] for _, a in g.nodes(data=True)) == len(calls)
    assert sum(e["calls"] for *_, e in g.edges(data=True)) == calls.parent_line.notna().sum()
    rep = function_report(t)
    for n, a in g.nodes(data=True):
        assert (a["calls"], a["total_ns"], a["self_ns"]) == \
            (rep[n]["calls"], rep[n]["total_ns"], rep[n]["self_ns"])
        if a["min_ns"]:
            assert a["min_ns"] <= a["avg_ns"] <= a["max_ns"]
    # an edge's time is the callee's time spent under that caller
    for a, b, e in g.edges(data=True):
        assert e["total_ns"] <= g.nodes[b]["total_ns"] or a == b
    # from a DataFrame and from Parquet: the same graph
    assert nx.utils.graphs_equal(g, tracefold.callgraph(df))


def test_recursion_counted_once():
    from tracefold.schema import table_from_columns
    # f calls f calls f: total of f is the outermost duration only
    t = table_from_columns(dict(line=[1, 2, 3], kind=["call"] * 3, name=["f", "f", "f"],
                                dur_ns=[100, 60, 10], parent_line=[None, 1, 2], tid=[1] * 3,
                                ts_ns=[0, 10, 20], format=["uftrace"] * 3, depth=[0, 1, 2]))
    g = tracefold.callgraph(t)
    a = g.nodes["f"]
    assert (a["calls"], a["total_ns"], a["self_ns"]) == (3, 100, 100)
    assert g.edges["f", "f"]["calls"] == 2


def test_per_thread_nodes():
    g = tracefold.callgraph(UFTRACE, per_thread=True)
    threads = {a["thread"] for _, a in g.nodes(data=True)}
    t = tracefold.read(UFTRACE)
    assert len(threads) == t[t.kind == "call"].tid.nunique() > 1
    merged = tracefold.callgraph(UFTRACE)
    assert sum(a["calls"] for _, a in g.nodes(data=True)) == \
        sum(a["calls"] for _, a in merged.nodes(data=True))


def test_graph_from_stacks_and_from_function_entries():
    g = tracefold.callgraph(PERF)
    assert g.graph["source"] == "stacks"
    t = tracefold.read(PERF)
    total = t.weight.sum()
    # inclusive weight counts a sample once per function, at most the total
    assert max(a["weight"] for _, a in g.nodes(data=True)) <= total
    has_main = t["stack"].map(lambda s: s is not None and "main" in s)
    assert g.nodes["main"]["weight"] == t[has_main].weight.sum()
    assert sum(a["self_weight"] for _, a in g.nodes(data=True)) == total
    g = tracefold.callgraph(FUNC)
    assert g.graph["source"] == "stacks"          # entries with stack traces
    leaves = {n for n in g.nodes if g.out_degree(n) == 0}
    names = set(tracefold.read(FUNC).name)
    assert leaves <= names                        # the traced function is the leaf


@pytest.mark.skipif(not shutil.which("dot"), reason="Graphviz `dot` not installed "
                    "(.ci/run installs graphviz)")
def test_dot_renders_with_graphviz(tmp_path):
    for src in (GRAPH, PERF, UFTRACE):
        out = tmp_path / "g.dot"
        p = run_cli("graph", src, "-o", out)
        assert p.returncode == 0, p.stderr
        svg = subprocess.run(["dot", "-Tsvg", str(out)], capture_output=True, text=True)
        assert svg.returncode == 0, svg.stderr
        g = tracefold.callgraph(src)
        for n in list(g.nodes)[:50]:
            assert n.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in svg.stdout
        assert svg.stdout.count("class=\"node\"") == g.number_of_nodes()
        assert svg.stdout.count("class=\"edge\"") == g.number_of_edges()


def test_graphml_round_trip(tmp_path):
    out = tmp_path / "g.graphml"
    tracefold.convert(UFTRACE, out)
    h = nx.read_graphml(out)
    g = tracefold.callgraph(UFTRACE)
    assert set(h.nodes) == set(g.nodes) and set(h.edges) == set(g.edges)
    for n, a in g.nodes(data=True):
        assert int(h.nodes[n]["total_ns"]) == a["total_ns"]
    p = run_cli("graph", UFTRACE, "--per-thread", "-o", tmp_path / "t.graphml")
    assert p.returncode == 0, p.stderr
    assert len(nx.read_graphml(tmp_path / "t.graphml")) > len(h)


def test_report_sorting_filters_and_json():
    df = tracefold.report(UFTRACE, sort="self")
    assert list(df.self_ns) == sorted(df.self_ns, reverse=True)
    df = tracefold.report(UFTRACE, sort="name")
    assert list(df.function) == sorted(df.function)
    sub = tracefold.report(UFTRACE, filters=Filters(function="worker"))
    assert set(sub.function) < set(df.function) and "worker" in set(sub.function)
    p = run_cli("report", PERF, "--json", "--sort", "self", "-n", "3")
    rows = [json.loads(x) for x in p.stdout.decode().splitlines()]
    assert len(rows) == 3 and rows[0]["self_weight"] >= rows[1]["self_weight"]
    p = run_cli("report", UFTRACE, "--sort", "nonsense")
    assert p.returncode == 2 and b"cannot sort" in p.stderr and b"Traceback" not in p.stderr


def test_graph_files_do_not_depend_on_hash_seed(tmp_path):
    """Node and edge order come from the trace, not from Python's string hashing: two runs
    with different PYTHONHASHSEED write the same bytes (found by the signal tests)."""
    from conftest import ROOT, run_cli
    src = ROOT / "samples" / "perf-script-cpuloop.txt"
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"g{seed}.graphml"
        p = run_cli("convert", src, "-o", out, env={"PYTHONHASHSEED": seed})
        assert p.returncode == 0, p.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
