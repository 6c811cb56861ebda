#!/usr/bin/env python3
"""Throughput and peak memory of `tracefold convert` to Parquet on >= 200 MB inputs built by
repeating real samples, next to a baseline measured in the same run (a plain Python loop that
only reads the lines of the same file). Machines are noisy: compare the ratio, not MB/s.

usage: python bench/bench.py [--mb 200] [--repeat 3] [--outputs parquet,folded,chrome]
    [--only function,function_graph,function_graph-pipe,trace-cmd,uftrace,perf-script]
Each measurement runs in a fresh process (`/usr/bin/time`-style peak RSS via resource); the
per-core figure is MB per CPU second (user + system time of all threads).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

# name -> (source file, lines to skip at the top (headers))
INPUTS = {
    "function": (SHARED / "generated/vm-ftrace-function-stack/trace-io.txt", "ftrace"),
    "function_graph": (SHARED / "generated/vm-ftrace-graph-hello-abstime-proc-tail/trace.txt",
                       "ftrace"),
    # the same without its header, as read from trace_pipe: columns guessed, no legend
    "function_graph-pipe": (SHARED / "generated/vm-ftrace-graph-hello-abstime-proc-tail/trace.txt",
                            "ftrace"),
    "trace-cmd": (SHARED / "generated/vm-trace-cmd-graph-hello/report.txt", "trace-cmd"),
    "uftrace": (SHARED / "generated/uftrace-threads/replay-time.txt", "uftrace"),
    "perf-script": (SHARED / "generated/perf-cpuloop/perf-script-O0.txt", "perf-script"),
}


# timestamps (s with 6 or 9 decimals, before ":" or " |"): each repetition is moved later in
# time so that no line of the input repeats another one verbatim, as in a real trace
TS = re.compile(r"(?<![\d.])(\d+)\.(\d{6}|\d{9})(?=:| \|)")


def shifted(block: str, k: int) -> str:
    return TS.sub(lambda m: f"{int(m.group(1)) + 100_000 * k}.{m.group(2)}", block)


def build(src: Path, target_mb: int, out: Path, header: bool = True):
    lines = src.read_text().splitlines(keepends=True)
    head = [ln for ln in lines[:40] if ln.startswith("#") or ln.startswith("cpus=")]
    if not header:
        head = []
    body = [ln for ln in lines if not (ln.startswith("#") or ln.startswith("cpus="))]
    if body and body[-1].strip():
        body.append("\n")            # keep perf script samples separated between repeats
    block = "".join(body)
    with open(out, "wb") as f:
        f.write("".join(head).encode())
        n = k = 0
        while n < target_mb * 1_000_000:
            b = shifted(block, k).encode()
            f.write(b)
            n += len(b)
            k += 1
    return out.stat().st_size


# each child prints: wall seconds, CPU seconds (user + system, all threads), count, peak RSS
CHILD_BASELINE = r"""
import sys, time, resource
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t, c = time.perf_counter(), cpu(); n = 0
with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
    for line in f:
        n += 1
print(time.perf_counter() - t, cpu() - c, n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

CHILD_CONVERT = r"""
import sys, time, resource
import tracefold
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t, c = time.perf_counter(), cpu()
info = tracefold.convert(sys.argv[1], sys.argv[2], sys.argv[3])
print(time.perf_counter() - t, cpu() - c, info["events"],
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def child(code, *args):
    p = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                       text=True, cwd=ROOT, check=True)
    dt, cpu, n, rss_kb = p.stdout.split()
    return float(dt), float(cpu), int(n), int(rss_kb) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--only", default=",".join(INPUTS))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (best kept)")
    ap.add_argument("--outputs", default="parquet",
                    help="comma-separated output formats to time: parquet, folded, chrome")
    a = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="tracefold-bench-") as d:
        for name in a.only.split(","):
            src, fmt = INPUTS[name]
            if not src.exists():
                print(f"skip {name}: {src} absent")
                continue
            inp = Path(d) / f"{name}.txt"
            size = build(src, a.mb, inp, header=not name.endswith("-pipe"))
            mb = size / 1e6
            base_dt, base_cpu, nlines, base_rss = child(CHILD_BASELINE, inp)
            for out_fmt in a.outputs.split(","):
                ext = {"parquet": "parquet", "folded": "folded", "chrome": "json"}[out_fmt]
                out = Path(d) / f"{name}.{ext}"
                runs = [child(CHILD_CONVERT, inp, out, fmt) for _ in range(a.repeat)]
                # the best of the runs: noise only ever slows a run down
                dt = min(r[0] for r in runs)
                cpu = min(r[1] for r in runs)
                events, rss = runs[0][2], max(r[3] for r in runs)
                r = {"input": name, "output": out_fmt, "mb": round(mb, 1), "lines": nlines,
                     "events": events, "baseline_mb_s": round(mb / base_dt, 1),
                     "convert_mb_s": round(mb / dt, 1),
                     # per core: MB per CPU second of all the process's threads
                     "convert_mb_per_cpu_s": round(mb / cpu, 1),
                     "ratio_to_baseline": round(base_dt / dt, 3),
                     "cpu_ratio_to_baseline": round(base_cpu / cpu, 3),
                     "convert_peak_rss_mb": round(rss, 1),
                     "baseline_peak_rss_mb": round(base_rss, 1)}
                results.append(r)
                os.unlink(out)
                if a.json:
                    print(json.dumps(r))
                else:
                    print(f"{name:15} -> {out_fmt:8} {mb:7.1f} MB  {nlines:>10} lines  baseline "
                          f"{r['baseline_mb_s']:6.1f} MB/s  convert {r['convert_mb_s']:6.1f} MB/s"
                          f" wall, {r['convert_mb_per_cpu_s']:6.1f} MB per CPU s"
                          f"  (x{r['cpu_ratio_to_baseline']:.3f} of baseline)"
                          f"  peak RSS {r['convert_peak_rss_mb']:.0f} MB", flush=True)
            os.unlink(inp)
    return results


if __name__ == "__main__":
    main()
