"""Headless Chromium for the viewer tests: Debian's /usr/bin/chromium driven by Playwright
(never a downloaded browser). Tests skip with the reason when either is missing."""
import shutil
from contextlib import contextmanager

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def need_browser():
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install '.[test]')")
    if not shutil.which("chromium"):
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")


@contextmanager
def browser():
    need_browser()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


class PageLog:
    """Console messages, page errors and dialogs of a page."""

    def __init__(self, page):
        self.messages = []
        self.errors = []
        self.dialogs = []
        page.on("console", lambda m: self.messages.append((m.type, m.text)))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def warnings(self):
        return [t for k, t in self.messages if k in ("warning", "error") and
                "GL Driver Message" not in t and "WebGL" not in t]
