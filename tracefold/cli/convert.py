"""`tracefold convert`: one trace to Parquet, folded stacks, SVG, Chrome JSON or a call graph."""
from __future__ import annotations

from typing import Optional

import typer

from ..registry import WRITERS
from .common import (COMM_OPT, DEPTH_OPT, FROM_OPT, FUNC_OPT, MINDUR_OPT, ONCPU_OPT, PID_OPT,
                     QUIET_OPT, TID_OPT, TIME_OPT, Progress, api, app, fail, filters, given,
                     output_help, report_unrecognized, run, usage, writers)

PALETTES = "auto, hot, mem, io, wakeup, chain, java, js, perl, red, green, blue, aqua, " \
           "yellow, purple, orange, fs"


@app.command()
def convert(
    input: str = typer.Argument(..., help="trace text file (.gz ok), folded stacks, Parquet, "
                                "or - for stdin"),
    output: str = typer.Option(..., "-o", "--output", help=output_help()),
    from_: Optional[str] = FROM_OPT,
    to: Optional[str] = typer.Option(None, "--to", help="output format (default: from -o): "
                                     + ", ".join(WRITERS)),
    quiet: bool = QUIET_OPT,
    force: bool = typer.Option(False, "--force", help="replace the input file itself when -o "
                               "names it (refused otherwise)"),
    # folded stacks and SVG (stackcollapse-perf.pl's options and meanings)
    pid_frames: bool = typer.Option(False, "--pid-frames", help="folded/svg: root frame "
                                    "comm-PID (what a bare --pid means)"),
    tid_frames: bool = typer.Option(False, "--tid-frames", help="folded/svg: root frame "
                                    "comm-PID/TID (what a bare --tid means)"),
    kernel: bool = typer.Option(False, "--kernel", help="folded: annotate kernel frames _[k]"),
    jit: bool = typer.Option(False, "--jit", help="folded: annotate JIT frames _[j]"),
    all_: bool = typer.Option(False, "--all", help="folded: all annotations (--kernel --jit)"),
    addrs: bool = typer.Option(False, "--addrs", help="folded/svg: raw addresses for unknown "
                               "symbols"),
    event_filter: Optional[str] = typer.Option(None, "--event-filter", help="folded/svg: only "
                                               "samples of this event (default: the first)"),
    weight: Optional[str] = typer.Option(None, "--weight", help="folded/svg: self-ns (calls; "
                                         "default) or calls; samples weigh their period"),
    source: Optional[str] = typer.Option(None, "--source", help="folded/svg: calls or stacks "
                                         "(default: calls when the input has calls)"),
    flamechart: bool = typer.Option(False, "--flamechart", help="folded/svg: time order, "
                                    "identical stacks not merged"),
    perl_quirks: Optional[bool] = typer.Option(None, "--perl-quirks/--no-perl-quirks",
                                               help="folded (perf): fold as "
                                               "stackcollapse-perf.pl does where it misreads "
                                               "perf script (the default; docs/outputs.md)"),
    keep_last: bool = typer.Option(False, "--keep-last", help="folded: keep a last perf sample "
                                   "not ended by a blank line (stackcollapse-perf.pl drops it)"),
    # SVG: flamegraph.pl's options and meanings
    title: Optional[str] = typer.Option(None, "--title", help="svg: title"),
    subtitle: Optional[str] = typer.Option(None, "--subtitle", help="svg: second line"),
    width: Optional[int] = typer.Option(None, "--width", help="svg: image width in pixels "
                                        "(1200)"),
    height: Optional[int] = typer.Option(None, "--height", help="svg: frame height in pixels "
                                         "(16)"),
    fontsize: Optional[float] = typer.Option(None, "--fontsize", help="svg: font size (12)"),
    minwidth: Optional[str] = typer.Option(None, "--minwidth", help="svg: frames narrower "
                                           "than this are merged or left out: pixels (0.1), "
                                           "or a percentage such as 0.5%"),
    colors: Optional[str] = typer.Option(None, "--colors", "--palette", help="svg: palette, "
                                         f"one of {PALETTES} (auto: by frame kind)"),
    hash_: bool = typer.Option(False, "--hash", help="svg: colours from the function names "
                               "(tracefold always does; accepted for flamegraph.pl users)"),
    countname: Optional[str] = typer.Option(None, "--countname", help="svg: unit of the counts "
                                            "(default from the input: samples, ns, cycles, "
                                            "calls)"),
    reverse: bool = typer.Option(False, "--reverse", help="svg: stacks reversed (leaf first)"),
    inverted: bool = typer.Option(False, "--inverted", help="svg: icicle graph (roots on top)"),
    negate: bool = typer.Option(False, "--negate", help="svg, differential: switch the hues "
                                "(red = shrank)"),
    # Chrome JSON
    absolute_ts: bool = typer.Option(False, "--absolute-ts", help="chrome: keep the trace's "
                                     "own timestamps (default: rebased to the first event)"),
    split: Optional[str] = typer.Option(None, "--split", help="chrome: cut into files of "
                                        "about SIZE (e.g. 200MB): OUT.001.json, …; open "
                                        "calls are re-opened in the next file"),
    # call graphs
    per_thread: bool = typer.Option(False, "--per-thread", help="graphml/dot: a node per "
                                    "thread and function"),
    pid: Optional[str] = PID_OPT, tid: Optional[str] = TID_OPT, comm: Optional[str] = COMM_OPT,
    function: Optional[str] = FUNC_OPT, time: Optional[str] = TIME_OPT,
    max_depth: Optional[int] = DEPTH_OPT, min_duration: Optional[str] = MINDUR_OPT,
    on_cpu: bool = ONCPU_OPT,
):
    """Convert a trace: Parquet table, folded stacks, SVG flame graph, Chrome JSON, call graph."""
    fmt_out = usage(lambda: writers.format_for(output, to))
    if output == "-" and split:
        fail("--split writes several files; it needs an output file name, not -", 2)
    flt = filters(pid, tid, comm, function, time, max_depth, min_duration, on_cpu)
    opts = given(pid=pid_frames, tid=tid_frames, kernel=kernel, jit=jit, all=all_, addrs=addrs,
                 event_filter=event_filter, weight=weight, source=source, flamechart=flamechart,
                 keep_last=keep_last, perl_quirks=perl_quirks, absolute_ts=absolute_ts,
                 split=split, title=title, subtitle=subtitle, width=width, height=height,
                 fontsize=fontsize, minwidth=minwidth, colors=colors, hash=hash_,
                 countname=countname, reverse=reverse, inverted=inverted, negate=negate,
                 per_thread=per_thread)
    if perl_quirks is False:
        opts["perl_quirks"] = False
    prog = Progress(input, quiet)
    info = run(lambda: prog.call(lambda cb: api.convert(
        input, output, from_, progress=cb, to=fmt_out, filters=flt, force=force, **opts)),
        input)
    report_unrecognized(info, quiet)
    prog.summary(info, output)
    if not quiet and info.get("events", 0) and info.get("rows_written") == 0:
        typer.echo(f"tracefold: note: {output}: no rows left after the filters", err=True)
