"""`tracefold convert`: one trace to Parquet, folded stacks, SVG, Chrome JSON or a call graph."""
from __future__ import annotations

import os
from typing import List, Optional

import typer

from ..registry import WRITERS
from .common import EVENT_OPT
from .common import (COMM_OPT, DEPTH_OPT, FROM_OPT, FUNC_OPT, JOBS_OPT, MINDUR_OPT, ONCPU_OPT,
                     PID_OPT, QUIET_OPT, SCHED_OPT, TID_OPT, TIME_OPT, WHERE_OPT, Progress, api,
                     app, fail, filters, given, output_help, report_unrecognized, run, usage,
                     where_of, writers)

PALETTES = "auto, hot, mem, io, wakeup, chain, java, js, perl, red, green, blue, aqua, " \
           "yellow, purple, orange, fs"


@app.command()
def convert(
    inputs: List[str] = typer.Argument(..., help="trace text file (.gz ok), folded stacks, "
                                       "Parquet, - for stdin, or a dataset folder; several "
                                       "inputs, globs or folders of traces convert into a "
                                       "dataset (-o DIR/)"),
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
    # datasets (docs/dataset.md)
    jobs: int = JOBS_OPT, scheduler: Optional[str] = SCHED_OPT,
    label: Optional[str] = typer.Option(None, "--label", help="dataset: labels of every input, "
                                        "NAME=VALUE[,NAME=VALUE…] (e.g. host=web1,build=123)"),
    label_from: Optional[str] = typer.Option(None, "--label-from", help="dataset: labels from "
                                             "each input's path, e.g. '{host}/{date}/*.txt'"),
    partition_by: Optional[str] = typer.Option(None, "--partition-by", help="dataset: labels "
                                               "whose values become folders (hive: host=web1/)"),
    resume: bool = typer.Option(False, "--resume", help="dataset: skip inputs already in it "
                                "with the same size and content hash"),
    where: Optional[str] = WHERE_OPT,
    pid: Optional[str] = PID_OPT, tid: Optional[str] = TID_OPT, comm: Optional[str] = COMM_OPT,
    event: Optional[str] = EVENT_OPT,
    function: Optional[str] = FUNC_OPT, time: Optional[str] = TIME_OPT,
    max_depth: Optional[int] = DEPTH_OPT, min_duration: Optional[str] = MINDUR_OPT,
    on_cpu: bool = ONCPU_OPT,
):
    """Convert a trace: Parquet table, folded stacks, SVG flame graph, Chrome JSON, call graph;
    many traces: a Parquet dataset."""
    from ..dataset import is_dataset
    flt = filters(pid, tid, comm, function, time, max_depth, min_duration, on_cpu, event)
    if _to_dataset(inputs, output):
        if output == "-":
            fail(f"{len(inputs)} inputs make a dataset: -o names its folder (DIR/), not -", 2)
        _convert_many(inputs, output, from_, jobs, scheduler, label, label_from, partition_by,
                      resume, quiet, flt)
        return
    input = inputs[0]
    fmt_out = usage(lambda: writers.format_for(output, to))
    if output == "-" and split:
        fail("--split writes several files; it needs an output file name, not -", 2)
    opts = given(pid=pid_frames, tid=tid_frames, kernel=kernel, jit=jit, all=all_, addrs=addrs,
                 event_filter=event_filter, weight=weight, source=source, flamechart=flamechart,
                 keep_last=keep_last, perl_quirks=perl_quirks, absolute_ts=absolute_ts,
                 split=split, title=title, subtitle=subtitle, width=width, height=height,
                 fontsize=fontsize, minwidth=minwidth, colors=colors, hash=hash_,
                 countname=countname, reverse=reverse, inverted=inverted, negate=negate,
                 per_thread=per_thread)
    if perl_quirks is False:
        opts["perl_quirks"] = False
    if is_dataset(input) and fmt_out in ("folded", "svg"):
        _dataset_stacks(input, output, fmt_out, opts, flt, where, jobs, scheduler)
        return
    if is_dataset(input) and where:
        opts["where"] = where_of(where)
    prog = Progress(input, quiet)
    info = run(lambda: prog.call(lambda cb: api.convert(
        input, output, from_, progress=cb, to=fmt_out, filters=flt, force=force, **opts)),
        input)
    report_unrecognized(info, quiet)
    prog.summary(info, output)
    if not quiet and info.get("events", 0) and info.get("rows_written") == 0:
        typer.echo(f"tracefold: note: {output}: no rows left after the filters", err=True)


def _to_dataset(inputs, output) -> bool:
    """Several inputs, a glob or a folder of traces, or -o naming a folder: a dataset."""
    from ..dataset import is_dataset
    return len(inputs) > 1 or output.endswith(("/", os.sep)) or \
        (os.path.isdir(output) and output != "-") or \
        any(os.path.isdir(i) and not is_dataset(i) for i in inputs) or \
        any(c in i for i in inputs for c in "*?[")


def _convert_many(inputs, output, from_, jobs, scheduler, label, label_from, partition_by,
                  resume, quiet, flt):
    from ..dataset import parse_labels
    if flt.active():
        fail("filters apply when a dataset is read (report, convert DS -o x.folded), not "
             "when it is made", 2)
    labels = usage(lambda: parse_labels(label))
    keys = tuple(k.strip() for k in (partition_by or "").split(",") if k.strip())
    done = {"n": 0}

    def progress(source, error):
        done["n"] += 1
        if error is not None:
            typer.echo(f"tracefold: {source}: {error}", err=True)
        elif not quiet:
            typer.echo(f"tracefold: [{done['n']}] {source}", err=True)
    res = run(lambda: api.convert_many(inputs, output.rstrip("/") or "/", from_, labels,
                                       label_from, keys, jobs, scheduler, resume, progress),
              output)
    for src, err in res["failed"]:
        if done["n"] == 0 or "--label-from" in err:
            typer.echo(f"tracefold: {src}: {err}", err=True)
    note = (f"{output}: {res['converted']} converted, {res['skipped']} already there, "
            f"{len(res['failed'])} failed, of {res['inputs']} inputs")
    if res["failed"] or not quiet:
        typer.echo(f"tracefold: {note}", err=True)
    if res["failed"]:
        raise typer.Exit(1)


def _dataset_stacks(input, output, fmt_out, opts, flt, where, jobs, scheduler):
    """A dataset's folded stacks (every source trace folded, equal stacks added), or their
    flame graph."""
    from ..analysis.folded import FoldOptions
    from ..writers.base import make_options
    from ..writers.svg import SvgOptions
    o = usage(lambda: make_options(SvgOptions if fmt_out == "svg" else FoldOptions, fmt_out,
                                   opts))
    fold_opts = {k: v for k, v in opts.items() if k in FoldOptions.__dataclass_fields__}
    if fmt_out == "svg":                # frame kinds for the palette, as SvgWriter folds
        fold_opts.update(kernel=True, jit=True)
    w = where_of(where)
    lines, unit = run(lambda: api.fold(input, filters=flt, where=w, jobs=jobs,
                                       scheduler=scheduler, **fold_opts), input)
    if fmt_out == "folded":
        from ..writers.folded import write_lines
        run(lambda: write_lines(lines, output), output)
        return
    from ..writers.svg import write_svg
    run(lambda: write_svg(lines, output, o, unit=unit,
                          subtitle=f"dataset {os.path.basename(input.rstrip('/'))}, weight: "
                                   f"{unit}"), output)
