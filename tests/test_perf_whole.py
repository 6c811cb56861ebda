"""perf folding on a whole real recording (tests/golden/perf-mixed: perf record -a -g of five
programs at once), byte for byte against stackcollapse-perf.pl's own output for several
option sets — including the lines the script reads in its own way (JIT frames in a deleted
memfd, a sample with pid -1) — and the better reading behind --no-perl-quirks."""
import gzip
import shutil
import subprocess

import pytest

import tracefold
from conftest import ROOT, SHARED, run_cli

GOLD = ROOT / "tests" / "golden" / "perf-mixed"
SCRIPT = GOLD / "perf-script-mixed.txt.gz"
OPTIONS = {"default": [], "all": ["--all"], "tid": ["--tid"], "addrs": ["--addrs"],
           "pid-kernel": ["--pid", "--kernel"], "jit": ["--jit"]}


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_identical_to_stackcollapse_perf(name, tmp_path):
    want = gzip.decompress((GOLD / f"expected-{name}.folded.gz").read_bytes())
    out = tmp_path / "x.folded"
    p = run_cli("convert", SCRIPT, "--to", "folded", *OPTIONS[name], "-o", out)
    assert p.returncode == 0, p.stderr
    got = out.read_bytes()
    assert got.count(b"\n") == want.count(b"\n")
    assert got == want


def test_live_perl_agrees_on_more_option_sets(tmp_path):
    """With perl here, the unmodified script itself on option sets not stored as goldens."""
    script = SHARED / "peers" / "stackcollapse-perf.pl"
    if not (shutil.which("perl") and script.exists()):
        pytest.skip("perl and ../shared/peers/stackcollapse-perf.pl are needed")
    txt = tmp_path / "s.txt"
    txt.write_bytes(gzip.decompress(SCRIPT.read_bytes()))
    for opts in (["--all", "--tid"], ["--addrs", "--kernel"], ["--pid", "--jit"]):
        want = subprocess.run(["perl", str(script), *opts, str(txt)], capture_output=True,
                              check=True).stdout
        out = tmp_path / "x.folded"
        p = run_cli("convert", txt, "--to", "folded", *opts, "-o", out)
        assert p.returncode == 0, p.stderr
        assert out.read_bytes() == want, opts


def test_no_perl_quirks_reads_those_lines_right(tmp_path):
    out = tmp_path / "x.folded"
    p = run_cli("convert", SCRIPT, "--to", "folded", "--no-perl-quirks", "-o", out)
    assert p.returncode == 0, p.stderr
    got = out.read_text().splitlines()
    want = gzip.decompress((GOLD / "expected-default.folded.gz").read_bytes()).decode()
    want = want.splitlines()
    # the pid -1 sample: its comm as the root, not the header text up to the period
    assert [x for x in want if x.startswith(":-1____-1_[001]")]
    assert [x for x in got if x.startswith(":-1;entry_SYSCALL_64")]
    assert not [x for x in got if x.startswith(":-1_")]
    # frames in a deleted memfd: the object's name, as for any frame without a symbol
    assert any("[unknown] ;" in x for x in want)
    memfd = [x for x in got if x.startswith("memfd:sealed-91;")]
    assert memfd and all("[unknown] " not in x for x in memfd)
    assert all(x.split(";")[1] == "[memfd:sealed-91173221a7ea]" for x in memfd)
    # everything else is the same, and no weight is lost
    def rest(lines):
        return sorted(x for x in lines if not x.startswith((":-1", "memfd:")))
    assert rest(got) == rest(want)
    def total(lines):
        return sum(int(x.rsplit(" ", 1)[1]) for x in lines)
    assert total(got) == total(want)


def test_every_command_folds_alike():
    """`diff`'s folded stacks and `convert -o x.folded` of the same input are one code path:
    the same weights (a last sample without its blank line is dropped by both)."""
    from tracefold.analysis.diff import diff_folded
    from tracefold.api import profile
    raw = gzip.decompress(SCRIPT.read_bytes()).rstrip(b"\n")     # no final blank line
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        src = f"{d}/s.txt"
        open(src, "wb").write(raw)
        out = f"{d}/x.folded"
        tracefold.convert(src, out)
        conv = {ln.rsplit(" ", 1)[0]: int(ln.rsplit(" ", 1)[1])
                for ln in open(out).read().splitlines()}
        p = profile(src)
        assert p.folded == conv
        lines = diff_folded([p], [p])
        assert {ln.rsplit(" ", 2)[0]: int(ln.rsplit(" ", 2)[2]) for ln in lines} == conv
        # `report` counts samples, not folded lines: the last one too (it is whole here)
        rep = tracefold.report(src)
        assert rep.self_weight.sum() == sum(conv.values()) + 200040
