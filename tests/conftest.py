import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("TRACEFOLD_SHARED", ROOT.parent / "shared"))
SAMPLES = SHARED / "samples"
GENERATED = SHARED / "generated"
GOLDEN = ROOT / "tests" / "golden"


def manifest(kinds=("clean",)):
    """(format, path) of the corpus files (../shared/samples/MANIFEST.tsv) whose kind is one
    of ``kinds``, in the manifest's order; [] when the corpus is absent."""
    index = SAMPLES / "MANIFEST.tsv"
    if not index.exists():
        return []
    out = []
    for line in index.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and not parts[0].startswith("#") and parts[2] in kinds:
            out.append((parts[1], SAMPLES / parts[0]))
    return out


def need_shared():
    if not SAMPLES.is_dir():
        pytest.skip(f"corpus not available: {SAMPLES} is absent (clone ../shared beside the repo)")


@pytest.fixture
def shared():
    need_shared()
    return SHARED


def run_cli(*args, input=None, env=None):
    """Run `python -m tracefold ARGS` and return the CompletedProcess (bytes for stdout)."""
    e = dict(os.environ)
    e.pop("TRACEFOLD_DEBUG", None)
    if env:
        e.update(env)
    return subprocess.run([sys.executable, "-m", "tracefold", *map(str, args)], input=input,
                          capture_output=True, cwd=ROOT, env=e, timeout=300)
