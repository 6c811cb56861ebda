"""`tracefold` command line (typer). Thin: every command is one call into tracefold.api."""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import List, Optional

# plain help text: typer's rich formatting alone costs ~70 ms of start-up (issue 14.6)
os.environ.setdefault("TYPER_USE_RICH", "0")
import typer  # noqa: E402

from ._entry import interrupted  # noqa: E402
from .errors import InputError, OutputError  # noqa: E402
from .registry import READERS as _INPUT_FORMATS  # noqa: E402


class _Lazy:
    """A module imported on first use: `tracefold --help` needs neither pyarrow nor numpy."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        import importlib
        return getattr(importlib.import_module(self._name), attr)


api = _Lazy("tracefold.api")
readers = _Lazy("tracefold.readers")
_atomic = _Lazy("tracefold.writers.atomic")

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
def _filters(pid, tid, comm, function, time, max_depth, min_duration, on_cpu=False):
    from .analysis.filters import Filters
    try:
        return Filters.from_options(pid=pid, tid=tid, comm=comm, function=function, time=time,
                                    max_depth=max_depth, min_duration=min_duration,
                                    on_cpu=on_cpu)
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
ONCPU_OPT = typer.Option(False, "--on-cpu", help="leave off-CPU time out (uftrace "
                         "linux:schedule spans): totals and self times are on-CPU time; "
                         "Chrome JSON keeps wall-clock slices without the off-CPU ones")
MINDUR_OPT = typer.Option(None, "--min-duration", help="drop calls shorter than D "
                          "(e.g. 10us; bare numbers are ns)")


def _run(fn, input):
    """Call the API; turn every failure into one line on stderr (no traceback). Ctrl-C and
    SIGTERM go on to main(), which says them for every command alike."""
    try:
        return fn()
    except (InputError, OutputError) as e:
        _fail(str(e))
    except BrokenPipeError:
        raise
    except Exception as e:
        if isinstance(e, ValueError) and not type(e).__module__.startswith("pyarrow"):
            _fail(str(e), 2)            # our own "bad option value" errors
        if os.environ.get("TRACEFOLD_DEBUG"):
            raise
        if isinstance(e, OSError):
            _fail(f"{e.filename or input}: {e.strerror or e}")
        _fail(f"{input}: internal error: {type(e).__name__}: {e} "
              "(set TRACEFOLD_DEBUG=1 for details)")


@app.command()
def convert(
    input: str = typer.Argument(..., help="trace text file (.gz ok), Parquet, or - for stdin"),
    output: str = typer.Option(..., "-o", "--output", help="output file; its extension picks "
                               "the format (.parquet .folded .json .graphml .dot); - = stdout"),
    from_: Optional[str] = typer.Option(None, "--from", help="input format: "
                                        + ", ".join(sorted(_INPUT_FORMATS))),
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
    title: Optional[str] = typer.Option(None, "--title", help="svg: title"),
    inverted: bool = typer.Option(False, "--inverted", help="svg: icicle graph (roots on top)"),
    minwidth: float = typer.Option(0.1, "--minwidth", help="svg: narrower frames (pixels) "
                                   "are merged or left out"),
    palette: str = typer.Option("auto", "--palette", help="svg: auto (kernel / JIT / inlined "
                                "/ user colours), hot, fs"),
    perl_quirks: bool = typer.Option(True, "--perl-quirks/--no-perl-quirks", help="folded "
                                     "(perf): fold as stackcollapse-perf.pl does where it "
                                     "misreads perf script (docs/outputs.md); --no-perl-quirks "
                                     "reads those lines right"),
    keep_last: bool = typer.Option(False, "--keep-last", help="folded: keep a last perf sample "
                                   "not ended by a blank line (stackcollapse-perf.pl drops it)"),
    force: bool = typer.Option(False, "--force", help="replace the input file itself when -o "
                               "names it (refused otherwise)"),
    pid: Optional[str] = PID_OPT, tid: Optional[str] = TID_OPT, comm: Optional[str] = COMM_OPT,
    function: Optional[str] = FUNC_OPT, time: Optional[str] = TIME_OPT,
    max_depth: Optional[int] = DEPTH_OPT, min_duration: Optional[str] = MINDUR_OPT,
    on_cpu: bool = ONCPU_OPT,
):
    """Convert a trace: Parquet table, folded stacks, Chrome JSON, SVG flame graph, call graph."""
    from . import writers
    try:
        fmt_out = writers.format_for(output, to)
    except ValueError as e:
        _fail(str(e), 2)
    flt = _filters(pid, tid, comm, function, time, max_depth, min_duration, on_cpu)
    opts = dict(pid=pid_frames, tid=tid_frames, kernel=kernel, jit=jit, all=all_, addrs=addrs,
                event_filter=event_filter, weight=weight, source=source, flamechart=flamechart,
                keep_last=keep_last, perl_quirks=perl_quirks, absolute_ts=absolute_ts,
                split=split, title=title,
                inverted=inverted, minwidth=minwidth, palette=palette)
    prog, cb = _progress(input)

    def go():
        if prog:
            with prog:
                return api.convert(input, output, from_, progress=cb, to=fmt_out, filters=flt,
                                   force=force, **opts)
        return api.convert(input, output, from_, to=fmt_out, filters=flt, force=force, **opts)
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
    on_cpu: bool = ONCPU_OPT,
):
    """Call graph: a node per function (calls, total, self), an edge per caller → callee."""
    from . import writers
    try:
        fmt_out = writers.format_for(output, to) if output != "-" or to else "dot"
    except ValueError as e:
        _fail(str(e), 2)
    if fmt_out not in ("graphml", "dot"):
        _fail(f"graph writes graphml or dot, not {fmt_out}", 2)
    flt = _filters(pid, tid, comm, function, time, max_depth, min_duration, on_cpu)
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
    on_cpu: bool = ONCPU_OPT,
):
    """Per-function table (calls, total, self, avg, min, max), like `uftrace report`."""
    flt = _filters(pid, tid, comm, function, time, max_depth, min_duration, on_cpu)
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
def diff(
    runs: List[str] = typer.Argument(None, help="BASE NEW (one trace each); or use --base / "
                                     "--new for several runs per side"),
    base: List[str] = typer.Option([], "--base", help="base run(s): --base a1 a2 a3"),
    new: List[str] = typer.Option([], "--new", help="new run(s): --new b1 b2 b3"),
    from_: Optional[str] = typer.Option(None, "--from", help="input format"),
    level: str = typer.Option("function", "--level", help="function or path (call paths)"),
    by: Optional[str] = typer.Option(None, "--by", help="compare per comm or per tid "
                                     "(default: threads merged)"),
    sort: str = typer.Option("impact", "--sort", "-s", help="impact (|change| of total time "
                             "or weight), total, self, calls, rel, name"),
    top: int = typer.Option(30, "--top", "-n", help="rows shown in the terminal (0 = all)"),
    all_: bool = typer.Option(False, "--all", help="also unchanged rows and, with several "
                              "runs per side, changes that are not significant"),
    alpha: float = typer.Option(0.05, "--alpha", help="significance level (Welch t-test, Holm "
                                "corrected) with several runs per side"),
    min_delta: str = typer.Option("1us", "--min-delta", help="with several runs per side: a "
                                  "time that moved by less is not significant (ns, or with "
                                  "ns/us/ms/s)"),
    json_: bool = typer.Option(False, "--json", help="JSON Lines, one object per row"),
    output: Optional[str] = typer.Option(None, "-o", "--output", help="write the table "
                                         "(.parquet, .jsonl) or differential folded stacks "
                                         "(.folded)"),
    to: Optional[str] = typer.Option(None, "--to", help="parquet, json or folded"),
    normalize: bool = typer.Option(False, "--normalize", help="folded: scale base weights to "
                                   "the new total (difffolded.pl -n)"),
    pid: Optional[str] = PID_OPT, tid: Optional[str] = TID_OPT, comm: Optional[str] = COMM_OPT,
    function: Optional[str] = FUNC_OPT, time: Optional[str] = TIME_OPT,
    max_depth: Optional[int] = DEPTH_OPT, min_duration: Optional[str] = MINDUR_OPT,
    on_cpu: bool = ONCPU_OPT,
):
    """What changed between runs (change = new − base), per function or call path."""
    from .analysis import diff as D
    base, new = _diff_sides(list(runs or []), base, new)
    if level not in ("function", "path"):
        _fail("--level is function or path", 2)
    if by not in (None, "comm", "tid"):
        _fail("--by is comm or tid", 2)
    flt = _filters(pid, tid, comm, function, time, max_depth, min_duration, on_cpu)
    from .analysis.filters import parse_duration
    try:
        min_delta_ns = parse_duration(min_delta)
    except ValueError as e:
        _fail(str(e), 2)
    fmt_out = to
    if output and not fmt_out:
        ext = Path(output).suffix.lower()
        fmt_out = {".parquet": "parquet", ".folded": "folded", ".collapsed": "folded",
                   ".jsonl": "json", ".json": "json", ".svg": "svg"}.get(ext)
        if fmt_out is None:
            _fail(f"cannot tell the output format from {output!r}; use --to "
                  "parquet|json|folded|svg", 2)

    def go():
        pb = [api.profile(x, from_, by, flt, level) for x in base]
        pn = [api.profile(x, from_, by, flt, level) for x in new]
        return pb, pn, D.sort_rows(D.compare(pb, pn, level=level, alpha=alpha,
                                             min_delta_ns=min_delta_ns), sort)
    pb, pn, df = _run(go, " ".join(base + new))
    if fmt_out in ("svg", "folded"):
        _diff_flame(fmt_out, output, pb, pn, base, new, normalize,
                    "ns" if df.attrs.get("source") == "calls" else "samples")
        return
    shown = _diff_rows(df, all_)
    if fmt_out == "parquet" and output:
        with _atomic.AtomicFile(output) as tmp:
            shown.to_parquet(tmp, index=False)
        return
    if fmt_out == "json" and output:
        _atomic.write_text(output, "".join(json.dumps(_jsonable(r)) + "\n"
                                   for r in shown.to_dict(orient="records")))
        return
    if json_:
        for r in shown.to_dict(orient="records"):
            sys.stdout.write(json.dumps(_jsonable(r)) + "\n")
        return
    _print_diff(shown if top == 0 else shown.head(top), df, base, new)


def _diff_sides(runs, base, new):
    """(base runs, new runs) from BASE NEW or --base … --new …"""
    if base or new:
        if runs or not base or not new:
            _fail("give BASE NEW, or --base RUN… and --new RUN…", 2)
        return base, new
    if len(runs) != 2:
        _fail("give BASE NEW, or --base RUN… and --new RUN…", 2)
    return [runs[0]], [runs[1]]


def _diff_flame(fmt_out, output, pb, pn, base, new, normalize, unit):
    """Differential folded stacks, or their flame graph."""
    from .analysis import diff as D
    if fmt_out == "svg":
        from .writers.svg import render
        svg = render(D.diff_folded(pb, pn, normalize), title="Differential Flame Graph",
                     subtitle=f"base: {', '.join(Path(x).name for x in base)}  →  new: "
                              f"{', '.join(Path(x).name for x in new)}; width = new, "
                              f"red = grew, blue = shrank" + (" (normalized)" if normalize
                                                               else ""),
                     diff=True, unit=unit)
        _atomic.write_text(output or "-", svg)
    else:
        _atomic.write_text(output or "-",
                           "".join(ln + "\n" for ln in D.diff_folded(pb, pn, normalize)))


CLOSEST = 5      # rows shown when no row is significant


def _diff_rows(df, all_):
    """Rows to show: changed (and with several runs, significant) ones; when none is
    significant, the CLOSEST changed rows (smallest p, then largest change) flagged
    ``closest`` — never a silent empty table."""
    if all_ or df.empty:
        return df
    keep = df.status != "same"
    if "significant" in df.columns:
        if not (keep & df.significant).any() and keep.any():
            ps = df[[c for c in df.columns if c.startswith("p_")]].min(axis=1).fillna(1.0)
            imp = df[[c for c in df.columns if c.startswith("rel_")]].abs().replace(
                float("inf"), float("nan")).max(axis=1).fillna(0.0)
            cand = df.assign(_p=ps, _imp=imp)[keep].sort_values(
                ["_p", "_imp"], ascending=[True, False], kind="stable")
            out = cand.head(CLOSEST).drop(columns=["_p", "_imp"]).reset_index(drop=True)
            out["closest"] = True
            out.attrs.update(df.attrs)
            out.attrs["closest"] = True
            return out
        keep &= df.significant
    out = df[keep].reset_index(drop=True)
    out.attrs.update(df.attrs)
    return out


def _jsonable(r):
    out = {}
    for k, v in r.items():
        if isinstance(v, float):
            if v != v:
                v = None
            elif v in (float("inf"), float("-inf")):
                v = "inf" if v > 0 else "-inf"
            elif v.is_integer() and not k.startswith(("rel_", "p_")) and "_sd" not in k:
                v = int(v)
        elif hasattr(v, "item"):
            v = v.item()
        out[k] = v
    return out


def _print_diff(rows, df, base, new):
    from rich.console import Console
    from rich.table import Table
    from .writers.graph import human_ns
    c = Console(width=None if sys.stdout.isatty() else 160)
    nb, nn = df.attrs.get("runs", (1, 1))
    multi = "significant" in df.columns
    title = (f"base: {', '.join(base)}  →  new: {', '.join(new)}   (change = new − base"
             + (f"; mean of {nb} vs {nn} runs; p: moderated Welch t-test of run totals "
                f"and per-call medians, Holm, alpha {df.attrs.get('alpha')}" if multi else "")
             + ")")
    name = "function" if "function" in df.columns else "path"
    if df.empty or (df.status == "same").all() and not (multi and df.significant.any()):
        c.print(title)
        c.print("no change" if not df.empty else "nothing to compare")
        return
    if rows.attrs.get("closest"):
        c.print(f"[bold]no significant change[/] (alpha {df.attrs.get('alpha')}, {nb} vs {nn} "
                f"runs, a time must also move by {human_ns(df.attrs.get('min_delta_ns', 0))}); "
                f"the {len(rows)} closest row(s), smallest p first:")
    # the terminal shows the per-call median self time, not the median duration (in -o/--json)
    metrics = [m for m in df.attrs["metrics"] if m != "median_ns"]
    t = Table(title=title, title_justify="left")
    for col in metrics:
        t.add_column({"median_self_ns": "self/call"}.get(col, col.replace("_ns", "")),
                     justify="right")
    t.add_column("status")
    if multi:
        t.add_column("p", justify="right")
    if "group" in rows.columns:
        t.add_column("group")
    t.add_column(name, overflow="fold")

    def fmt(m, v):
        if v != v:
            return "–"
        return human_ns(int(round(v))) if m.endswith("_ns") else f"{v:g}"

    for r in rows.to_dict(orient="records"):
        cells = []
        for m in metrics:
            b, n, d, rel = r[f"base_{m}"], r[f"new_{m}"], r[f"delta_{m}"], r[f"rel_{m}"]
            if d != d:
                cells.append(f"{fmt(m, b)} → {fmt(m, n)}")
                continue
            sign = "+" if d > 0 else ("−" if d < 0 else "±")
            pct = "" if rel in (float("inf"), float("-inf")) or rel != rel else f" {rel:+.0%}"
            style = "red" if d > 0 else ("green" if d < 0 else "dim")
            cells.append(f"{fmt(m, b)} → {fmt(m, n)}\n[{style}]{sign}{fmt(m, abs(d))}{pct}[/]")
        cells.append(r["status"])
        if multi:
            ps = [r.get(f"p_{m}") for m in metrics]
            ps = [p for p in ps if p == p and p is not None]
            cells.append(f"{min(ps):.2g}" if ps else "")
        if "group" in rows.columns:
            cells.append(str(r["group"]))
        cells.append(str(r[name]))
        t.add_row(*cells)
    c.print(t)
    hidden = len(df) - len(rows)
    if hidden:
        c.print(f"[dim]{hidden} more row(s) not shown (--all, --top 0)[/]")


@app.command("fs")
def fs_cmd(
    input: str = typer.Argument(..., help="kernel trace: function_graph (ftrace, trace-cmd), "
                                "uftrace -K replay, perf script with kernel stacks, stack traces"),
    from_: Optional[str] = typer.Option(None, "--from", help="input format"),
    rules: Optional[str] = typer.Option(None, "--rules", help="layer rules (TOML) instead of "
                                        "the built-in tracefold/rules/fs_layers.toml"),
    json_: bool = typer.Option(False, "--json", help="one JSON object: summary, instances, "
                               "unknown functions"),
    output: Optional[str] = typer.Option(None, "-o", "--output", help="instances (.parquet), "
                                         "layer stacks (.folded), layer slices (.json, Chrome)"),
    to: Optional[str] = typer.Option(None, "--to", help="parquet, folded or chrome"),
    pid: Optional[str] = PID_OPT, tid: Optional[str] = TID_OPT, comm: Optional[str] = COMM_OPT,
    function: Optional[str] = FUNC_OPT, time: Optional[str] = TIME_OPT,
    max_depth: Optional[int] = DEPTH_OPT, min_duration: Optional[str] = MINDUR_OPT,
    on_cpu: bool = ONCPU_OPT,
):
    """Where each syscall's time goes: syscall, VFS, page cache, file system, block, driver."""
    from .analysis import fs as F
    flt = _filters(pid, tid, comm, function, time, max_depth, min_duration, on_cpu)
    fmt = None
    if output or to:
        fmt = to or {".parquet": "parquet", ".folded": "folded", ".collapsed": "folded",
                     ".json": "chrome", ".svg": "svg"}.get(Path(output or "").suffix.lower())
        if fmt is None:
            _fail(f"cannot tell the output format from {output!r}; use --to "
                  "parquet|folded|chrome|svg", 2)
    res = _run(lambda: api.fs(input, from_, rules, flt, keep_rows=fmt == "chrome"), input)
    if fmt:
        _fs_output(res, fmt, output or "-")
        return
    summary = F.summarize(res)
    if json_:
        d = {"input": input, "kind": res.kind, "figure": res.figure, "syscalls": summary,
             "outside_syscalls": res.outside,
             "unknown_functions": dict(res.unknown.most_common(100)),
             "notes": dict(res.notes)}
        if res.kind in ("calls", "syscall events"):
            d["instances"] = F.instances_table(res).to_dict(orient="records")
        sys.stdout.write(json.dumps(d, default=lambda o: o.item() if hasattr(o, "item")
                                    else str(o)) + "\n")
        return
    _print_fs(input, res, summary)


def _fs_output(res, fmt, output):
    from .analysis import fs as F
    if fmt == "parquet":
        with _atomic.AtomicFile(output) as tmp:
            F.instances_table(res).to_parquet(tmp or sys.stdout.buffer, index=False)
    elif fmt in ("folded", "svg"):
        lines = [f"{k} {v}" for k, v in sorted(res.layer_stacks.items()) if v > 0]
        if fmt == "folded":
            _atomic.write_text(output, "".join(ln + "\n" for ln in lines))
        else:
            from .writers.svg import render
            _atomic.write_text(output, render(lines, title="File-system layers",
                                      subtitle=f"{res.kind}: weight in {res.figure}; syscall "
                                      "→ layers (file systems by name)", palette="fs",
                                      unit=res.figure))
    elif fmt == "chrome":
        if res.kind not in ("calls", "syscall events"):
            _fail(f"Chrome JSON needs traced calls with durations; this input has {res.kind}", 2)
        from .writers.chrome import ChromeWriter
        with ChromeWriter(output) as w:
            t = F.layer_call_table(res)
            if t.num_rows:
                w.write(t)
            w.set_info({"format": "tracefold-fs", "source": None, "stats": {}})
    else:
        _fail(f"fs writes parquet, folded or chrome, not {fmt}", 2)


def _print_fs(input, res, summary):
    from rich.console import Console
    from rich.table import Table
    from .analysis.fs import LAYERS
    from .writers.graph import human_ns
    c = Console(width=None if sys.stdout.isatty() else 160)
    what = {"calls": "traced calls: duration of every syscall and the self time of each layer",
            "samples": "stack samples: sample weight per layer (innermost frame), no durations",
            "stack traces": "stack traces: number of traced events per layer, no durations",
            "syscall events": "sys_enter / sys_exit events: duration of every syscall, no "
                              "layer detail (trace functions for that)"}
    if not summary:
        c.print(f"{input}: no syscall found ({what.get(res.kind, res.kind)}); "
                "see `--rules` or docs/fs.md")
        return
    t = Table(title=f"{input} — {what[res.kind]}", title_justify="left")
    t.add_column("syscall")
    t.add_column("count", justify="right")
    t.add_column("total" if res.figure == "ns" else res.figure, justify="right")
    if res.kind in ("calls", "syscall events"):
        t.add_column("p50", justify="right")
        t.add_column("p99", justify="right")
    layers = [k for k in LAYERS if any(r["share"].get(k) for r in summary)]
    short = {"syscall": "sys", "security": "sec", "pagecache": "page", "unknown": "unkn",
             "driver": "drv", "block": "blk"}
    for k in layers:
        t.add_column(short.get(k, k), justify="right", no_wrap=True)
    t.add_column("file system")
    for r in summary:
        cells = [r["syscall"], str(r["count"]),
                 human_ns(r["total"]) if res.kind in ("calls", "syscall events")
                 else str(r["total"])]
        if res.kind in ("calls", "syscall events"):
            cells += [human_ns(r["p50_ns"] or 0), human_ns(r["p99_ns"] or 0)]
        cells += [f"{100 * r['share'].get(k, 0):.0f}%" if r["share"].get(k) else "" for k in layers]
        cells.append(",".join(r["fs"]))
        t.add_row(*cells)
    c.print(t)
    if res.unknown:
        top = ", ".join(f"{k}" for k, _ in res.unknown.most_common(8))
        c.print(f"[dim]unknown functions ({len(res.unknown)}): {top} … (--json lists them; "
                f"--rules adds rules)[/]")


@app.command()
def check(
    inputs: List[str] = typer.Argument(..., help="Chrome trace JSON files"),
    json_: bool = typer.Option(False, "--json", help="one JSON object per file"),
):
    """Validate Chrome trace JSON: required keys, durations, strict nesting per track.

    Exit status 1 when a file has a problem."""
    from .writers.chrome_check import check_file
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
    c.print(f"[bold]{d['path']}[/]")
    t = Table(show_header=False)
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
    task IDs in root frames (convert). With numbers it is the filter.
    ``diff --base a1 a2 --new b1 b2``: each run after --base / --new belongs to it."""
    out = []
    side, taken = None, 0
    for i, a in enumerate(argv):
        if a in ("--base", "--new"):
            if side is not None and not taken:
                out.append(side)        # "--base" with nothing after it: the parser complains
            side, taken = a, 0
            continue
        if side is not None:
            if not a.startswith("-") or a == "-":
                out += [side, a]
                taken += 1
                continue
            if not taken:
                out.append(side)
            side = None
        if a in ("--pid", "--tid") and not (i + 1 < len(argv) and _INT_LIST.match(argv[i + 1])):
            out.append(a + "-frames" if argv[:1] == ["convert"] else a)
        else:
            out.append(a)
    if side is not None and not taken:
        out.append(side)
    return out


# commands whose work never needs pandas: pyarrow imports it on its first pa.array() call
# (0.15-0.25 s, a third of a small conversion), which is kept from happening for them
_NO_PANDAS = ("convert", "info", "check")


class _NoPandas:
    """Import hook: ``import pandas`` fails, so pyarrow takes it as not installed."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not loaded for this tracefold command")
        return None


def main(argv=None):
    """The command line (the console script enters through tracefold._entry, which handles
    signals first). Called with ``argv`` (in-process, e.g. from Python) it leaves imports
    alone."""
    own_process = argv is None
    argv = fix_argv(sys.argv[1:] if argv is None else list(argv))
    cmd = next((a for a in argv if not a.startswith("-")), None)
    if own_process and cmd is not None and not {"--help", "-h"} & set(argv):
        from . import _memory          # Arrow's allocator for this process (not for --help)
        _memory.tune()
    if own_process and cmd in _NO_PANDAS and "pandas" not in sys.modules:
        sys.meta_path.insert(0, _NoPandas())
    try:
        app(args=argv, prog_name="tracefold")
    except BrokenPipeError:
        sys.exit(141)
    except SystemExit as e:
        # typer turns a Ctrl-C or SIGTERM anywhere in a command into a silent exit 130
        ki = _interrupt_in(e)
        if ki is None:
            raise
        interrupted(ki)


def _interrupt_in(e):
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, KeyboardInterrupt):
            return e
        e = e.__cause__ or e.__context__
    return None


if __name__ == "__main__":
    main()
