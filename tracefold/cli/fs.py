"""`tracefold fs`: where each syscall's time goes, layer by layer (syscall, VFS, page cache,
file system, block, driver). A terminal table (TSV / JSON for scripts), or files through
the writers: instances (.parquet .jsonl .tsv .csv), layer stacks (.folded .svg), layer
slices (.json, Chrome)."""
from __future__ import annotations

import json
import sys
from typing import Optional

import typer

from .common import EVENT_OPT
from .common import (COMM_OPT, DEPTH_OPT, FORMAT_OPT, FROM_OPT, FUNC_OPT, JOBS_OPT, MINDUR_OPT,
                     ONCPU_OPT, PID_OPT, SCHED_OPT, TID_OPT, TIME_OPT, WHERE_OPT, api, app,
                     emit, fail, filters, output_help, run, table_format, usage, where_of,
                     writers)

OUTPUTS = ("parquet", "jsonl", "tsv", "csv", "folded", "svg", "chrome")


@app.command("fs")
def fs_cmd(
    input: str = typer.Argument(..., help="kernel trace: function_graph (ftrace, trace-cmd), "
                                "uftrace -K replay, perf script with kernel stacks, stack traces"),
    from_: Optional[str] = FROM_OPT,
    rules: Optional[str] = typer.Option(None, "--rules", help="layer rules (TOML) instead of "
                                        "the built-in tracefold/rules/fs_layers.toml"),
    json_: bool = typer.Option(False, "--json", help="one JSON object: summary, instances, "
                               "unknown functions"),
    fmt: Optional[str] = FORMAT_OPT,
    output: Optional[str] = typer.Option(None, "-o", "--output", help=output_help(OUTPUTS)
                                         + ": instances (tables), layer stacks (folded, "
                                         "svg), layer slices (chrome)"),
    to: Optional[str] = typer.Option(None, "--to", help=", ".join(OUTPUTS)),
    by: Optional[str] = typer.Option(None, "--by", help="file: one row per file and syscall "
                                     "(strace -y descriptors, path arguments)"),
    where: Optional[str] = WHERE_OPT, jobs: int = JOBS_OPT, scheduler: Optional[str] = SCHED_OPT,
    pid: Optional[str] = PID_OPT, tid: Optional[str] = TID_OPT, comm: Optional[str] = COMM_OPT,
    event: Optional[str] = EVENT_OPT,
    function: Optional[str] = FUNC_OPT, time: Optional[str] = TIME_OPT,
    max_depth: Optional[int] = DEPTH_OPT, min_duration: Optional[str] = MINDUR_OPT,
    on_cpu: bool = ONCPU_OPT,
):
    """Where each syscall's time goes: syscall, VFS, page cache, file system, block, driver."""
    flt = filters(pid, tid, comm, function, time, max_depth, min_duration, on_cpu, event)
    fmt_out = usage(lambda: writers.format_for(output or "-", to, OUTPUTS)) \
        if output or to else None
    shown_as = table_format(fmt)
    res = run(lambda: api.fs(input, from_, rules, flt, keep_rows=fmt_out == "chrome",
                             where=where_of(where), jobs=jobs, scheduler=scheduler), input)
    if fmt_out:
        if fmt_out == "chrome" and res.kind not in ("calls", "syscall events"):
            fail(f"Chrome JSON needs traced calls with durations; this input has {res.kind}", 2)
        run(lambda: _fs_output(res, fmt_out, output or "-"), output)
        return
    if by not in (None, "file"):
        fail(f"--by takes file, not {by!r}", 2)
    if by == "file":
        rows = res.by_file()
        if not rows:
            fail(f"{input}: no syscall names a file (record strace with -y for descriptors)", 1)
        emit(rows, [(k, k) for k in rows[0]], "json" if json_ else shown_as)
        return
    summary = res.summary()
    if json_:
        d = {"input": input, "kind": res.kind, "figure": res.figure, "syscalls": summary,
             "outside_syscalls": res.outside,
             "unknown_functions": dict(res.unknown.most_common(100)),
             "notes": dict(res.notes)}
        if res.kind in ("calls", "syscall events"):
            d["instances"] = res.instances_frame().to_dict(orient="records")
        sys.stdout.write(json.dumps(d, default=lambda o: o.item() if hasattr(o, "item")
                                    else str(o)) + "\n")
        return
    if shown_as != "table":
        emit(_summary_rows(res, summary), _summary_columns(res, summary), shown_as)
        return
    _print_fs(input, res, summary)


def _fs_output(res, fmt, output):
    if fmt in ("parquet", "jsonl", "tsv", "csv"):
        from ..writers.table import write_frame
        write_frame(res.instances_frame(), output, fmt)
    elif fmt == "folded":
        from ..writers.folded import write_lines
        write_lines(res.layer_lines(), output)
    elif fmt == "svg":
        from ..writers.svg import write_svg
        write_svg(res.layer_lines(), output, title="File-system layers", colors="fs",
                  subtitle=f"{res.kind}: weight in {res.figure}; syscall → layers (file "
                           "systems by name)", unit=res.figure)
    else:
        from ..writers.chrome import ChromeWriter
        with ChromeWriter(output) as w:
            t = res.layer_calls()
            if t.num_rows:
                w.write(t)
            w.set_info({"format": "tracefold-fs", "source": None, "stats": {}})


def _summary_columns(res, summary):
    cols = [("syscall", "syscall"), ("count", "count"), ("total", "total")]
    if res.kind in ("calls", "syscall events"):
        cols += [("p50_ns", "p50_ns"), ("p99_ns", "p99_ns")]
    layers = res.layers_in(summary)
    return cols + [(f"{k}%", f"{k}%") for k in layers] + [("fs", "fs")]


def _summary_rows(res, summary):
    rows = []
    for r in summary:
        d = {k: r.get(k) for k in ("syscall", "count", "total", "p50_ns", "p99_ns")}
        d.update({f"{k}%": round(100 * v, 2) for k, v in r["share"].items()})
        d["fs"] = ",".join(r["fs"])
        rows.append(d)
    return rows


def _print_fs(input, res, summary):
    from rich.console import Console
    from rich.table import Table
    from .common import fmt_ns as human_ns
    c = Console()
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
    layers = res.layers_in(summary)
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
