"""`tracefold report`: per-function figures like `uftrace report`, or per comm / dso / sym like
`perf report`; a terminal table, or TSV / CSV / JSON Lines for scripts."""
from __future__ import annotations

from typing import Optional

import typer

from .common import EVENT_OPT
from .common import (COMM_OPT, DEPTH_OPT, FORMAT_OPT, FROM_OPT, FUNC_OPT, JOBS_OPT, MINDUR_OPT,
                     ONCPU_OPT, PID_OPT, SCHED_OPT, TID_OPT, TIME_OPT, WHERE_OPT, api, app,
                     emit, fail, filters, fmt_ns, note, run, table_format, where_of)

# -F names -> column, per table; the default columns of each
FIELDS = {"total": ("total_ns", "weight"), "self": ("self_ns", "self_weight"),
          "calls": ("calls", "samples"), "avg": ("avg_ns",), "min": ("min_ns",),
          "max": ("max_ns",), "total%": ("total%",), "self%": ("self%",),
          "samples": ("samples",), "weight": ("weight",), "self_weight": ("self_weight",),
          "overhead": ("overhead",), "name": ("function", "sym"), "function": ("function",),
          "thread": ("thread",), "comm": ("comm",), "dso": ("dso",), "sym": ("sym",),
          "pid": ("pid",), "tid": ("tid",)}
DEFAULT = {"calls": ["total_ns", "total%", "self_ns", "self%", "calls"],
           "stacks": ["total%", "self%", "samples", "weight"],
           "entries": ["calls"],
           "sample groups": ["overhead", "samples", "weight"]}
HEADERS = {"total_ns": "total", "self_ns": "self", "avg_ns": "avg", "min_ns": "min",
           "max_ns": "max", "self_weight": "self weight"}


@app.command()
def report(
    input: str = typer.Argument(..., help="trace file (.gz ok), folded stacks, Parquet, -, or "
                                "a dataset folder"),
    from_: Optional[str] = FROM_OPT,
    sort: str = typer.Option("total", "--sort", "-s", help="keys, comma separated: calls: "
                             "total, self, calls, avg, min, max, name; samples: total, self, "
                             "samples, name, or perf report's comm, pid, tid, dso, sym (group "
                             "the samples by them; overhead = share of the weight)"),
    field: Optional[str] = typer.Option(None, "--field", "-F", help="columns to show, comma "
                                        "separated (total, total%, self, self%, calls, avg, "
                                        "min, max, samples, weight, overhead, …), or all"),
    threshold: Optional[float] = typer.Option(None, "--threshold", "--percent-limit",
                                              help="leave out rows whose share (of the first "
                                              "sort key; total% by default) is below N %"),
    top: Optional[int] = typer.Option(None, "--top", "-n", help="only the first N rows"),
    fmt: Optional[str] = FORMAT_OPT,
    json_: bool = typer.Option(False, "--json", help="JSON Lines, one object per row "
                               "(= --format json)"),
    per_thread: bool = typer.Option(False, "--per-thread", help="one row per thread and "
                                    "function"),
    where: Optional[str] = WHERE_OPT, jobs: int = JOBS_OPT, scheduler: Optional[str] = SCHED_OPT,
    pid: Optional[str] = PID_OPT, tid: Optional[str] = TID_OPT, comm: Optional[str] = COMM_OPT,
    event: Optional[str] = EVENT_OPT,
    function: Optional[str] = FUNC_OPT, time: Optional[str] = TIME_OPT,
    max_depth: Optional[int] = DEPTH_OPT, min_duration: Optional[str] = MINDUR_OPT,
    on_cpu: bool = ONCPU_OPT,
):
    """Per-function table (total, self, calls, avg, min, max, shares), like `uftrace report`;
    with --sort comm,dso,sym, samples grouped as `perf report` does."""
    out = table_format(fmt, json_)
    flt = filters(pid, tid, comm, function, time, max_depth, min_duration, on_cpu, event)
    w = where_of(where)
    df = run(lambda: api.report(input, from_, per_thread=per_thread, filters=flt, sort=sort,
                                threshold=threshold, where=w, jobs=jobs, scheduler=scheduler),
             input)
    if df.empty:
        why = "no calls or stack samples to report"
        if time:
            why += f" in --time {time} (a trace without timestamps has none in any range)"
        elif flt.active():
            why += " after the filters"
        note(f"{input}: {why}")
        if out != "json":
            raise typer.Exit(0)
        return
    if top is not None:
        df = df.head(top)
    # a terminal gets the usual columns; scripts (TSV, CSV, JSON) every column
    cols = _columns(df, field if field or out == "table" else "all")
    hidden = df.attrs.get("hidden")
    emit(df.to_dict(orient="records"), [(c, HEADERS.get(c, c)) for c in cols], out,
         title=input, human=_human)
    if hidden and out == "table":
        note(f"{hidden} row(s) under the --threshold left out")


def _columns(df, field):
    src = df.attrs.get("source")
    names = [c for c in ("function", "thread", "comm", "pid", "tid", "dso", "sym")
             if c in df.columns]
    if field is None:
        cols = [c for c in DEFAULT.get(src, []) if c in df.columns]
        lead = [c for c in names if c != "function"] if src == "sample groups" else []
        tail = [c for c in names if c in ("thread", "function")]
        return cols + lead + tail
    if field.strip() == "all":
        return [c for c in df.columns if c not in names] + names
    cols = []
    for f in (x.strip() for x in field.split(",") if x.strip()):
        c = next((c for c in FIELDS.get(f, ()) if c in df.columns), None)
        if c is None:
            known = sorted(k for k, v in FIELDS.items() if any(x in df.columns for x in v))
            fail(f"-F {f}: not a column of this report (columns: {', '.join(known)}, all)", 2)
        cols.append(c)
    return cols


def _human(key, v):
    """A cell in the terminal table: times with units, weights with separators."""
    if v is None or v != v:
        return "–"
    if key.endswith("_ns"):
        return fmt_ns(int(v))
    if key.endswith("%") or key == "overhead":
        return f"{v:.2f}%"
    if isinstance(v, (int, float)) or hasattr(v, "item"):
        return f"{int(v):,}"
    return str(v)

