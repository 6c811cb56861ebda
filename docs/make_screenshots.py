#!/usr/bin/env python3
"""Make the README's pictures from shipped samples (needs chromium and playwright, and
`npm ci` in tests/viewer for the speedscope one):

    python docs/make_screenshots.py

* docs/img/flamegraph.png — `tracefold convert samples/trace-cmd-graph-hello.txt -o flame.svg`
  (openat / write / close of a small program through VFS, ext4, the page cache) in Chromium;
* docs/img/speedscope.png — `tracefold convert samples/uftrace-threads-replay.txt -o t.json`
  opened in speedscope (one of the four threads, time order);
* docs/img/fs-layers.png — `tracefold fs tests/golden/fs/vm-ftrace-graph-hello.txt -o fs.svg`.
"""
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import tracefold  # noqa: E402
from browser import browser  # noqa: E402

OUT = ROOT / "docs" / "img"


def main():
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as d, browser() as b:
        d = Path(d)
        svg = d / "flame.svg"
        tracefold.convert(ROOT / "samples" / "trace-cmd-graph-hello.txt", svg,
                          title="trace-cmd function_graph: openat, read, write, close")
        page = b.new_page(viewport={"width": 1200, "height": 500})
        page.goto(svg.as_uri())
        page.screenshot(path=str(OUT / "flamegraph.png"), full_page=False)
        from tracefold.analysis.fs import FsAnalyzer  # noqa: F401
        import subprocess
        fs = d / "fs.svg"
        subprocess.run([sys.executable, "-m", "tracefold", "fs",
                        str(ROOT / "tests/golden/fs/vm-ftrace-graph-hello.txt"), "-o", str(fs)],
                       check=True, cwd=ROOT)
        page.set_viewport_size({"width": 1200, "height": 300})
        page.goto(fs.as_uri())
        page.screenshot(path=str(OUT / "fs-layers.png"))
        speedscope = ROOT / "tests/viewer/node_modules/speedscope/dist/release/index.html"
        if speedscope.exists():
            js = d / "threads.json"
            tracefold.convert(ROOT / "samples" / "uftrace-threads-replay.txt", js)
            page = b.new_page(viewport={"width": 1200, "height": 500})
            page.goto(speedscope.as_uri())
            page.set_input_files("input[type=file]", str(js))
            page.wait_for_selector("text=Export")
            page.wait_for_timeout(500)
            page.screenshot(path=str(OUT / "speedscope.png"))
    for p in sorted(OUT.glob("*.png")):
        print(p.relative_to(ROOT), p.stat().st_size)


if __name__ == "__main__":
    main()
