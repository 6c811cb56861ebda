"""`tracefold graph`: the call graph as GraphML or Graphviz DOT."""
from __future__ import annotations

from typing import Optional

import typer

from .common import EVENT_OPT
from .common import (COMM_OPT, DEPTH_OPT, FROM_OPT, FUNC_OPT, JOBS_OPT, MINDUR_OPT, ONCPU_OPT,
                     PID_OPT, SCHED_OPT, TID_OPT, TIME_OPT, WHERE_OPT, api, app, fail, filters,
                     output_help, report_unrecognized, run, usage, where_of, writers)


@app.command()
def graph(
    input: str = typer.Argument(..., help="trace file (.gz ok), Parquet, -, or a dataset "
                                "folder"),
    output: str = typer.Option(..., "-o", "--output", help=output_help(("graphml", "dot"))),
    from_: Optional[str] = FROM_OPT,
    to: Optional[str] = typer.Option(None, "--to", help="graphml or dot (default: from -o; "
                                     "dot for -)"),
    per_thread: bool = typer.Option(False, "--per-thread", help="one node per thread and "
                                    "function (default: threads merged)"),
    where: Optional[str] = WHERE_OPT, jobs: int = JOBS_OPT, scheduler: Optional[str] = SCHED_OPT,
    pid: Optional[str] = PID_OPT, tid: Optional[str] = TID_OPT, comm: Optional[str] = COMM_OPT,
    event: Optional[str] = EVENT_OPT,
    function: Optional[str] = FUNC_OPT, time: Optional[str] = TIME_OPT,
    max_depth: Optional[int] = DEPTH_OPT, min_duration: Optional[str] = MINDUR_OPT,
    on_cpu: bool = ONCPU_OPT,
):
    """Call graph: a node per function (calls, total, self), an edge per caller → callee."""
    fmt_out = usage(lambda: writers.format_for(output, to)) if output != "-" or to else "dot"
    if fmt_out not in ("graphml", "dot"):
        fail(f"graph writes graphml or dot, not {fmt_out}", 2)
    flt = filters(pid, tid, comm, function, time, max_depth, min_duration, on_cpu, event)
    from ..dataset import is_dataset
    if is_dataset(input):
        from ..writers.graph import write_graph
        g = run(lambda: api.callgraph(input, per_thread=per_thread, filters=flt,
                                      where=where_of(where), jobs=jobs, scheduler=scheduler),
                input)
        run(lambda: write_graph(g, output, fmt_out), output)
        return
    opts = {"per_thread": True} if per_thread else {}
    info = run(lambda: api.convert(input, output, from_, to=fmt_out, filters=flt, **opts), input)
    report_unrecognized(info)
