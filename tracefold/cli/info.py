"""`tracefold info` and `tracefold check`: what a trace holds; whether Chrome JSON is valid."""
from __future__ import annotations

import json
import os
import sys
from typing import List, Optional

import typer

from ..errors import InputError
from .common import FROM_OPT, api, app


@app.command()
def info(
    inputs: List[str] = typer.Argument(..., help="trace files"),
    json_: bool = typer.Option(False, "--json", help="one JSON object per input (JSON Lines)"),
    from_: Optional[str] = FROM_OPT,
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
    if "error" in d:
        typer.echo(f"tracefold: {d['error']}", err=True)
        return
    rows = [(k, str(d.get(k))) for k in ("format", "lines", "events", "event_lines",
                                          "unrecognized", "lost_events", "tasks")]
    span = d.get("time_span_ns")
    rows.append(("time span", "no timestamps" if not d.get("has_timestamps", span)
                 else f"{span / 1e9:.6f} s"))
    rows += [(f"skipped: {k}", str(v)) for k, v in d.get("skipped", {}).items()]
    rows += [(f"unrecognized line {u['line']}", f"{u['reason']}: {u['text'][:60]!r}")
             for u in d.get("first_unrecognized", [])]
    rows += [(f"note: {k}", str(v)) for k, v in d.get("warnings", {}).items()]
    rows += [(f"header: {k}", str(v)) for k, v in d.get("header", {}).items()]
    if not sys.stdout.isatty():
        sys.stdout.write(f"path\t{d['path']}\n" + "".join(f"{k}\t{v}\n" for k, v in rows))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    c = Console()
    c.print(f"[bold]{escape(d['path'])}[/]")
    t = Table(show_header=False)
    for k, v in rows:
        t.add_row(escape(k), escape(v))
    c.print(t)


@app.command()
def check(
    inputs: List[str] = typer.Argument(..., help="Chrome trace JSON files"),
    json_: bool = typer.Option(False, "--json", help="one JSON object per file"),
):
    """Validate Chrome trace JSON: required keys, durations, strict nesting per track.

    Exit status 1 when a file has a problem."""
    from ..writers.chrome_check import check_file
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
