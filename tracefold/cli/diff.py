"""`tracefold diff`: what changed between runs, per function or call path; several runs per
side give a significance test. Tables on the terminal (TSV / JSON Lines for scripts), or
files through the writers: rows (.parquet .jsonl .tsv .csv) or differential folded stacks
and their flame graph (.folded .svg)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .common import EVENT_OPT
from .common import (COMM_OPT, DEPTH_OPT, FORMAT_OPT, FROM_OPT, FUNC_OPT, JOBS_OPT, MINDUR_OPT,
                     ONCPU_OPT, PID_OPT, SCHED_OPT, TID_OPT, TIME_OPT, WHERE_OPT, api, app,
                     emit, fail, filters, note, output_help, run, table_format, usage, writers,
                     where_of)

OUTPUTS = ("parquet", "jsonl", "tsv", "csv", "folded", "svg")


@app.command()
def diff(
    runs: List[str] = typer.Argument(None, help="BASE NEW (one trace each); or use --base / "
                                     "--new for several runs per side"),
    base: List[str] = typer.Option([], "--base", help="base run(s): --base a1 a2 a3"),
    new: List[str] = typer.Option([], "--new", help="new run(s): --new b1 b2 b3"),
    from_: Optional[str] = FROM_OPT,
    level: str = typer.Option("function", "--level", help="function or path (call paths)"),
    by: Optional[str] = typer.Option(None, "--by", help="compare per comm or per tid "
                                     "(default: threads merged), or per value of a dataset "
                                     "label (--by host)"),
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
    json_: bool = typer.Option(False, "--json", help="JSON Lines, one object per row "
                               "(= --format json)"),
    fmt: Optional[str] = FORMAT_OPT,
    output: Optional[str] = typer.Option(None, "-o", "--output", help=output_help(OUTPUTS)
                                         + " (rows, or differential folded stacks / flame "
                                         "graph)"),
    to: Optional[str] = typer.Option(None, "--to", help=", ".join(OUTPUTS)),
    normalize: bool = typer.Option(False, "--normalize", help="folded: scale base weights to "
                                   "the new total (difffolded.pl -n)"),
    where: Optional[str] = WHERE_OPT, jobs: int = JOBS_OPT, scheduler: Optional[str] = SCHED_OPT,
    pid: Optional[str] = PID_OPT, tid: Optional[str] = TID_OPT, comm: Optional[str] = COMM_OPT,
    event: Optional[str] = EVENT_OPT,
    function: Optional[str] = FUNC_OPT, time: Optional[str] = TIME_OPT,
    max_depth: Optional[int] = DEPTH_OPT, min_duration: Optional[str] = MINDUR_OPT,
    on_cpu: bool = ONCPU_OPT,
):
    """What changed between runs (change = new − base), per function or call path."""
    from ..analysis.filters import parse_duration
    base, new = _diff_sides(list(runs or []), base, new)
    if level not in ("function", "path"):
        fail("--level is function or path", 2)
    w = where_of(where)
    flt = filters(pid, tid, comm, function, time, max_depth, min_duration, on_cpu, event)
    min_delta_ns = usage(lambda: parse_duration(min_delta))
    fmt_out = usage(lambda: writers.format_for(output or "-", to, OUTPUTS)) \
        if output or to else None
    shown_as = table_format(fmt, json_)

    if fmt_out in ("svg", "folded"):
        lines, unit = run(lambda: api.diff_folded(base, new, from_, by, flt, normalize, w,
                                                  jobs, scheduler), " ".join(base + new))
        run(lambda: _diff_flame(fmt_out, output or "-", lines, base, new, normalize, unit),
            output)
        return
    df = run(lambda: api.diff(base, new, from_, level, by, flt, alpha, sort, min_delta_ns, w,
                              jobs, scheduler), " ".join(base + new))
    shown = _diff_rows(df, all_)
    if fmt_out:
        from ..writers.table import write_frame
        run(lambda: write_frame(shown, output or "-", fmt_out), output)
        return
    if shown_as == "table":
        _print_diff(shown if top == 0 else shown.head(top), df, base, new)
        return
    if shown.empty:
        note("no change" if not df.empty else "nothing to compare")
    elif shown.attrs.get("closest"):
        note(f"no significant change; the {len(shown)} closest row(s), smallest p first "
             "(column closest)")
    emit(shown.to_dict(orient="records"), [(c, c) for c in shown.columns], shown_as)


def _diff_sides(runs, base, new):
    """(base runs, new runs) from BASE NEW or --base … --new …"""
    if base or new:
        if runs or not base or not new:
            fail("give BASE NEW, or --base RUN… and --new RUN…", 2)
        return base, new
    if len(runs) != 2:
        fail("give BASE NEW, or --base RUN… and --new RUN…", 2)
    return [runs[0]], [runs[1]]


def _diff_flame(fmt_out, output, lines, base, new, normalize, unit):
    """Differential folded stacks, or their flame graph, through the writers."""
    if fmt_out == "folded":
        from ..writers.folded import write_lines
        write_lines(lines, output)
        return
    from ..writers.svg import write_svg
    names = f"base: {', '.join(Path(x).name for x in base)}  →  new: " \
            f"{', '.join(Path(x).name for x in new)}"
    write_svg(lines, output, title="Differential Flame Graph", diff=True, unit=unit,
              subtitle=f"{names}; width = new, red = grew, blue = shrank"
              + (" (normalized)" if normalize else ""))


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


def _print_diff(rows, df, base, new):
    from rich.console import Console
    from rich.table import Table
    from .common import fmt_ns as human_ns
    c = Console()
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
