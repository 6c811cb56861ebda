"""`tracefold` command line (typer). Thin: every command is one call into tracefold.api."""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import List, Optional

import typer

from . import api, readers
from .source import InputError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Read ftrace / trace-cmd / uftrace / perf script text into one "
                       "normalized call-event table and export it.")


def _fail(msg: str, code: int = 1):
    typer.echo(f"tracefold: {msg}", err=True)
    raise typer.Exit(code)


def _report_unrecognized(info: dict):
    n = info.get("unrecognized", 0)
    if n:
        first = ", ".join(str(u["line"]) for u in info.get("first_unrecognized", []))
        typer.echo(f"tracefold: warning: {info['path']}: {n} unrecognized line(s) skipped "
                   f"(first at line {first}); see `tracefold info`", err=True)
    for w, c in info.get("warnings", {}).items():
        typer.echo(f"tracefold: note: {info['path']}: {c} {w}", err=True)


def _progress(path):
    """A rich progress bar on stderr when it is a terminal; None when piped."""
    if not sys.stderr.isatty() or str(path) == "-":
        return None, None
    try:
        total = os.path.getsize(path)
    except OSError:
        return None, None
    from rich.progress import (BarColumn, DownloadColumn, Progress, TimeRemainingColumn,
                               TransferSpeedColumn)
    prog = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeRemainingColumn(), transient=True,
                    console=__import__("rich.console").console.Console(stderr=True))
    task = prog.add_task(Path(path).name, total=total)
    return prog, (lambda n: prog.update(task, advance=n))


# ---------------------------------------------------------------------- shared options
def _filters(pid, tid, comm, function, time, max_depth, min_duration):
    from .analysis.filters import Filters
    try:
        return Filters.from_options(pid=pid, tid=tid, comm=comm, function=function, time=time,
                                    max_depth=max_depth, min_duration=min_duration)
    except ValueError as e:
        _fail(str(e), 2)


PID_OPT = typer.Option(None, "--pid", help="keep only these processes (N[,N…]); "
                       "given without a number: add the PID to root frames (folded)")
TID_OPT = typer.Option(None, "--tid", help="keep only these threads (N[,N…]); "
                       "given without a number: add PID/TID to root frames (folded)")
COMM_OPT = typer.Option(None, "--comm", help="keep only these task names (a,b,…)")
FUNC_OPT = typer.Option(None, "--function", help="keep only this function's subtrees "
                        "(calls under it; stacks through it, cut to start there)")
TIME_OPT = typer.Option(None, "--time", help="keep events with START <= time <= END, "
                        "'START..END' in the trace's clock (seconds, or with ns/us/ms/s)")
DEPTH_OPT = typer.Option(None, "--max-depth", help="drop calls deeper than N (0 = roots "
                         "only); stacks cut to N frames")
MINDUR_OPT = typer.Option(None, "--min-duration", help="drop calls shorter than D "
                          "(e.g. 10us; bare numbers are ns)")


def _run(fn, input):
    """Call the API; turn every failure into one line on stderr (no traceback)."""
    try:
        return fn()
    except InputError as e:
        _fail(str(e))
    except ValueError as e:
        _fail(str(e), 2)
    except KeyboardInterrupt:
        _fail("interrupted; no output written", 130)
    except BrokenPipeError:
        raise
    except Exception as e:
        if os.environ.get("TRACEFOLD_DEBUG"):
            raise
        _fail(f"{input}: internal error: {type(e).__name__}: {e} (set TRACEFOLD_DEBUG=1 for details)")


@app.command()
def convert(
    input: str = typer.Argument(..., help="trace text file (.gz ok), Parquet, or - for stdin"),
    output: str = typer.Option(..., "-o", "--output", help="output file; its extension picks "
                               "the format (.parquet .folded .json .graphml .dot); - = stdout"),
    from_: Optional[str] = typer.Option(None, "--from", help="input format: "
                                        + ", ".join(readers.formats())),
    to: Optional[str] = typer.Option(None, "--to", help="output format: parquet, folded, "
                                     "chrome, graphml, dot (default: from -o)"),
    # folded stacks (stackcollapse-perf.pl options and meanings)
    pid_frames: bool = typer.Option(False, "--pid-frames", help="folded: root frame comm-PID "
                                    "(what a bare --pid means)"),
    tid_frames: bool = typer.Option(False, "--tid-frames", help="folded: root frame "
                                    "comm-PID/TID (what a bare --tid means)"),
    kernel: bool = typer.Option(False, "--kernel", help="folded: annotate kernel frames _[k]"),
    jit: bool = typer.Option(False, "--jit", help="folded: annotate JIT frames _[j]"),
    all_: bool = typer.Option(False, "--all", help="folded: all annotations (--kernel --jit)"),
    addrs: bool = typer.Option(False, "--addrs", help="folded: raw addresses for unknown symbols"),
    event_filter: Optional[str] = typer.Option(None, "--event-filter", help="folded: only "
                                               "samples of this event (default: the first)"),
    weight: str = typer.Option("auto", "--weight", help="folded: self-ns (calls; default) or "
                               "calls; samples weigh their period"),
    source: str = typer.Option("auto", "--source", help="folded: calls or stacks (default: "
                               "calls when the input has calls)"),
    flamechart: bool = typer.Option(False, "--flamechart", help="folded: time order, "
                                    "identical stacks not merged"),
    absolute_ts: bool = typer.Option(False, "--absolute-ts", help="chrome: keep the trace's "
                                     "own timestamps (default: rebased to the first event)"),
    split: Optional[str] = typer.Option(None, "--split", help="chrome: cut into files of "
                                        "about SIZE (e.g. 200MB): OUT.001.json, …; open "
                                        "calls are re-opened in the next file"),
    keep_last: bool = typer.Option(False, "--keep-last", help="folded: keep a last perf sample "
                                   "not ended by a blank line (stackcollapse-perf.pl drops it)"),
    pid: Optional[str] = PID_OPT, tid: Optional[str] = TID_OPT, comm: Optional[str] = COMM_OPT,
    function: Optional[str] = FUNC_OPT, time: Optional[str] = TIME_OPT,
    max_depth: Optional[int] = DEPTH_OPT, min_duration: Optional[str] = MINDUR_OPT,
):
    """Convert a trace: normalized table (Parquet), folded stacks, Chrome trace JSON, graphs."""
    from . import writers
    try:
        fmt_out = writers.format_for(output, to)
    except ValueError as e:
        _fail(str(e), 2)
    flt = _filters(pid, tid, comm, function, time, max_depth, min_duration)
    opts = dict(pid=pid_frames, tid=tid_frames, kernel=kernel, jit=jit, all=all_, addrs=addrs,
                event_filter=event_filter, weight=weight, source=source, flamechart=flamechart,
                keep_last=keep_last, absolute_ts=absolute_ts, split=split)
    prog, cb = _progress(input)

    def go():
        if prog:
            with prog:
                return api.convert(input, output, from_, progress=cb, to=fmt_out, filters=flt,
                                   **opts)
        return api.convert(input, output, from_, to=fmt_out, filters=flt, **opts)
    info = _run(go, input)
    _report_unrecognized(info)
    for note, n in info.get("notes", {}).items():
        typer.echo(f"tracefold: note: {n} {note}", err=True)


@app.command()
def info(
    inputs: List[str] = typer.Argument(..., help="trace files"),
    json_: bool = typer.Option(False, "--json", help="one JSON object per input (JSON Lines)"),
    from_: Optional[str] = typer.Option(None, "--from", help="input format"),
):
    """Summarize traces: format, lines, events, skipped / unrecognized lines, tasks, time span."""
    failed = 0
    for path in inputs:
        try:
            d = api.info(path, from_)
        except InputError as e:
            failed += 1
            d = {"path": path, "error": str(e)}
        except Exception as e:  # keep going with the other files; still no traceback
            if os.environ.get("TRACEFOLD_DEBUG"):
                raise
            failed += 1
            d = {"path": path, "error": f"{path}: internal error: {type(e).__name__}: {e}"}
        if json_:
            sys.stdout.write(json.dumps(d) + "\n")
            sys.stdout.flush()
        else:
            _print_info(d)
    if failed:
        raise typer.Exit(1)


@app.command()
def graph(
    input: str = typer.Argument(..., help="trace file (.gz ok), Parquet, or -"),
    output: str = typer.Option(..., "-o", "--output", help="g.graphml or g.dot (- = stdout)"),
    from_: Optional[str] = typer.Option(None, "--from", help="input format"),
    to: Optional[str] = typer.Option(None, "--to", help="graphml or dot (default: from -o)"),
    per_thread: bool = typer.Option(False, "--per-thread", help="one node per thread and "
                                    "function (default: threads merged)"),
    pid: Optional[str] = PID_OPT, tid: Optional[str] = TID_OPT, comm: Optional[str] = COMM_OPT,
    function: Optional[str] = FUNC_OPT, time: Optional[str] = TIME_OPT,
    max_depth: Optional[int] = DEPTH_OPT, min_duration: Optional[str] = MINDUR_OPT,
):
    """Call graph: a node per function (calls, total, self), an edge per caller → callee."""
    from . import writers
    try:
        fmt_out = writers.format_for(output, to) if output != "-" or to else "dot"
    except ValueError as e:
        _fail(str(e), 2)
    if fmt_out not in ("graphml", "dot"):
        _fail(f"graph writes graphml or dot, not {fmt_out}", 2)
    flt = _filters(pid, tid, comm, function, time, max_depth, min_duration)
    info = _run(lambda: api.convert(input, output, from_, to=fmt_out, filters=flt,
                                    per_thread=per_thread), input)
    _report_unrecognized(info)


@app.command()
def report(
    input: str = typer.Argument(..., help="trace file (.gz ok), Parquet, or -"),
    from_: Optional[str] = typer.Option(None, "--from", help="input format"),
    sort: str = typer.Option("total", "--sort", "-s", help="total, self, calls, avg, min, "
                             "max, name (samples: total = weight, self = self weight)"),
    top: Optional[int] = typer.Option(None, "--top", "-n", help="only the first N rows"),
    json_: bool = typer.Option(False, "--json", help="JSON Lines, one object per function"),
    per_thread: bool = typer.Option(False, "--per-thread", help="one row per thread and "
                                    "function"),
    pid: Optional[str] = PID_OPT, tid: Optional[str] = TID_OPT, comm: Optional[str] = COMM_OPT,
    function: Optional[str] = FUNC_OPT, time: Optional[str] = TIME_OPT,
    max_depth: Optional[int] = DEPTH_OPT, min_duration: Optional[str] = MINDUR_OPT,
):
    """Per-function table (calls, total, self, avg, min, max), like `uftrace report`."""
    flt = _filters(pid, tid, comm, function, time, max_depth, min_duration)
    df = _run(lambda: api.report(input, from_, per_thread=per_thread, filters=flt, sort=sort),
              input)
    if top is not None:
        df = df.head(top)
    if json_:
        for r in df.to_dict(orient="records"):
            sys.stdout.write(json.dumps({k: (None if v != v else v) for k, v in r.items()},
                                        default=int) + "\n")
        return
    from rich.console import Console
    from rich.table import Table
    from .writers.graph import human_ns
    t = Table(title=input, show_lines=False)
    cols = [c for c in df.columns if c not in ("function",)] + ["function"]
    for c in cols:
        t.add_column(c.replace("_ns", ""), justify="left" if c in ("function", "thread")
                     else "right", overflow="fold")
    for r in df.itertuples(index=False):
        d = r._asdict()
        t.add_row(*[human_ns(int(d[c])) if c.endswith("_ns") else str(d[c]) for c in cols])
    Console().print(t)


@app.command()
def check(
    inputs: List[str] = typer.Argument(..., help="Chrome trace JSON files"),
    json_: bool = typer.Option(False, "--json", help="one JSON object per file"),
):
    """Validate Chrome trace JSON: required keys, no negative durations, strict nesting on
    every track. Exit status 1 when a file has a problem."""
    from .analysis.check import check_file
    failed = 0
    for path in inputs:
        r = check_file(path)
        failed += not r["ok"]
        if json_:
            sys.stdout.write(json.dumps(r) + "\n")
            continue
        c = r["counts"]
        if r["ok"]:
            typer.echo(f"{path}: ok ({c.get('events', 0)} events, {c.get('slices', 0)} slices "
                       f"on {c.get('tracks', 0)} tracks)" if "events" in c else f"{path}: ok")
        else:
            typer.echo(f"{path}: {c.get('problems', len(r['problems']))} problem(s)", err=True)
            for p in r["problems"]:
                typer.echo(f"  {p}", err=True)
    if failed:
        raise typer.Exit(1)


def _print_info(d):
    from rich.console import Console
    from rich.table import Table
    c = Console()
    if "error" in d:
        typer.echo(f"tracefold: {d['error']}", err=True)
        return
    t = Table(title=d["path"], show_header=False)
    for k in ("format", "lines", "events", "event_lines", "unrecognized", "lost_events", "tasks"):
        t.add_row(k, str(d.get(k)))
    t.add_row("time span", f"{d.get('time_span_ns', 0) / 1e9:.6f} s")
    for k, v in d.get("skipped", {}).items():
        t.add_row(f"skipped: {k}", str(v))
    for u in d.get("first_unrecognized", []):
        t.add_row(f"unrecognized line {u['line']}", f"{u['reason']}: {u['text'][:60]!r}")
    for k, v in d.get("warnings", {}).items():
        t.add_row(f"note: {k}", str(v))
    for k, v in d.get("header", {}).items():
        t.add_row(f"header: {k}", str(v))
    c.print(t)


_INT_LIST = re.compile(r"^\d+(,\d+)*$")


def fix_argv(argv: list[str]) -> list[str]:
    """A bare ``--pid`` / ``--tid`` (no number after it) is stackcollapse-perf.pl's flag:
    task IDs in root frames. With numbers it is the filter."""
    out = []
    for i, a in enumerate(argv):
        if a in ("--pid", "--tid") and not (i + 1 < len(argv) and _INT_LIST.match(argv[i + 1])):
            out.append(a + "-frames")
        else:
            out.append(a)
    return out


def main(argv=None):
    argv = fix_argv(sys.argv[1:] if argv is None else list(argv))
    try:
        app(args=argv, prog_name="tracefold")
    except BrokenPipeError:
        sys.exit(141)


if __name__ == "__main__":
    main()
