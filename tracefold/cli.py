"""`tracefold` command line (typer). Thin: every command is one call into tracefold.api."""
from __future__ import annotations

import json
import os
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


@app.command()
def convert(
    input: str = typer.Argument(..., help="trace text file (.gz ok), Parquet, or - for stdin"),
    output: str = typer.Option(..., "-o", "--output", help="output file (.parquet), - = stdout"),
    from_: Optional[str] = typer.Option(None, "--from", help="input format: "
                                        + ", ".join(readers.formats())),
    to: Optional[str] = typer.Option(None, "--to", help="output format (default: from -o)"),
):
    """Convert a trace to the normalized table (Parquet)."""
    fmt_out = to or (Path(output).suffix.lstrip(".") if output != "-" else "parquet")
    if fmt_out not in ("parquet",):
        _fail(f"output format {fmt_out!r} is not supported yet (supported: parquet)", 2)
    prog, cb = _progress(input)
    try:
        if prog:
            with prog:
                info = api.convert(input, output, from_, progress=cb)
        else:
            info = api.convert(input, output, from_)
    except InputError as e:
        _fail(str(e))
    except KeyboardInterrupt:
        _fail("interrupted; no output written", 130)
    except Exception as e:
        if os.environ.get("TRACEFOLD_DEBUG"):
            raise
        _fail(f"{input}: internal error: {type(e).__name__}: {e} (set TRACEFOLD_DEBUG=1 for details)")
    _report_unrecognized(info)


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


def main():
    try:
        app()
    except BrokenPipeError:
        sys.exit(141)


if __name__ == "__main__":
    main()
