"""What every command shares: the typer app, one-line errors, the shared options, progress,
the summary line and plain / terminal tables. Light: nothing heavy is imported here."""
from __future__ import annotations

import json
import os
import sys
import time as _time
from pathlib import Path

import typer

from ..errors import InputError, OutputError, UsageError
from ..registry import OUTPUTS, READERS, WRITERS

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Read ftrace / trace-cmd / uftrace / perf script text (or folded "
                       "stacks) into one normalized call-event table and export it.")


class Lazy:
    """A module imported on first use: `tracefold --help` needs neither pyarrow nor numpy."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        import importlib
        return getattr(importlib.import_module(self._name), attr)


api = Lazy("tracefold.api")
writers = Lazy("tracefold.writers")


def fail(msg: str, code: int = 1):
    typer.echo(f"tracefold: {msg}", err=True)
    raise typer.Exit(code)


def note(msg: str):
    typer.echo(f"tracefold: {msg}", err=True)


def run(fn, input):
    """Call the API; turn every failure into one line on stderr (no traceback): exit 2 for a
    usage error, 1 for anything else. Ctrl-C and SIGTERM go on to main()."""
    try:
        return fn()
    except UsageError as e:
        fail(str(e), 2)
    except (InputError, OutputError) as e:
        fail(str(e))
    except BrokenPipeError:
        raise
    except Exception as e:
        if os.environ.get("TRACEFOLD_DEBUG"):
            raise
        if isinstance(e, FileNotFoundError) and e.filename and \
                not os.path.isdir(os.path.dirname(os.path.abspath(e.filename))):
            fail(f"{os.path.dirname(e.filename) or '.'}: no such directory")
        if isinstance(e, OSError):
            fail(f"{e.filename or input}: {e.strerror or e}")
        fail(f"{input}: internal error: {type(e).__name__}: {e} "
             "(set TRACEFOLD_DEBUG=1 for details)")


def usage(fn):
    """``fn()``, a UsageError from it as exit 2."""
    try:
        return fn()
    except UsageError as e:
        fail(str(e), 2)


# ---------------------------------------------------------------------- shared options
def input_formats() -> str:
    return ", ".join(sorted(READERS))


def output_help(only=None) -> str:
    """The -o help, from the writer registry: which extension picks which format."""
    parts = [f"{'/'.join(exts)} ({name})" for name, exts in OUTPUTS.items()
             if (name in WRITERS if only is None else name in only)]
    return "output file, - for stdout; its extension picks the format: " + ", ".join(parts)


FROM_OPT = typer.Option(None, "--from", help=f"input format (default: detected): "
                        f"{input_formats()}, parquet")
PID_OPT = typer.Option(None, "--pid", help="keep only these processes (N[,N…]); convert to "
                       "folded: a bare --pid adds the PID to root frames (stackcollapse-perf.pl)")
TID_OPT = typer.Option(None, "--tid", help="keep only these threads (N[,N…]); convert to "
                       "folded: a bare --tid adds PID/TID to root frames")
COMM_OPT = typer.Option(None, "--comm", help="keep only these task names (a,b,…)")
EVENT_OPT = typer.Option(None, "--event", help="keep only these events (a,b,…): perf events, "
                         "bpftrace maps (@name), tracepoints, syscall / signal / exit (strace)")
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
QUIET_OPT = typer.Option(False, "--quiet", "-q", help="no progress bar, summary or notes on "
                         "stderr (errors and warnings still)")
WHERE_OPT = typer.Option(None, "--where", help="dataset input: only traces with these "
                         "labels, NAME=VALUE[,VALUE…][,NAME=VALUE…]")
JOBS_OPT = typer.Option(1, "--jobs", "-j", help="dataset: conversions into it, or the traces "
                        "of a dataset input, in N local processes")
SCHED_OPT = typer.Option(None, "--scheduler", help="dataset: the same as tasks on the Dask "
                         "cluster at tcp://HOST:PORT")
FORMAT_OPT = typer.Option(None, "--format", help="table (the terminal's default), tsv (the "
                          "default when stdout is not a terminal), csv or json (JSON Lines)")


def filters(pid, tid, comm, function, time, max_depth, min_duration, on_cpu=False,
            event=None):
    from ..analysis.filters import Filters
    return usage(lambda: Filters.from_options(
        pid=pid, tid=tid, comm=comm, function=function, time=time, max_depth=max_depth,
        min_duration=min_duration, on_cpu=on_cpu, event=event))


def given(**options) -> dict:
    """The options the user gave (None / False are "not given"): only these go to a writer,
    which refuses the ones that do not apply to its format."""
    return {k: v for k, v in options.items() if v is not None and v is not False}


# ---------------------------------------------------------------------- progress, summary
class Progress:
    """A progress bar on stderr when it is a terminal (and not --quiet); afterwards, one
    summary line: rows, unrecognized lines, output size, time."""

    def __init__(self, path, quiet=False):
        self.t0 = _time.perf_counter()
        self.bar = self.update = None
        if quiet or not sys.stderr.isatty() or str(path) == "-":
            return
        try:
            total = os.path.getsize(path)
        except OSError:
            return
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, Progress as Bar,
                                   TimeRemainingColumn, TransferSpeedColumn)
        self.bar = Bar("[progress.description]{task.description}", BarColumn(),
                       DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                       transient=True, console=Console(stderr=True))
        task = self.bar.add_task(Path(path).name, total=total)
        self.update = lambda n: self.bar.update(task, advance=n)

    def call(self, fn):
        if self.bar is None:
            return fn(None)
        with self.bar:
            return fn(self.update)

    def summary(self, info: dict, output: str):
        """After a conversion that showed a bar: what was written, on one line."""
        if self.bar is None:
            return
        size = ""
        if output != "-" and os.path.exists(output):
            size = f", {human_bytes(os.path.getsize(output))}"
        note(f"{output}: {info.get('events', 0):,} events from {info.get('lines', 0):,} lines, "
             f"{info.get('unrecognized', 0):,} unrecognized{size}, "
             f"{_time.perf_counter() - self.t0:.1f} s")


def human_bytes(n: int) -> str:
    for unit, div in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def report_unrecognized(info: dict, quiet=False):
    n = info.get("unrecognized", 0)
    if n:
        first = ", ".join(str(u["line"]) for u in info.get("first_unrecognized", []))
        note(f"warning: {info['path']}: {n} unrecognized line(s) skipped "
             f"(first at line {first}); see `tracefold info`")
    if quiet:
        return
    for w, c in info.get("warnings", {}).items():
        note(f"note: {info['path']}: {c} {w}")
    for msg, c in info.get("notes", {}).items():
        note(f"note: {c} {msg}")


# ---------------------------------------------------------------------- tables
def table_format(fmt: str | None, json_: bool = False) -> str:
    """table on a terminal, tsv when stdout is not one; --format / --json choose."""
    if json_:
        return "json"
    if fmt is None:
        return "table" if sys.stdout.isatty() else "tsv"
    if fmt not in ("table", "tsv", "csv", "json"):
        fail(f"--format: table, tsv, csv or json, not {fmt!r}", 2)
    return fmt


def emit(rows: list[dict], columns: list, fmt: str, title: str | None = None,
         human=None):
    """Rows as a terminal table, TSV, CSV or JSON Lines. ``columns``: (key, header) pairs;
    ``human(key, value)`` gives a cell's text in the terminal table (units); the other
    formats write the plain values (integers in ns, for scripts)."""
    if fmt == "json":
        for r in rows:
            sys.stdout.write(json.dumps({k: _plain(r.get(k)) for k, _ in columns}) + "\n")
        return
    if fmt in ("tsv", "csv"):
        import csv
        w = csv.writer(sys.stdout, delimiter="\t" if fmt == "tsv" else ",",
                       lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow([k for k, _ in columns])
        for r in rows:
            w.writerow(["" if _plain(r.get(k)) is None else _plain(r.get(k))
                        for k, _ in columns])
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    t = Table(title=escape(title) if title else None, title_justify="left")
    for k, head in columns:
        t.add_column(escape(head), justify="left" if k in TEXT_COLUMNS else "right",
                     overflow="fold")
    for r in rows:
        t.add_row(*[escape(human(k, r.get(k)) if human else str(r.get(k))) for k, _ in columns])
    Console().print(t)


TEXT_COLUMNS = {"function", "thread", "comm", "dso", "sym", "path", "status", "group",
                "syscall", "file system"}


def _plain(v):
    """A cell for TSV / CSV / JSON: writers.table.jsonable's value (NaN → None, ±inf →
    "inf"), whole floats as integers, others to 6 decimals."""
    from ..writers.table import jsonable
    v = jsonable(v)
    if isinstance(v, float):
        return int(v) if v.is_integer() else round(v, 6)
    return v


def fmt_ns(ns: int) -> str:
    """uftrace's style: three decimals in the largest unit that keeps the number >= 1."""
    for unit, div in (("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if abs(ns) >= div:
            return f"{ns / div:.3f} {unit}"
    return f"{ns} ns"


def where_of(text):
    """--where as {label: {values}}, or None."""
    from ..dataset import parse_where
    return usage(lambda: parse_where(text)) if text else None
