"""End to end in a real viewer: speedscope (npm package, its built web app) in headless
Chromium opens tracefold's Chrome JSON and folded stacks through its file picker; what it
shows and exports must be what tracefold wrote, without warnings; a broken file is rejected
by the viewer and by `tracefold check`."""
import json
from collections import Counter
from pathlib import Path

import pytest

import tracefold
from browser import PageLog, browser
from conftest import ROOT, run_cli
from tracefold.writers.chrome_check import check_file

SPEEDSCOPE = ROOT / "tests" / "viewer" / "node_modules" / "speedscope" / "dist" / "release" / \
    "index.html"
BAD_WORDS = ("Tried to end", "still open at end of profile", "Something went wrong")


@pytest.fixture(scope="module")
def viewer():
    if not SPEEDSCOPE.exists():
        pytest.skip(f"speedscope is not installed: run `npm ci` in tests/viewer ({SPEEDSCOPE})")
    with browser() as b:
        yield b


def open_in_speedscope(b, path, tmp_path, timeout_ms=120_000):
    """Load a file through speedscope's file picker, export it back; returns (exported
    speedscope JSON or None, page text, warnings, dialogs). The wait is long: on a loaded
    machine Chromium can take many seconds, and a file that loads waits only as long as it
    takes; a file the viewer rejects waits the whole time, so that test passes a short one."""
    ctx = b.new_context(accept_downloads=True, viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(timeout_ms)
    page = ctx.new_page()
    log = PageLog(page)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(SPEEDSCOPE.as_uri())
    page.set_input_files("input[type=file]", str(path))
    exported = None
    try:
        page.wait_for_selector("text=Export", timeout=timeout_ms)
        with page.expect_download(timeout=timeout_ms) as dl:
            page.click("text=Export")
        exported = json.loads(Path(dl.value.path()).read_text())
    except Exception:
        pass
    text = page.inner_text("body")
    ctx.close()
    return exported, text, log.warnings() + log.errors, dialogs


def assert_clean(text, warnings, dialogs):
    assert not dialogs, dialogs
    for w in BAD_WORDS:
        assert w not in text
        assert not any(w in x for x in warnings), warnings
    assert not [x for x in warnings if "rror" in x], warnings


def _viewer_slices(ev):
    """Slices per track as speedscope shows them: it joins a slice with the sibling of the same
    name that ends exactly where it starts (one frame entered again at the same instant)."""
    by = {}
    for e in ev:
        if e["ph"] == "X":
            s = round(e["ts"] * 1000)
            by.setdefault((e["pid"], e["tid"]), []).append(
                (s, s + round(e["dur"] * 1000), e["name"]))
    out = Counter()
    for key, sl in by.items():
        sl.sort(key=lambda x: (x[0], -x[1]))
        stack, last_at_depth = [], {}
        for start, end, name in sl:
            while stack and stack[-1] <= start:
                stack.pop()
                last_at_depth = {d: v for d, v in last_at_depth.items() if d <= len(stack)}
            d = len(stack)
            prev = last_at_depth.get(d)
            if not (prev and prev[1] == start and prev[2] == name):
                out[key] += 1
            last_at_depth[d] = (start, end, name)
            stack.append(end)
    return out


def tracks(chrome_json):
    ev = json.loads(Path(chrome_json).read_text())["traceEvents"]
    xs = _viewer_slices(ev)
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in ev
             if e["ph"] == "M" and e["name"] == "thread_name"}
    # speedscope names a frame "name {args}" when the event has args
    return xs, names, {e["name"] + (" " + json.dumps(e["args"], separators=(",", ":"))
                                    if e.get("args") else "") for e in ev if e["ph"] == "X"}


@pytest.mark.parametrize("src", [
    pytest.param(ROOT / "samples" / "uftrace-threads-replay.txt", id="uftrace-threads"),
    pytest.param(ROOT / "samples" / "ftrace-graph-hello.txt", id="function_graph"),
    pytest.param(ROOT / "samples" / "trace-cmd-graph-hello.txt", id="trace-cmd"),
    pytest.param(ROOT / "samples" / "perf-script-cpuloop.txt", id="perf-flamechart"),
])
def test_chrome_json_in_speedscope(viewer, src, tmp_path):
    out = tmp_path / "t.json"
    tracefold.convert(src, out)
    assert check_file(out)["ok"]
    xs, names, frame_names = tracks(out)
    exported, text, warnings, dialogs = open_in_speedscope(viewer, out, tmp_path)
    assert_clean(text, warnings, dialogs)
    assert exported is not None, text[:300]
    profiles = exported["profiles"]
    # one profile per thread track, with every slice opened and closed once
    assert len(profiles) == len(xs)
    if len(xs) > 1:
        assert f"(1/{len(xs)})" in text
    got = sorted(sum(1 for e in p["events"] if e["type"] == "O") for p in profiles)
    assert got == sorted(xs.values())
    assert all(sum(1 for e in p["events"] if e["type"] == "C") ==
               sum(1 for e in p["events"] if e["type"] == "O") for p in profiles)
    frames = {f["name"] for f in exported["shared"]["frames"]}
    assert frames == frame_names


def test_folded_stacks_in_speedscope(viewer, tmp_path):
    src = ROOT / "samples" / "perf-script-cpuloop.txt"
    out = tmp_path / "p.folded"
    tracefold.convert(src, out, keep_last=True)
    lines = out.read_text().splitlines()
    exported, text, warnings, dialogs = open_in_speedscope(viewer, out, tmp_path)
    assert_clean(text, warnings, dialogs)
    (prof,) = exported["profiles"]
    total = sum(int(ln.rpartition(" ")[2]) for ln in lines)
    if prof["type"] == "sampled":
        assert sum(prof["weights"]) == total
    else:   # speedscope exports imported stacks side by side: the span is the total weight
        assert prof["endValue"] - prof["startValue"] == total
        roots = {ln.split(";")[0] for ln in lines}
        depth0 = [e for e in prof["events"] if e["type"] == "O"]
        assert len(depth0) >= len(roots)
    frames = {f["name"] for f in exported["shared"]["frames"]}
    assert frames == {f for ln in lines for f in ln.rpartition(" ")[0].split(";")}


def test_broken_file_rejected_by_viewer_and_check(viewer, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"traceEvents": [
        {"ph": "X", "name": "a", "ts": 0, "dur": 10, "pid": 1, "tid": 1},
        {"ph": "X", "name": "b", "ts": 5, "dur": 10, "pid": 1, "tid": 1}]}))
    exported, text, warnings, dialogs = open_in_speedscope(viewer, bad, tmp_path, 15_000)
    assert any("Tried to end" in w or "still open" in w for w in warnings), warnings
    p = run_cli("check", bad)
    assert p.returncode == 1 and b"overlaps" in p.stderr
