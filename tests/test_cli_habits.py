"""The command line for people coming from flamegraph.pl, uftrace report and perf report
(issue 15): folded stacks as input, flamegraph.pl's options checked against flamegraph.pl
itself, report like uftrace / perf report (checked against perf report's own output), plain
tables for scripts, honest empty results, typed options that refuse what does not apply."""
import csv
import html
import io
import json
import os
import pty
import re
import subprocess
import sys
from collections import defaultdict

import pytest

import tracefold
from conftest import GENERATED, GOLDEN, ROOT, SAMPLES, SHARED, need_shared, run_cli
from tracefold.writers.svg import SvgOptions, render

PERF = ROOT / "samples" / "perf-script-cpuloop.txt"
GRAPH = ROOT / "samples" / "trace-cmd-graph-hello.txt"
UFTRACE = ROOT / "samples" / "uftrace-threads-replay.txt"
FOLDED = GOLDEN / "folded" / "perf-numa-stacks-01-collapsed-all.txt"
DIFF = GOLDEN / "folded" / "cpuloop-O0-to-O2-difffolded.txt"
RESULTS = SAMPLES / "expected" / "flamegraph" / "results"
FLAMEGRAPH = SHARED / "peers" / "flamegraph.pl"


def lines_of(p):
    return [ln for ln in open(p).read().splitlines() if ln.strip()]


# ---------------------------------------------------------------------- folded input
def test_folded_files_read_back_to_the_same_lines(tmp_path):
    """A folded file converted to folded stacks is the same lines (sorted), for FlameGraph's
    own stackcollapse outputs; with several files, on every one of them."""
    files = [FOLDED] + (sorted(RESULTS.glob("*-collapsed-*.txt")) if RESULTS.is_dir() else [])
    for src in files:
        out = tmp_path / "x.folded"
        p = run_cli("convert", src, "-o", out)
        assert p.returncode == 0, (src, p.stderr)
        want = sorted(lines_of(src))
        assert out.read_text().splitlines() == want, src
        assert tracefold.info(src)["format"] == "folded"


def test_differential_folded_input_draws_a_differential_graph(tmp_path):
    """difffolded.pl's two-count lines: folded out is the same lines; the SVG is a
    differential flame graph whose widths are the new counts and tooltips give the change."""
    out = tmp_path / "d.folded"
    assert run_cli("convert", DIFF, "-o", out).returncode == 0
    assert out.read_text().splitlines() == sorted(lines_of(DIFF))
    svg = tmp_path / "d.svg"
    p = run_cli("convert", DIFF, "-o", svg)
    assert p.returncode == 0, p.stderr
    text = svg.read_text()
    assert "Differential Flame Graph" in text
    base = sum(int(ln.split()[-2]) for ln in lines_of(DIFF))
    new = sum(int(ln.split()[-1]) for ln in lines_of(DIFF))
    assert f"all ({new:,} ns, 100.00%; base {base:,}, change {new - base:+,})" in \
        html.unescape(text) or f"all ({new:,} samples" in html.unescape(text)
    # widths follow the new counts: the O0 program (new count 0) is not drawn
    assert "cpuloop_O0" not in text and "cpuloop_fp" in text


def test_folded_input_accounts_for_every_line(tmp_path):
    src = tmp_path / "bad.folded"
    src.write_text("a;b;c 3\n\nnot a folded line\na;b 2\n")
    d = tracefold.info(src, "folded")
    assert (d["events"], d["unrecognized"], d["skipped"]) == (2, 1, {"blank": 1})
    p = run_cli("convert", src, "--from", "folded", "-o", tmp_path / "o.folded")
    assert p.returncode == 0 and b"1 unrecognized" in p.stderr
    assert (tmp_path / "o.folded").read_text() == "a;b 2\na;b;c 3\n"


# ---------------------------------------------------------------------- flamegraph.pl
_TITLE = r"<title>(.*?) \(([\d,]+) [^<]*?\)(?: \[\w+\])?</title><rect x=\"([\d.]+)\" " \
         r"y=\"([\d.]+)\" width=\"([\d.]+)\""


def _frames(svg, ours):
    out = []
    for m in re.finditer(_TITLE if not ours else r'<g class="f"[^>]*>' + _TITLE, svg):
        name = re.sub(r"_\[[kwij]\]$", "", html.unescape(m.group(1)))
        if ours and re.fullmatch(r"\(\d+ narrow frames\)", name):
            continue
        out.append((name, int(m.group(2).replace(",", "")), float(m.group(3)),
                    float(m.group(5))))
    return out


OPTIONS = [([], {}), (["--inverted"], {"inverted": True}), (["--reverse"], {"reverse": True}),
           (["--minwidth", "0.5%"], {"minwidth": "0.5%"}), (["--width", "700"], {"width": 700}),
           (["--flamechart"], {"flamechart": True}), (["--minwidth", "3"], {"minwidth": 3})]


@pytest.mark.parametrize("flags,opts", OPTIONS, ids=[" ".join(f) or "default" for f, _ in OPTIONS])
def test_same_frames_as_flamegraph_pl(flags, opts):
    """flamegraph.pl and tracefold on the same folded files: the same frames (name and
    count), each at the same place and width within a pixel."""
    need_shared()
    files = sorted(RESULTS.glob("*-collapsed-all.txt"))
    assert files
    for src in files:
        fg = subprocess.run(["perl", FLAMEGRAPH, *flags, str(src)], capture_output=True,
                            text=True, check=True).stdout
        ours = render(lines_of(src), SvgOptions(**opts))
        a, b = sorted(_frames(fg, False)), sorted(_frames(ours, True))
        assert len(a) == len(b), (src.name, len(a), len(b))
        pool = defaultdict(list)
        for f in b:
            pool[f[:2]].append(f)
        for f in a:
            cand = pool[f[:2]]
            best = min(cand, key=lambda g: abs(g[2] - f[2]) + abs(g[3] - f[3]), default=None)
            assert best is not None and abs(best[2] - f[2]) <= 1 and abs(best[3] - f[3]) <= 1, \
                (src.name, f, best)
            cand.remove(best)


def test_svg_options_reach_the_graph(tmp_path):
    out = tmp_path / "x.svg"
    p = run_cli("convert", PERF, "-o", out, "--title", "T1", "--subtitle", "S2", "--width",
                "800", "--height", "20", "--fontsize", "10", "--colors", "blue", "--hash",
                "--countname", "ticks")
    assert p.returncode == 0, p.stderr
    svg = out.read_text()
    assert 'width="800"' in svg and ">T1<" in svg and ">S2<" in svg and 'height="19"' in svg
    assert "ticks, 100.00%" in svg and 'data-font="10"' in svg
    fills = set(re.findall(r'fill="rgb\((\d+),(\d+),(\d+)\)"', svg))
    assert fills and all(int(b) >= 205 and int(r) == int(g) for r, g, b in fills
                         if (r, g, b) != ("250", "250", "250"))


def test_svg_unit_comes_from_the_input(tmp_path):
    """One cpu-clock sample of perf is 250,000 ns of CPU time, not 250,000 samples."""
    out = tmp_path / "x.svg"
    assert run_cli("convert", PERF, "-o", out).returncode == 0
    assert re.search(r"<title>all \([\d,]+ ns, 100.00%\)", out.read_text())
    assert run_cli("convert", GRAPH, "-o", out).returncode == 0
    assert re.search(r"<title>all \([\d,]+ ns, 100.00%\)", out.read_text())
    assert run_cli("convert", GRAPH, "-o", out, "--weight", "calls").returncode == 0
    assert re.search(r"<title>all \([\d,]+ calls, 100.00%\)", out.read_text())
    assert run_cli("convert", FOLDED, "-o", out).returncode == 0
    assert re.search(r"<title>all \([\d,]+ samples, 100.00%\)", out.read_text())


@pytest.mark.parametrize("args,needle", [
    (["-o", "{t}/x.folded", "--split", "2MB"], b"--split: not an option of folded output"),
    (["-o", "{t}/x.parquet", "--kernel"], b"--kernel: not an option of parquet output"),
    (["-o", "{t}/x.json", "--title", "x"], b"--title: not an option of chrome output"),
    (["-o", "{t}/x.svg", "--colors", "nonsense"], b"--colors: one of auto, hot"),
    (["-o", "{t}/x.svg", "--minwidth", "wide"], b"--minwidth: pixels or a percentage"),
    (["-o", "-", "--to", "chrome", "--split", "1MB"], b"needs an output file name"),
    (["-o", "{t}/x.json", "--split", "lots"], b"not a size"),
])
def test_options_that_do_not_apply_are_refused(tmp_path, args, needle):
    p = run_cli("convert", PERF, *[a.format(t=tmp_path) for a in args])
    assert p.returncode == 2 and needle in p.stderr and b"Traceback" not in p.stderr, p.stderr
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------- report
def _rows(p):
    assert p.returncode == 0, p.stderr
    return [json.loads(x) for x in p.stdout.decode().splitlines()]


def test_report_sort_keys_fields_and_threshold():
    rows = _rows(run_cli("report", UFTRACE, "--json", "--sort", "calls,self"))
    keys = [(-r["calls"], -r["self_ns"]) for r in rows]
    assert keys == sorted(keys) and len(rows) > 5
    assert abs(sum(r["self%"] for r in rows) - 100) < 1e-6
    assert all(0 <= r["self%"] <= r["total%"] + 1e-9 for r in rows)
    p = run_cli("report", UFTRACE, "-F", "calls,self%,function", "--format", "csv")
    got = list(csv.reader(io.StringIO(p.stdout.decode())))
    assert got[0] == ["calls", "self%", "function"] and len(got) == len(rows) + 1
    few = _rows(run_cli("report", UFTRACE, "--json", "--threshold", "5"))
    assert few and all(r["total%"] >= 5 for r in few) and len(few) < len(rows)
    assert _rows(run_cli("report", UFTRACE, "--json", "--percent-limit", "5")) == few
    p = run_cli("report", UFTRACE, "--sort", "nonsense")
    assert p.returncode == 2 and b"total, self, calls, avg, min, max, name" in p.stderr
    p = run_cli("report", UFTRACE, "-F", "bogus")
    assert p.returncode == 2 and b"-F bogus" in p.stderr


def test_report_is_tsv_when_piped_and_a_table_with_units_on_a_terminal():
    p = run_cli("report", UFTRACE)
    head, *body = p.stdout.decode().splitlines()
    assert head.split("\t")[:3] == ["function", "calls", "total_ns"] or "\t" in head
    assert "─" not in p.stdout.decode() and all("\t" in ln for ln in body)
    p = run_cli("report", UFTRACE, "--format", "table")
    text = p.stdout.decode()
    assert re.search(r"\d+\.\d{3} (us|ms|s)\b", text) and "%" in text
    assert not re.search(r"\de\+\d", text)


def test_report_groups_samples_like_perf_report():
    """--sort comm,dso,sym on the perf script text of a recording gives perf report's
    overhead column for the same recording (perf report --stdio, same perf.data)."""
    need_shared()
    d = GENERATED / "perf-cpuloop"
    want = {}
    for ln in (d / "perf-report-stdio.txt").read_text().splitlines():
        m = re.match(r"^\s+([\d.]+)%\s+(\S+)\s+(\S+)\s+\[[.k]\] (\S+)", ln)
        if m:
            want[(m.group(2), m.group(3), m.group(4))] = float(m.group(1))
    assert len(want) >= 5
    rows = _rows(run_cli("report", d / "perf-script.txt", "--sort", "comm,dso,sym", "--json"))
    got = {(r["comm"], r["dso"].rsplit("/", 1)[-1], r["sym"]): r["overhead"] for r in rows}
    assert set(got) == set(want)
    for k, v in want.items():
        assert abs(got[k] - v) < 0.006, (k, got[k], v)
    order = [r["overhead"] for r in rows]
    assert order == sorted(order, reverse=True)


def test_unsymbolized_frames_are_named(tmp_path):
    src = tmp_path / "p.txt"
    src.write_text("prog 10 [000] 1.000000: 1 cycles:\n"
                   "\t    7f1e2215d058  (/lib/x86_64-linux-gnu/libc.so.6)\n"
                   "\t    55d0c1e0 main+0x10 (/usr/bin/prog)\n\n")
    rows = _rows(run_cli("report", src, "--json"))
    assert "" not in {r["function"] for r in rows} and "[unknown]" in {r["function"] for r in rows}


# ---------------------------------------------------------------------- honest output
def test_empty_results_say_so(tmp_path):
    p = run_cli("report", UFTRACE, "--function", "nosuchfn")
    assert p.returncode == 0 and p.stdout == b"" and b"no calls or stack samples" in p.stderr
    p = run_cli("report", UFTRACE, "--function", "nosuchfn", "--json")
    assert p.returncode == 0 and p.stdout == b"" and b"after the filters" in p.stderr
    p = run_cli("report", FOLDED, "--time", "1..2")
    assert p.returncode == 0 and b"without timestamps" in p.stderr
    p = run_cli("info", FOLDED)
    assert b"time span\tno timestamps" in p.stdout
    p = run_cli("convert", UFTRACE, "--function", "nosuchfn", "-o", tmp_path / "x.parquet")
    assert p.returncode == 0 and b"no rows left after the filters" in p.stderr


def test_missing_output_folder_is_one_line(tmp_path):
    p = run_cli("convert", PERF, "-o", tmp_path / "no" / "such" / "x.folded")
    assert p.returncode == 1 and b"Traceback" not in p.stderr and b"internal error" not in p.stderr
    assert b"no such directory: " in p.stderr


def test_summary_line_after_a_conversion_with_progress(tmp_path):
    """With stderr on a terminal (the progress bar shown), one summary line at the end;
    -q silences it."""
    def run(*extra):
        master, slave = pty.openpty()
        env = dict(os.environ, COLUMNS="200")
        p = subprocess.run([sys.executable, "-m", "tracefold", "convert", str(GRAPH), "-o",
                            str(tmp_path / "x.parquet"), *extra], stderr=slave,
                           stdout=subprocess.DEVNULL, cwd=ROOT, env=env, timeout=120)
        os.close(slave)
        out = b""
        try:
            while True:
                chunk = os.read(master, 65536)
                if not chunk:
                    break
                out += chunk
        except OSError:
            pass
        os.close(master)
        return p.returncode, out.decode(errors="replace")
    rc, err = run()
    assert rc == 0 and re.search(r"x\.parquet: [\d,]+ events from [\d,]+ lines, 0 unrecognized, "
                                 r"[\d.]+ \w?B, [\d.]+ s", err), err
    rc, err = run("-q")
    assert rc == 0 and "events from" not in err


def test_version_and_short_help():
    p = run_cli("--version")
    assert p.returncode == 0 and p.stdout.decode().strip() == f"tracefold {tracefold.__version__}"
    p = run_cli("convert", "-h")
    text = " ".join(p.stdout.decode().split())
    assert p.returncode == 0 and "_[k]" in text and "_[j]" in text
    assert ".svg (svg)" in text and "perf-script" in text and "mem" in text
    assert "<bool>" not in text and "--kernel " in text


def test_atrace_markers_become_slices_and_counters(tmp_path):
    """Android atrace markers (B/E slices, C counters, S/F async slices), as Perfetto draws
    them, on the catapult sample of the corpus: every B has its E, every C is a counter."""
    need_shared()
    src = SAMPLES / "ftrace" / "catapult" / "decompressed_atrace_data.txt"
    out = tmp_path / "a.json"
    assert run_cli("convert", src, "-o", out).returncode == 0
    assert run_cli("check", out).returncode == 0
    ev = json.loads(out.read_text())["traceEvents"]
    text = src.read_text()
    n = {k: len(re.findall(rf"tracing_mark_write: {k}(?:\||\s*$)", text, re.M))
         for k in "BECSF"}
    kinds = defaultdict(int)
    for e in ev:
        if e.get("cat") == "atrace":
            kinds[e["ph"]] += 1
    assert kinds["X"] == n["B"] == n["E"] and kinds["C"] == n["C"]
    assert kinds["b"] == n["S"] and kinds["e"] == n["F"]
    counters = [e for e in ev if e["ph"] == "C"]
    assert all(isinstance(v, (int, float)) for e in counters for v in e["args"].values())


def test_bare_pid_tells_tasks_apart_in_every_command(tmp_path):
    rows = _rows(run_cli("report", UFTRACE, "--pid", "--json"))
    assert rows and all(r["thread"] for r in rows)
    assert {r["thread"] for r in rows} == \
        {r["thread"] for r in _rows(run_cli("report", UFTRACE, "--per-thread", "--json"))}
    p = run_cli("graph", UFTRACE, "--tid", "-o", tmp_path / "g.dot")
    assert p.returncode == 0 and "?-17685" in (tmp_path / "g.dot").read_text()
    assert "?-17685" not in run_cli("graph", UFTRACE, "-o", "-").stdout.decode()
    p = run_cli("convert", PERF, "--pid", "--to", "folded", "-o", "-")
    assert p.returncode == 0 and p.stdout.startswith(b"cpuloop_fp-")


def test_parquet_input_is_known_by_its_content(tmp_path):
    pq = tmp_path / "t.parquet"
    assert run_cli("convert", GRAPH, "-o", pq).returncode == 0
    want = tracefold.info(GRAPH)["events"]
    for name in ("T.PARQUET", "no-suffix"):
        other = tmp_path / name
        other.write_bytes(pq.read_bytes())
        d = json.loads(run_cli("info", "--json", other).stdout)
        assert d["format"] == "trace-cmd" and d["events"] == want, name
    p = run_cli("convert", "-", "-o", tmp_path / "x.folded", input=pq.read_bytes())
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "x.folded").read_text() == \
        run_cli("convert", GRAPH, "--to", "folded", "-o", "-").stdout.decode()


def test_a_trace_of_markers_only_reports_nothing_and_says_so():
    p = run_cli("report", GOLDEN / "ftrace" / "trace_marker.txt")
    assert p.returncode == 0 and p.stdout == b"" and b"no calls or stack samples" in p.stderr


def test_internal_errors_are_not_usage_errors():
    """Exit 2 is for what the user asked (UsageError); a ValueError from inside (Arrow,
    numpy) is an internal error, exit 1, with one line and no traceback."""
    import typer
    from tracefold.cli.common import run
    from tracefold.errors import UsageError

    def raises(e):
        def f():
            raise e
        return f
    for err, code in ((UsageError("--x: bad"), 2), (ValueError("arrow says no"), 1)):
        with pytest.raises(typer.Exit) as ex:
            run(raises(err), "in.txt")
        assert ex.value.exit_code == code


def test_diff_and_fs_outputs_go_through_the_writers(tmp_path):
    d = GOLDEN / "uftrace-diff"
    a, b = d / "base-01.txt.gz", d / "x4-1.txt.gz"
    for ext in ("parquet", "jsonl", "tsv", "csv"):
        p = run_cli("diff", a, b, "-o", tmp_path / f"d.{ext}")
        assert p.returncode == 0, (ext, p.stderr)
    import pandas as pd
    t = pd.read_parquet(tmp_path / "d.parquet")
    c = pd.read_csv(tmp_path / "d.csv")
    s = pd.read_csv(tmp_path / "d.tsv", sep="\t")
    j = [json.loads(x) for x in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert list(t.function) == list(c.function) == list(s.function) == [r["function"] for r in j]
    p = run_cli("diff", a, b, "-o", tmp_path / "d.json")
    assert p.returncode == 2 and b".json is chrome" in p.stderr
    src = GOLDEN / "fs" / "vm-ftrace-graph-hello.txt"
    for ext in ("csv", "folded", "svg", "json"):
        p = run_cli("fs", src, "-o", tmp_path / f"f.{ext}")
        assert p.returncode == 0, (ext, p.stderr)
    rows = list(csv.DictReader(open(tmp_path / "f.csv")))
    assert rows and "syscall" in rows[0]
    assert run_cli("check", tmp_path / "f.json").returncode == 0
