"""The fuzz table of issue 13 at its scale: mutated real traces through the Python API and the
CLI, each outcome classified, with each conversion's own peak resident memory.

    python bench/fuzz_table.py [--api 900] [--cli 110] [--seed 777] [--jobs 2] [--corpus]

--api N mutated traces, each converted to Parquet, folded and Chrome JSON (3N conversions);
--cli N mutated traces, each through `convert -o x.json`, `info --json` and `report` (3N runs).
Mutations are those of tests/fuzzing.py (the CI harness); seeds are its real traces, plus the
small files of ../shared/samples with --corpus.

Outcomes: success; clean error (tracefold's input/output error, or for the CLI a one-line
message with exit 1/2 and no traceback); escaped (any other exception, a traceback, or the
words "internal error"); partial output (a file left at -o, or a .part temporary, after a
failure); memory over 300 MB (the conversion's own peak RSS: VmHWM, reset per case through
/proc/self/clear_refs; for the CLI the child's, from /usr/bin/time). Run it against another
checkout with PYTHONPATH=that/checkout to get a "before" column.
"""
import argparse
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# --code DIR: test the tracefold of another checkout (a "before" column), chosen before
# anything imports tracefold
from checkout import cli as checkout_cli, use_here  # noqa: E402

if "--code" in sys.argv[:-1]:
    _code = str(Path(sys.argv[sys.argv.index("--code") + 1]).resolve())
    use_here(_code)
    os.environ["FUZZ_CODE"] = _code
sys.path.insert(1, str(ROOT / "tests"))
from fuzzing import SEEDS, cases  # noqa: E402

MEM_LIMIT_KB = 300 * 1024


def seeds(corpus: bool):
    paths = list(SEEDS)
    shared = ROOT.parent / "shared" / "samples"
    if corpus and shared.is_dir():
        paths += sorted(p for p in shared.rglob("*.txt") if 2_000 < p.stat().st_size < 60_000
                        and "expected" not in p.parts)
    return paths


def _hwm_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _leftovers(d: Path):
    return [x.name for x in d.iterdir() if x.name.startswith(".tracefold-")]


def api_case(args):
    k, name, data, gz, tmp = args
    import tracefold
    tool_errors = tuple(c for c in (getattr(__import__("tracefold.source", fromlist=["x"]),
                                            "InputError", None),
                                    _output_error()) if c is not None)
    d = Path(tmp) / f"api{k}"
    d.mkdir()
    src = d / (f"in{k}.txt.gz" if gz else f"in{k}.txt")
    src.write_bytes(data)
    rows = []
    for ext in (".parquet", ".folded", ".json"):
        out = d / f"out{ext}"
        _reset_hwm()
        detail = ""
        try:
            tracefold.convert(src, out)
            outcome = "success"
        except tool_errors:
            outcome = "clean"
        except BaseException as e:      # noqa: BLE001 - the point of the table
            outcome = "escaped"
            detail = f"{type(e).__name__}: {str(e)[:100]}"
        partial = outcome != "success" and (out.exists() or bool(_leftovers(d)))
        rows.append(("api", k, name, ext, outcome, partial, _hwm_kb(), detail))
        out.unlink(missing_ok=True)
    shutil.rmtree(d, ignore_errors=True)
    return rows


def _output_error():
    try:
        from tracefold.writers.atomic import OutputError
        return OutputError
    except ImportError:
        return None


def cli_case(args):
    k, name, data, gz, tmp = args
    d = Path(tmp) / f"cli{k}"
    d.mkdir()
    src = d / (f"in{k}.txt.gz" if gz else f"in{k}.txt")
    src.write_bytes(data)
    out = d / "o.json"
    timer = ["/usr/bin/time", "-f", "%M", "-o", str(d / "mem")] \
        if os.path.exists("/usr/bin/time") else []
    rows = []
    for cmd in (["convert", str(src), "-o", str(out)], ["info", "--json", str(src)],
                ["report", str(src)]):
        code = os.environ.get("FUZZ_CODE")
        run = checkout_cli(code) if code else [sys.executable, "-m", "tracefold"]
        p = subprocess.run([*timer, *run, *cmd],
                           capture_output=True, timeout=600, cwd=d)
        err = p.stderr.decode(errors="replace")
        if "Traceback" in err or "internal error" in err or p.returncode not in (0, 1, 2):
            outcome, detail = "escaped", err.strip().splitlines()[-1][:100] if err.strip() else ""
        elif p.returncode == 0:
            outcome, detail = "success", ""
        else:
            outcome, detail = "clean", ""
        partial = outcome != "success" and cmd[0] == "convert" and \
            (out.exists() or bool(_leftovers(d)))
        try:
            mem = int((d / "mem").read_text().split()[-1]) if timer else 0
        except (OSError, ValueError, IndexError):
            mem = 0
        rows.append(("cli", k, name, cmd[0], outcome, partial, mem, detail))
        out.unlink(missing_ok=True)
    shutil.rmtree(d, ignore_errors=True)
    return rows


def table(rows):
    out = {}
    for mode in ("api", "cli"):
        rs = [r for r in rows if r[0] == mode]
        if not rs:
            continue
        c = Counter(r[4] for r in rs)
        out[mode] = {"tried": len(rs), "success": c["success"], "clean error": c["clean"],
                     "escaped": c["escaped"], "partial output": sum(r[5] for r in rs),
                     "memory over 300 MB": sum(r[6] > MEM_LIMIT_KB for r in rs),
                     "peak MB (max)": round(max(r[6] for r in rs) / 1024, 1)}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--api", type=int, default=900)
    ap.add_argument("--cli", type=int, default=110)
    ap.add_argument("--seed", type=int, default=777)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--corpus", action="store_true")
    ap.add_argument("--json", help="write every row here")
    ap.add_argument("--code", help="the checkout whose tracefold to test (default: installed)")
    a = ap.parse_args()
    import tracefold
    paths = seeds(a.corpus)
    t = time.time()
    rows = []
    with tempfile.TemporaryDirectory(prefix="tracefold-fuzz-") as tmp, \
            mp.get_context("fork").Pool(a.jobs, maxtasksperchild=50) as pool:
        work = [(k, n, d, gz, tmp) for k, n, d, gz in cases(a.api, a.seed, paths)]
        for rs in pool.imap_unordered(api_case, work, chunksize=4):
            rows += rs
        work = [(k, n, d, gz, tmp) for k, n, d, gz in cases(a.cli, a.seed + 1, paths)]
        for rs in pool.imap_unordered(cli_case, work):
            rows += rs
    res = table(rows)
    print(f"tracefold from {Path(tracefold.__file__).parent}, {len(paths)} seed traces, "
          f"seed {a.seed}, {time.time() - t:.0f} s")
    cols = ["tried", "success", "clean error", "escaped", "partial output",
            "memory over 300 MB", "peak MB (max)"]
    print("| through | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for mode, r in res.items():
        print(f"| {mode} | " + " | ".join(str(r[c]) for c in cols) + " |")
    esc = Counter(r[7].split(":")[0] for r in rows if r[4] == "escaped")
    if esc:
        print("escaped, by kind:", dict(esc.most_common(10)))
    if a.json:
        Path(a.json).write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
