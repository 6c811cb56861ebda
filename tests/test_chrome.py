"""Chrome trace JSON: valid and strictly nested for every corpus trace (checked with
`tracefold check`), exact µs times, one track per task and per idle CPU, instants with their
fields, repairs counted, --split, and the Parquet round trip."""
import json
from collections import defaultdict

import pytest

import tracefold
from conftest import ROOT, SAMPLES, need_shared, run_cli
from tracefold.writers.chrome_check import check_events, check_file

KINDS = ("ftrace", "trace-cmd", "uftrace", "perf-script")


def _manifest():
    p = SAMPLES / "MANIFEST.tsv"
    if not p.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"corpus not available: {p}"))]
    out = []
    for ln in p.read_text().splitlines()[1:]:
        parts = ln.split("\t")
        if len(parts) >= 3 and parts[1] in KINDS:
            out.append(parts[0])
    return out


def chrome(src, tmp_path, **opts):
    out = tmp_path / "t.json"
    info = tracefold.convert(src, out, **opts)
    return json.loads(out.read_text()), info, out


def test_every_corpus_trace_gives_valid_nested_chrome_json(tmp_path):
    """All corpus traces the readers accept: the validator finds no problem."""
    need_shared()
    from tracefold.source import InputError
    checked = 0
    for rel in _manifest():
        out = tmp_path / "c.json"
        try:
            tracefold.convert(SAMPLES / rel, out, to="chrome")
        except InputError:
            continue                     # malformed inputs the readers reject by design
        r = check_file(out)
        assert r["ok"], (rel, r["problems"][:3])
        checked += 1
    assert checked > 400


def test_validator_rejects_broken_files(tmp_path):
    good = {"ph": "X", "name": "a", "ts": 0, "dur": 10, "pid": 1, "tid": 1}
    assert check_events([good])["ok"]
    cases = {
        "overlap": [good, dict(good, name="b", ts=5, dur=10)],
        "negative": [dict(good, dur=-1)],
        "missing key": [{"ph": "X", "name": "a", "ts": 0, "pid": 1, "tid": 1}],
        "unmatched E": [{"ph": "E", "ts": 1, "pid": 1, "tid": 1}],
        "open B": [{"ph": "B", "name": "a", "ts": 1, "pid": 1, "tid": 1}],
        "bad ts": [dict(good, ts="x")],
        "unknown phase": [dict(good, ph="Q")],
    }
    for what, ev in cases.items():
        assert not check_events(ev)["ok"], what
    # nested and disjoint slices, B/E pairs, other tracks: fine
    ok = [good, dict(good, ts=2, dur=3), dict(good, ts=10, dur=0), dict(good, ts=10, dur=5),
          dict(good, tid=2, ts=5, dur=10), {"ph": "B", "name": "x", "ts": 1, "pid": 1, "tid": 3},
          {"ph": "E", "ts": 2, "pid": 1, "tid": 3}]
    assert check_events(ok)["ok"]
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({"traceEvents": cases["overlap"]}))
    r = run_cli("check", p)
    assert r.returncode == 1 and b"overlaps" in r.stderr and b"Traceback" not in r.stderr
    p.write_text("{not json")
    r = run_cli("check", p)
    assert r.returncode == 1 and b"not readable" in r.stderr


def _us_to_ns(v):
    ip, _, fp = str(v).partition(".")
    assert len(fp) <= 3
    return int(ip) * 1000 + int((fp + "000")[:3])


def test_times_are_exact_and_rebased(tmp_path):
    src = ROOT / "samples" / "uftrace-threads-replay.txt"
    d, _, out = chrome(src, tmp_path)
    text = out.read_text()
    t = tracefold.read(src)
    calls = t[t.kind == "call"]
    t0 = int(t.ts_ns.min())
    xs = [e for e in d["traceEvents"] if e["ph"] == "X"]
    assert len(xs) == len(calls)
    by_line = {e["line"]: e for e in xs}
    for r in calls.itertuples():
        e = by_line[r.line]
        assert _us_to_ns(repr(e["ts"]) if not isinstance(e["ts"], str) else e["ts"]) == r.ts_ns - t0
        assert round(e["dur"] * 1000) == r.dur_ns
    assert '"ts":0.000' in text                      # three decimals, printed exactly
    d2, _, _ = chrome(src, tmp_path, absolute_ts=True)
    first = min(e["ts"] for e in d2["traceEvents"] if e["ph"] == "X")
    assert round(first * 1000) == t0
    assert d["otherData"]["tracefold"]["time_origin_ns"] == t0


def test_tracks_metadata_and_idle_per_cpu(tmp_path):
    need_shared()
    src = next(p for p in sorted(SAMPLES.glob("ftrace/**/*.txt")) if "<idle>-0" in p.read_text(
        errors="replace") and "[00" in p.read_text(errors="replace"))
    d, _, _ = chrome(src, tmp_path)
    ev = d["traceEvents"]
    idle_tracks = {(e["pid"], e["tid"]) for e in ev if e["ph"] == "M" and
                   e["name"] == "thread_name" and e["args"]["name"].startswith("<idle>/")}
    t = tracefold.read(src)
    cpus = set(t[t.tid == 0].cpu.dropna())
    assert len(idle_tracks) == len(cpus) >= 1
    tracks = {(e["pid"], e["tid"]) for e in ev if e["ph"] != "M"}
    named = {(e["pid"], e["tid"]) for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
    assert tracks <= named
    procs = {e["pid"] for e in ev if e["ph"] == "M" and e["name"] == "process_name"}
    assert {p for p, _ in tracks} <= procs


def test_instants_carry_fields_and_uftrace_args(tmp_path):
    need_shared()
    src = next(p for p in sorted(SAMPLES.glob("ftrace/**/*.txt"))
               if "sched_switch: prev_comm=" in p.read_text(errors="replace"))
    d, _, _ = chrome(src, tmp_path)
    sw = [e for e in d["traceEvents"] if e["ph"] == "i" and e["name"] == "sched_switch"]
    assert sw and all("prev_comm" in e["args"] and e["s"] == "t" for e in sw)
    src = next(p for p in sorted(SAMPLES.glob("uftrace/**/*.txt"))
               if ") = " in p.read_text(errors="replace") and "(" in p.read_text(errors="replace"))
    d, _, _ = chrome(src, tmp_path)
    assert any("retval" in e.get("args", {}) for e in d["traceEvents"] if e["ph"] == "X")


def test_samples_become_a_nested_flame_chart(tmp_path):
    src = ROOT / "samples" / "perf-script-cpuloop.txt"
    d, _, out = chrome(src, tmp_path)
    assert check_file(out)["ok"]
    xs = [e for e in d["traceEvents"] if e["ph"] == "X"]
    assert xs and all(e["cat"] == "sample" for e in xs)
    t = tracefold.read(src)
    from tracefold.writers.chrome import _frame_name
    leaves = {_frame_name(s[-1], d[-1]) for s, d in zip(t["stack"], t["stack_dso"])
              if s is not None and len(s)}
    assert leaves <= {e["name"] for e in xs}


def test_repairs_are_counted_and_unclosed_calls_closed(tmp_path):
    need_shared()
    src = SAMPLES / "ftrace/extracted/ftrace-rst-function-graph-abstime.txt"
    d, info, out = chrome(src, tmp_path)
    assert check_file(out)["ok"]
    rep = d["otherData"]["tracefold"]["repairs"]
    assert rep.get("unclosed calls closed at the last event of their track", 0) == 4
    assert info["notes"] == rep
    t = tracefold.read(src)
    assert len([e for e in d["traceEvents"] if e.get("cat") == "call"]) == (t.kind == "call").sum()


def test_synthetic_timeline_without_timestamps(tmp_path):
    need_shared()
    src = SAMPLES / "ftrace/extracted/ftrace-rst-function-graph.txt"
    d, info, out = chrome(src, tmp_path)
    assert check_file(out)["ok"]
    assert any("synthetic timeline" in k for k in info["notes"])
    t = tracefold.read(src)
    closed = t[(t.kind == "call") & t.dur_ns.notna()]
    xs = {e["line"]: e for e in d["traceEvents"] if e.get("cat") == "call"}
    assert all(round(xs[r.line].get("dur", 0) * 1000) == r.dur_ns for r in closed.itertuples()
               if r.status != "no_entry")


def test_split_reopens_open_calls(tmp_path):
    src = ROOT / "samples" / "ftrace-graph-hello.txt"
    out = tmp_path / "s.json"
    tracefold.convert(src, out, split="60KB")
    index = json.loads(out.read_text())
    parts = [tmp_path / p for p in index["parts"]]
    assert len(parts) > 3 and all(p.exists() for p in parts)
    assert check_file(out)["ok"]
    whole = tmp_path / "w.json"
    tracefold.convert(src, whole)
    full = [e for e in json.loads(whole.read_text())["traceEvents"] if e.get("cat") == "call"]
    got = []
    for p in parts:
        assert p.stat().st_size < 60 * 1024 * 2
        ev = json.loads(p.read_text())["traceEvents"]
        got += [e for e in ev if e.get("cat") == "call" and not e.get("args", {}).get("continued")]
    # every call once (calls cut at a boundary: their first piece), same starts
    assert sorted(e["line"] for e in got) == sorted(e["line"] for e in full)
    starts = {e["line"]: e["ts"] for e in full}
    assert all(e["ts"] == starts[e["line"]] for e in got)
    assert not list(tmp_path.glob(".tracefold-*"))


def test_parquet_round_trip_same_bytes(tmp_path):
    """convert IN -o x.parquet; convert x.parquet -o y.EXT == convert IN -o y.EXT, byte for
    byte, for every export."""
    for src in (ROOT / "samples" / "uftrace-threads-replay.txt",
                ROOT / "samples" / "trace-cmd-graph-hello.txt",
                ROOT / "samples" / "perf-script-cpuloop.txt",
                ROOT / "samples" / "ftrace-function-stack.txt"):
        pq = tmp_path / "x.parquet"
        tracefold.convert(src, pq)
        for ext in ("json", "folded", "graphml", "dot"):
            a, b = tmp_path / f"a.{ext}", tmp_path / f"b.{ext}"
            tracefold.convert(src, a)
            tracefold.convert(pq, b)
            assert a.read_bytes() == b.read_bytes(), (src.name, ext)
            assert a.stat().st_size > 0


def test_vectorized_track_keys_agree_with_track_of():
    from tracefold.writers.chrome import track_keys, track_of
    srcs = [ROOT / "samples" / n for n in ("ftrace-graph-hello.txt", "uftrace-threads-replay.txt",
                                           "perf-script-cpuloop.txt", "ftrace-function-stack.txt")]
    if SAMPLES.is_dir():
        srcs += [SAMPLES / "ftrace/extracted/ftrace-rst-function-graph.txt",
                 SAMPLES / "ftrace/extracted/ftrace-rst-function-graph-proc.txt"]
    for src in srcs:
        t = tracefold.read_arrow(src)
        p, tt = track_keys(t)
        want = [track_of(a, b, c, d)[:2] for a, b, c, d in
                zip(*(t.column(x).to_pylist() for x in ("pid", "tid", "cpu", "comm")))]
        assert list(zip(p.to_pylist(), tt.to_pylist())) == want, src.name


def _shifted_hello(tmp_path, seconds):
    import re
    src = (ROOT / "samples" / "ftrace-graph-hello.txt").read_text()
    shifted = re.sub(r"^(\s*)(\d+)\.(\d{6})(?= \|)",
                     lambda m: f"{m.group(1)}{int(m.group(2)) + seconds}.{m.group(3)}",
                     src, flags=re.M)
    assert shifted != src
    inp = tmp_path / f"shifted-{seconds}.txt"
    inp.write_text(shifted)
    return inp


def _nested_as_doubles(events):
    """Problems a viewer that reads every number as a double would see: per track, a call
    that starts before its enclosing call or ends after it (no tolerance)."""
    bad = []
    tracks = defaultdict(list)
    for e in events:
        if e.get("ph") == "X":
            tracks[(e["pid"], e["tid"])].append((float(e["ts"]), float(e["dur"])))
    for evs in tracks.values():
        evs.sort(key=lambda x: (x[0], -x[1]))
        stack = []
        for ts, dur in evs:
            end = ts + dur
            while stack and stack[-1] <= ts:
                stack.pop()
            if stack and end > stack[-1]:
                bad.append((ts, end, stack[-1]))
            stack.append(end)
    return bad


@pytest.mark.parametrize("seconds", [20_000_000, 1_764_500_000])
def test_large_absolute_times_nest_exactly_as_doubles(tmp_path, seconds):
    """20,000,000 s of uptime, or a wall clock: µs with 3 decimals have 17-19 significant
    digits, more than a double holds. The checker reads them as decimals (a double-reading one
    saw a 1 ns overlap in tracefold's own output), and the writer puts such times on a binary
    grid doubles hold exactly, so that a viewer reading doubles sees the nesting written."""
    from decimal import Decimal
    from tracefold.writers.chrome_check import check_file
    inp = _shifted_hello(tmp_path, seconds)
    out = tmp_path / "t.json"
    tracefold.convert(inp, out, absolute_ts=True)
    assert check_file(out)["ok"]
    doc = json.loads(out.read_text())
    assert not _nested_as_doubles(doc["traceEvents"])
    raw = json.loads(out.read_text(), parse_float=Decimal)["traceEvents"]
    xs = [e for e in raw if e.get("ph") == "X"]
    assert xs
    for e in xs:                    # every written number is exactly a double
        for k in ("ts", "dur"):
            assert Decimal(float(e[k])) == Decimal(e[k]), e
    # and within one grid step of the exact time (the rebased output holds the exact µs)
    rebased = tmp_path / "r.json"
    tracefold.convert(inp, rebased)
    exact = [e for e in json.loads(rebased.read_text(), parse_float=Decimal)["traceEvents"]
             if e.get("ph") == "X"]
    assert len(exact) == len(xs)
    first = min(Decimal(e["ts"]) for e in xs)
    step = Decimal(2) ** ((int(first).bit_length() + 1) - 53)
    assert step <= Decimal("0.5")           # 0.5 µs on a wall clock, ~4 ns at 20,000,000 s
    base = first - min(Decimal(e["ts"]) for e in exact)
    for a, b in zip(sorted((Decimal(e["ts"]), Decimal(e["dur"])) for e in xs),
                    sorted((Decimal(e["ts"]), Decimal(e["dur"])) for e in exact)):
        assert abs(a[0] - (b[0] + base)) <= step
        assert abs(a[1] - b[1]) <= step


def test_small_absolute_times_stay_exact_ns(tmp_path):
    """Below 2^40 µs the times are written exactly in ns, as always."""
    inp = _shifted_hello(tmp_path, 100_000)
    out = tmp_path / "t.json"
    tracefold.convert(inp, out, absolute_ts=True)
    text = out.read_text()
    assert '"ts":100052359447.000' in text or '"ts":100052359447' in text.replace(".000", "")
    assert not _nested_as_doubles(json.loads(text)["traceEvents"])


def test_sample_gap_median_is_numpys_and_bounded():
    """The flame chart's per-track cap is the median gap between samples, kept as counts per
    gap value (memory by distinct gaps, not by samples): the same value np.median gives."""
    import random
    from collections import Counter
    import numpy as np
    from tracefold.writers.chrome import _median, _round3
    rng = random.Random(5)
    for _ in range(500):
        xs = [rng.choice([1, 2, 200040, 400080, 7]) if rng.random() < .7 else
              rng.randint(1, 10**9) for _ in range(rng.randint(1, 60))]
        assert _median(Counter(xs)) == int(np.median(xs))
    assert len({_round3(v) for v in range(10**6, 10**7, 7)}) <= 901
