"""Every shell example of the README runs as written (from a fresh clone: shipped samples
only), each command exiting 0 without a traceback; the Python example too."""
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(sh|python)\n(.*?)```", README, re.S)


def _commands(block):
    """Shell lines of a block (comments dropped, ``\\``-continued lines joined)."""
    out, cur = [], ""
    for ln in block.splitlines():
        ln = re.sub(r"\s+#.*$", "", ln) if not ln.lstrip().startswith("#") else ""
        cur += ln
        if cur.endswith("\\"):
            cur = cur[:-1] + " "
            continue
        if cur.strip():
            out.append(cur.strip())
        cur = ""
    return out


@pytest.mark.parametrize("k", range(1, len(BLOCKS)))
def test_readme_examples_run(tmp_path, k):
    """Block ``k`` (the first one is install + tests) in a scratch folder that has the
    repository's shipped files; `tracefold` is this checkout's command line."""
    kind, block = BLOCKS[k]
    for name in ("samples", "tests", "docs"):
        os.symlink(ROOT / name, tmp_path / name)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("TRACEFOLD_DEBUG", None)
    if kind == "python":
        p = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, env=env,
                           capture_output=True, timeout=300)
        assert p.returncode == 0, p.stderr.decode()
        return
    prelude = f'set -e; tracefold() {{ "{sys.executable}" -m tracefold "$@"; }}\n'
    script = prelude + "".join(f"{c} >/dev/null\n" for c in _commands(block))
    p = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                       timeout=600)
    assert p.returncode == 0 and b"Traceback" not in p.stderr, (script, p.stderr.decode())
