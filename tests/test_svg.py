"""SVG flame graphs: structure (one rectangle per frame above the minimum width, widths
proportional to weights, labels on the widest frames), the variants, size bound, and a render
check in headless Chromium (zoom, reset, search, no JavaScript errors)."""
import re
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

import tracefold
from browser import PageLog, browser
from conftest import ROOT, run_cli
from tracefold.writers.svg import PAD_X, WIDTH, render

NS = {"s": "http://www.w3.org/2000/svg"}
GRAPH = ROOT / "samples" / "trace-cmd-graph-hello.txt"
PERF = ROOT / "samples" / "perf-script-cpuloop.txt"
UFTRACE = ROOT / "samples" / "uftrace-threads-replay.txt"


def frames(svg_text):
    root = ET.fromstring(svg_text)
    out = []
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        if g.get("class") != "f":
            continue
        rect = g.find("s:rect", NS)
        text = g.find("s:text", NS)
        out.append({"d": int(g.get("data-d")), "x": float(rect.get("x")),
                    "y": float(rect.get("y")), "w": float(rect.get("width")),
                    "v": int(g.get("data-v")), "name": g.get("data-n"),
                    "label": text.text or "", "fill": rect.get("fill"),
                    "title": g.find("s:title", NS).text})
    return root, out


def folded(src, tmp_path, **o):
    out = tmp_path / "x.folded"
    tracefold.convert(src, out, **o)
    return out.read_text().splitlines()


def prefix_weights(lines):
    w = Counter()
    for ln in lines:
        stack, _, v = ln.rpartition(" ")
        parts = stack.split(";")
        for i in range(1, len(parts) + 1):
            w[tuple(parts[:i])] += int(v)
    return w


@pytest.mark.parametrize("src", [GRAPH, PERF, UFTRACE])
def test_structure_matches_the_folded_stacks(src, tmp_path):
    out = tmp_path / "f.svg"
    tracefold.convert(src, out, minwidth=0.1)
    root, fr = frames(out.read_text())
    lines = folded(src, tmp_path)
    w = prefix_weights(lines)
    total = sum(int(ln.rpartition(" ")[2]) for ln in lines)
    scale = (WIDTH - 2 * PAD_X) / total
    # one rectangle per frame (call path) wide enough; narrow siblings merged
    wide = [p for p, v in w.items() if v * scale >= 0.1]
    real = [f for f in fr if not f["name"].endswith("narrow frames)") and f["d"] > 0]
    assert len(real) == len(wide)
    # widths proportional to weights within a pixel, root = all
    assert fr[0]["name"] == "all" and abs(fr[0]["w"] - (WIDTH - 2 * PAD_X)) < 1
    for f in fr:
        assert abs(f["w"] - f["v"] * scale) < 1.0
    # labels on the widest frames: the name, or a prefix of it ending in ".."
    widest = [f for f in sorted(fr, key=lambda f: -f["w"])[:15] if f["w"] >= 30]
    assert len(widest) >= 3
    for f in widest:
        assert f["label"] and (f["label"] == f["name"] or (f["label"].endswith("..") and
                                                          f["name"].startswith(f["label"][:-2])))
    # tooltips carry name, weight and share
    assert re.search(r"\(\d[\d,]* \w+, \d+\.\d\d%\)", fr[1]["title"])


def test_variants(tmp_path):
    out = tmp_path / "i.svg"
    tracefold.convert(GRAPH, out, inverted=True, title="My icicle")
    text = out.read_text()
    _, fr = frames(text)
    assert "My icicle" in text
    assert min(f["y"] for f in fr if f["d"] == 0) < min(f["y"] for f in fr if f["d"] == 3)
    # flame chart: pieces in time order, nothing merged
    out = tmp_path / "c.svg"
    tracefold.convert(UFTRACE, out, flamechart=True)
    _, fc = frames(out.read_text())
    _, merged = frames(render(folded(UFTRACE, tmp_path)))
    assert len(fc) >= len(merged)
    # kernel / user colours differ (perf: kernel frames orange)
    out = tmp_path / "p.svg"
    tracefold.convert(ROOT.parent / "shared" / "generated" / "vm-perf-io" / "perf-script.txt.gz"
                      if (ROOT.parent / "shared").exists() else PERF, out)
    _, pf = frames(out.read_text())
    kinds = {("kernel" if "[kernel]" in f["title"] else "user") for f in pf}
    if "kernel" in kinds:
        k = [f["fill"] for f in pf if "[kernel]" in f["title"]][0]
        r, g, b = map(int, re.findall(r"\d+", k))
        assert r > 190 and 110 < g < 190 and b < 80      # orange


def test_differential(tmp_path):
    # base: work 100, idle 50; new: work 40, idle 50, new 30
    lines = sorted(f"{k} {x} {y}" for k, x, y in [("main;work", 100, 40), ("main;idle", 50, 50),
                                                  ("main;new", 0, 30)])
    _, fr = frames(render(lines, diff=True, subtitle="base: a → new: b"))
    by = {f["name"]: f for f in fr}
    def rgb(f):
        return tuple(map(int, re.findall(r"\d+", f["fill"])))
    assert rgb(by["work"])[2] > rgb(by["work"])[0]          # shrank: blue
    assert rgb(by["new"])[0] > rgb(by["new"])[2]            # grew: red
    assert rgb(by["idle"]) == (250, 250, 250)               # unchanged
    assert by["work"]["w"] < by["idle"]["w"]                # widths from the new run
    p = run_cli("diff", UFTRACE, UFTRACE, "-o", tmp_path / "d.svg")
    assert p.returncode == 0 and "base: " in (tmp_path / "d.svg").read_text()


def test_size_is_bounded():
    """200,000 distinct stacks: at most width / minwidth frames per row."""
    lines = [f"root;a{i % 50};b{i % 997};c{i} {1 + i % 7}" for i in range(200_000)]
    svg = render(sorted(lines), minwidth=1.0)
    _, fr = frames(svg)
    rows = Counter(f["d"] for f in fr)
    assert max(rows.values()) <= (WIDTH - 2 * PAD_X) / 1.0
    assert len(svg) < 3_000_000
    assert any(f["name"].endswith("narrow frames)") for f in fr)


def test_renders_zooms_and_searches_in_chromium(tmp_path):
    out = tmp_path / "f.svg"
    tracefold.convert(GRAPH, out)
    with browser() as b:
        page = b.new_page(viewport={"width": 1200, "height": 800})
        log = PageLog(page)
        page.goto(out.as_uri())
        shot = page.screenshot()
        assert len(shot) > 10_000
        n = page.evaluate("() => document.querySelectorAll('g.f').length")
        assert n > 100
        # click a frame at depth 1: it fills the width, frames outside it are hidden
        box = page.evaluate("""() => { var g = [...document.querySelectorAll('g.f')]
            .filter(g => g.dataset.d == '1').sort((a, b) => b.dataset.w - a.dataset.w)[0];
            var r = g.querySelector('rect').getBoundingClientRect();
            return {x: r.x + r.width / 2, y: r.y + r.height / 2, name: g.dataset.n}; }""")
        page.mouse.click(box["x"], box["y"])
        zoomed = page.evaluate("""(name) => { var g = [...document.querySelectorAll('g.f')]
            .filter(g => g.dataset.n == name && g.dataset.d == '1')[0];
            return [+g.querySelector('rect').getAttribute('width'),
                    document.querySelectorAll('g.f.hide').length]; }""", box["name"])
        assert abs(zoomed[0] - (WIDTH - 2 * PAD_X)) < 1 and zoomed[1] > 0
        assert page.is_visible("#unzoom")
        page.click("#unzoom")
        assert page.evaluate("() => document.querySelectorAll('g.f.hide').length") == 0
        # search: highlight and matched share
        page.once("dialog", lambda d: d.accept("ext4"))
        page.click("#search")
        assert re.match(r"Matched: \d+\.\d%", page.text_content("#matched"))
        hits = page.evaluate("() => [...document.querySelectorAll('g.f rect')]"
                             ".filter(r => r.getAttribute('fill') == 'rgb(230,0,230)').length")
        assert hits > 0
        page.hover("g.f >> nth=5")
        assert page.text_content("#details").strip()
        assert not log.errors, log.errors
