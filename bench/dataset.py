#!/usr/bin/env python3
"""Many traces → one dataset, on 1 and 2 local processes and on a local Dask cluster of two
worker processes, then analyses over the dataset (issue 16).

    python bench/dataset.py [--inputs 200] [--mb 5] [--source FILE …] [--json FILE]

Inputs: --inputs files of about --mb MB each, cut at line boundaries from real traces
(default: ../shared/generated/vm-big-default, the 94 MB busy-system function_graph, plus every
--source FILE, e.g. the lab's big traces or a real `perf script -a -g`), taken round-robin
and, once every piece is used, again (a repeated piece is a new input: each file is converted
on its own, nothing is shared between files).

Measured, each in a fresh `tracefold` process: `convert INPUTS -o DS/` with --jobs 1 (one
process, its own threads on both cores), --jobs 2 (two processes, one core each) and
--scheduler on a Dask cluster of 1 and of 2 worker processes (`dask scheduler`, `dask worker
--nworkers N --nthreads 1`, started for the run on 127.0.0.1): wall time, the datasets
compared byte for byte, peak RSS of the command and of each Dask worker process (sampled every
0.1 s); then `report DS` and `convert DS -o x.folded` (local, one process): wall time and
peak RSS. Targets: 2 workers >= 1.7x faster than 1; peak RSS per worker <= 300 MB; report and
folded over the dataset <= 300 MB.
"""
import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VM_BIG = ROOT.parent / "shared/generated/vm-big-default/ftrace-graph-all-default.txt.gz"
TF = [sys.executable, "-m", "tracefold"]


def pieces(sources, mb):
    """Pieces of about ``mb`` MB of each source, cut after a newline."""
    size = int(mb * (1 << 20))
    for src in sources:
        opener = gzip.open if str(src).endswith(".gz") else open
        with opener(src, "rb") as f:
            carry = b""
            while True:
                data = f.read(size)
                if not data:
                    break
                buf = carry + data
                cut = buf.rfind(b"\n") + 1
                if cut <= 0:
                    carry = buf
                    continue
                yield Path(src).name, buf[:cut]
                carry = buf[cut:]


def make_inputs(folder, sources, n, mb):
    got = list(pieces(sources, mb))
    if not got:
        sys.exit("no input text")
    paths = []
    for i in range(n):
        name, text = got[i % len(got)]
        host = f"host{i % 8}"
        p = Path(folder) / host / f"{i:04d}-{name.replace('.gz', '')}"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text)
        paths.append(p)
    return paths, len(got)


class PeakRSS:
    """Peak RSS (MB) of a process and each of its descendants, sampled in a thread."""

    def __init__(self, pid):
        import psutil
        self.root = psutil.Process(pid)
        self.peak = {}
        self.names = {}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        import psutil
        while not self._stop.is_set():
            try:
                procs = [self.root] + self.root.children(recursive=True)
            except psutil.Error:
                break
            for p in procs:
                try:
                    rss = p.memory_info().rss / 2**20
                    self.peak[p.pid] = max(self.peak.get(p.pid, 0), rss)
                    self.names.setdefault(p.pid, " ".join(p.cmdline()[:4]))
                except psutil.Error:
                    pass
            time.sleep(0.1)

    def stop(self):
        self._stop.set()
        self._t.join()


def run(cmd, **kw):
    """(wall s, peak RSS MB of the command and its children, rc, stderr)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, **kw)
    mon = PeakRSS(p.pid)
    _, err = p.communicate()
    mon.stop()
    return time.perf_counter() - t, max(mon.peak.values(), default=0), p.returncode, \
        err.decode(errors="replace")


def digest(folder):
    h = hashlib.sha256()
    for root, _, files in sorted(os.walk(folder)):
        for f in sorted(files):
            p = os.path.join(root, f)
            h.update(os.path.relpath(p, folder).encode())
            h.update(open(p, "rb").read())
    return h.hexdigest()[:16]


def dask_cluster(n):
    """A `dask scheduler` and `dask worker --nworkers N --nthreads 1` on 127.0.0.1."""
    port = 8786 + (os.getpid() + n) % 1000
    sched = subprocess.Popen(["dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                              "--dashboard-address", ":0"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    worker = subprocess.Popen(["dask", "worker", f"tcp://127.0.0.1:{port}", "--nworkers", str(n),
                               "--nthreads", "1", "--no-dashboard", "--memory-limit", "0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from distributed import Client
    with Client(f"tcp://127.0.0.1:{port}", timeout="60s") as c:
        c.wait_for_workers(n, timeout=60)
    return f"tcp://127.0.0.1:{port}", sched, worker


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", type=int, default=200)
    ap.add_argument("--mb", type=float, default=5)
    ap.add_argument("--source", nargs="*", default=[])
    ap.add_argument("--json")
    a = ap.parse_args()
    sources = ([VM_BIG] if VM_BIG.exists() else []) + [Path(s) for s in a.source]
    work = Path(tempfile.mkdtemp(prefix="tracefold-dsbench-"))
    results = {}
    try:
        paths, distinct = make_inputs(work / "in", sources, a.inputs, a.mb)
        mb = sum(p.stat().st_size for p in paths) / 2**20
        print(f"{len(paths)} inputs ({distinct} distinct pieces of {len(sources)} real "
              f"traces), {mb:.0f} MB", flush=True)
        base = [*TF, "convert", str(work / "in"), "--label-from", "{host}/*",
                "--partition-by", "host", "-q"]
        rows = []
        for name, extra in (("jobs 1", ["--jobs", "1"]), ("jobs 2", ["--jobs", "2"])):
            out = work / name.replace(" ", "")
            wall, rss, rc, err = run(base + ["-o", f"{out}/"] + extra)
            assert rc == 0, err
            rows.append((name, wall, rss, digest(out)))
            print(f"  {name}: {wall:.1f} s, peak RSS {rss:.0f} MB (largest process)", flush=True)
        for n in (1, 2):
            addr, sched, worker = dask_cluster(n)
            try:
                mon = PeakRSS(worker.pid)
                out = work / f"dask{n}"
                wall, rss, rc, err = run(base + ["-o", f"{out}/", "--scheduler", addr])
                mon.stop()
                assert rc == 0, err
                workers = sorted(v for k, v in mon.peak.items() if k != worker.pid)
                rows.append((f"dask {n} worker{'s' if n > 1 else ''}", wall,
                             max(workers, default=0), digest(out)))
                print(f"  dask, {n} worker(s): {wall:.1f} s, peak RSS per worker process "
                      f"{', '.join(f'{w:.0f}' for w in workers)} MB", flush=True)
            finally:
                worker.terminate()
                sched.terminate()
                worker.wait()
                sched.wait()
        same = len({r[3] for r in rows}) == 1
        one = rows[0][1]
        for name, wall, rss, d in rows:
            results[name] = {"wall_s": round(wall, 2), "speedup_vs_1": round(one / wall, 2),
                             "peak_rss_mb": round(rss), "digest": d}
        results["same_bytes"] = same
        ds = work / "jobs1"
        for name, cmd in (("report", [*TF, "report", str(ds), "--format", "tsv"]),
                          ("folded", [*TF, "convert", str(ds), "-o", str(work / "x.folded")])):
            wall, rss, rc, err = run(cmd)
            assert rc == 0, err
            results[name] = {"wall_s": round(wall, 2), "peak_rss_mb": round(rss)}
            print(f"  {name} over the dataset: {wall:.1f} s, peak RSS {rss:.0f} MB", flush=True)
        results["inputs"] = len(paths)
        results["input_mb"] = round(mb)
        print(json.dumps(results, indent=1))
        print(f"datasets identical: {same}; --jobs 2 {one / rows[1][1]:.2f}x --jobs 1; "
              f"Dask 2 workers {rows[2][1] / rows[3][1]:.2f}x 1 worker")
        if a.json:
            Path(a.json).write_text(json.dumps(results, indent=1) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
