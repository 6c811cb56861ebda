"""ruff (pyflakes, pycodestyle, bugbear, mccabe: no function above complexity 15) over the
package, the tests and the benchmarks, with the settings in pyproject.toml."""
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT


def test_ruff_is_clean():
    ruff = shutil.which("ruff")
    cmd = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    try:
        p = subprocess.run([*cmd, "check", "tracefold", "tests", "bench"], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    except FileNotFoundError:
        pytest.skip("ruff is not installed (pip install '.[test]')")
    if p.returncode != 0 and "No module named ruff" in p.stderr:
        pytest.skip("ruff is not installed (pip install '.[test]')")
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-1000:]
