#!/usr/bin/env python3
"""tracefold on real traces of busy systems, next to baselines measured in the same run.

    python bench/real.py [--perf FILE] [--strace FILE] [--big-gb 2] [--only NAMES] [--json FILE]

Inputs (each skipped with a reason when absent):
  vm-big-default   ../shared/generated/vm-big-default: 94 MB function_graph of all kernel
                   functions, both CPUs, five programs at once (the kind of file users have)
  perf-real        a real `perf record -F 4999 -a -g` of several programs at once, as
                   `perf script` text (>= 150 MB): bench/record_perf.sh OUTDIR makes one;
                   --perf FILE, or $TRACEFOLD_BENCH_PERF
  strace-real      a real `strace -f -tt -T -y` of the same kind of workload (several programs
                   at once, unfinished/resumed pairs across threads): bench/record_strace.sh
                   OUTDIR makes one; --strace FILE, or $TRACEFOLD_BENCH_STRACE
  concat-2gb       real traces concatenated to --big-gb GB (vm-big-default repeated: its
                   default options print no timestamps, so the copies need no shifting)

For each input and output: MB, wall time on 2 cores and on 1 core (`taskset -c 0`), MB per
CPU second (user + system of all threads), peak RSS (the command's own, from wait4), lines
that went to Lark (`info`), next to a plain Python loop reading the same lines, and for perf
text -> folded, ../shared/peers/stackcollapse-perf.pl on the same file. Every command is the
`tracefold` CLI in a fresh process, start-up included. Targets (issue 14): function_graph ->
Parquet >= 50 MB per CPU s; perf -> folded >= 5x faster than stackcollapse-perf.pl; 2 cores
<= 0.6x the 1-core wall time; peak RSS <= 300 MB for every input and export, flat to 2 GB.
"""
import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checkout import cli as checkout_cli

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
VM_BIG = SHARED / "generated/vm-big-default/ftrace-graph-all-default.txt.gz"
PERL = SHARED / "peers/stackcollapse-perf.pl"

BASELINE = r"""
import sys
n = 0
with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
    for line in f:
        n += 1
print(n)
"""


def timed(cmd, cores=None, stdout=subprocess.DEVNULL):
    """(wall s, cpu s, peak RSS MB, returncode) of a command in a fresh process."""
    if cores is not None:
        cmd = ["taskset", "-c", cores, *cmd]
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, cwd=ROOT)
    _, _, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    p.returncode = 0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, err


CODE = None       # --code DIR: the tracefold of another checkout (e.g. a "before" column)


def tracefold_cmd():
    if CODE:
        return checkout_cli(CODE)
    exe = shutil.which("tracefold")
    if exe and "/shims/" in exe:        # pyenv's shim is a bash script: +50 ms per run
        real = Path(sys.executable).parent / "tracefold"
        exe = str(real) if real.exists() else exe
    return [exe] if exe else [sys.executable, "-m", "tracefold"]


def lark_share(path):
    out = subprocess.run([*tracefold_cmd(), "info", "--json", str(path)], capture_output=True,
                         text=True, cwd=ROOT)
    try:
        d = json.loads(out.stdout)
        d = d[0] if isinstance(d, list) else d
        return d["lines"], d.get("lark_lines"), d.get("nesting_fallback_records")
    except (ValueError, KeyError, IndexError):
        return None, None, None


def inputs(a, d):
    out = {}
    want = set(a.only.split(",")) if a.only else None
    if want is None or "vm-big-default" in want:
        if VM_BIG.exists():
            p = d / "vm-big-default.txt"
            with gzip.open(VM_BIG) as src, open(p, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            out["vm-big-default"] = (p, ("parquet", "chrome", "folded"))
        else:
            print(f"skip vm-big-default: {VM_BIG} absent")
    if want is None or "perf-real" in want:
        perf = a.perf or os.environ.get("TRACEFOLD_BENCH_PERF")
        if perf and Path(perf).exists():
            out["perf-real"] = (Path(perf), ("folded", "parquet", "chrome"))
        else:
            print("skip perf-real: make one with bench/record_perf.sh OUTDIR, pass --perf")
    if want is None or "strace-real" in want:
        st = a.strace or os.environ.get("TRACEFOLD_BENCH_STRACE")
        if st and Path(st).exists():
            out["strace-real"] = (Path(st), ("parquet", "chrome"))
        else:
            print("skip strace-real: make one with bench/record_strace.sh OUTDIR, pass --strace")
    if (want is None or "concat-2gb" in want) and a.big_gb > 0 and VM_BIG.exists():
        src = out.get("vm-big-default", (None,))[0]
        if src is None:
            src = d / "vm-big-default.txt"
            with gzip.open(VM_BIG) as s, open(src, "wb") as t:
                shutil.copyfileobj(s, t, 1 << 20)
        p = d / "concat.txt"
        with open(p, "wb") as dst:
            while dst.tell() < a.big_gb * 1e9:
                with open(src, "rb") as s:
                    shutil.copyfileobj(s, dst, 1 << 20)
        out["concat-2gb"] = (p, ("parquet",))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--perf", help="perf script text of a real recording (>= 150 MB)")
    ap.add_argument("--strace", help="strace -f -tt -T -y text of a real recording")
    ap.add_argument("--big-gb", type=float, default=2.0)
    ap.add_argument("--only", help="comma-separated: vm-big-default,perf-real,strace-real,"
                    "concat-2gb")
    ap.add_argument("--no-1core", action="store_true", help="skip the taskset -c 0 runs")
    ap.add_argument("--json", help="write the rows here")
    ap.add_argument("--code", help="run the tracefold of this checkout (default: installed)")
    a = ap.parse_args()
    global CODE
    CODE = str(Path(a.code).resolve()) if a.code else None
    tf = tracefold_cmd()
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="tracefold-real-"))
    try:
        for name, (path, outs) in inputs(a, tmp).items():
            mb = path.stat().st_size / 1e6
            bw, bc, _, _ = timed([sys.executable, "-c", BASELINE, str(path)])
            lines, lark, fallback = lark_share(path) if mb < 1000 else (None, None, None)
            print(f"\n{name}: {mb:.0f} MB, {lines or '?'} lines, Lark read {lark} "
                  f"({(lark or 0) / max(lines or 1, 1):.4%}), nested one by one {fallback}; "
                  f"Python read loop {mb / bw:.0f} MB/s", flush=True)
            perl = None
            for fmt in outs:
                ext = {"parquet": "parquet", "chrome": "json", "folded": "folded"}[fmt]
                out = tmp / f"out.{ext}"
                w2, c2, r2, err = timed([*tf, "convert", str(path), "-o", str(out)])
                size2 = out.stat().st_size if out.exists() else None
                w1 = c1 = r1 = None
                if not a.no_1core and mb < 1000:
                    w1, c1, r1, _ = timed([*tf, "convert", str(path), "-o", str(out)], "0")
                row = {"input": name, "output": fmt, "mb": round(mb, 1), "wall_2cores_s":
                       round(w2, 2), "cpu_s": round(c2, 2), "mb_per_cpu_s": round(mb / c2, 1),
                       "peak_rss_mb": round(r2), "wall_1core_s": w1 and round(w1, 2),
                       "ratio_2_to_1_core": w1 and round(w2 / w1, 2),
                       "baseline_read_mb_s": round(mb / bw), "out_mb": size2 and
                       round(size2 / 1e6, 1)}
                if fmt == "folded" and name.startswith("perf") and PERL.exists():
                    if perl is None:
                        pw, pcpu, prss, _ = timed(["perl", str(PERL), str(path)],
                                                  stdout=open(tmp / "perl.folded", "wb"))
                        perl = (pw, pcpu, prss)
                    row["perl_wall_s"] = round(perl[0], 2)
                    row["speedup_vs_perl"] = round(perl[0] / w2, 2)
                rows.append(row)
                print("  " + "  ".join(f"{k}={v}" for k, v in row.items()
                                       if k not in ("input", "mb")), flush=True)
                if err.strip() and "warning" not in err and "note" not in err:
                    print("  stderr:", err.strip()[-300:])
                out.unlink(missing_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
