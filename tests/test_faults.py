"""Never lose the user's data: an output is committed only when everything succeeded and was
flushed; otherwise the destination is exactly as before (the old file, or nothing) and no
temporary is left. Faults: a writer failing in its final step, a full disk, SIGINT / SIGTERM
at several points of a conversion, output = input, temporaries of killed runs."""
import gzip
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

import tracefold
from conftest import GOLDEN, ROOT, run_cli
from tracefold.writers.atomic import OutputError

SMALL = ROOT / "samples" / "ftrace-graph-hello.txt"
EXTS = [".parquet", ".folded", ".json", ".svg", ".graphml", ".dot"]


def parts(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".tracefold-"))


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A real perf recording (tests/golden/perf-mixed, 3.6 MB of text): a conversion that
    takes a second or more, long enough to be interrupted in its middle."""
    d = tmp_path_factory.mktemp("big")
    p = d / "perf.txt"
    p.write_bytes(gzip.decompress((GOLDEN / "perf-mixed" / "perf-script-mixed.txt.gz")
                                  .read_bytes()))
    return p


@pytest.mark.parametrize("ext", EXTS)
def test_writer_failing_in_its_final_step_commits_nothing(ext, tmp_path, monkeypatch):
    from tracefold import writers
    out = tmp_path / f"out{ext}"
    out.write_text("the user's old file\n")
    W = writers.get_writer(writers.format_for(str(out)))

    def broken_end(self):
        with open(self.tmp, "w") as f:
            f.write("half of it")
        raise RuntimeError("disk controller on fire")
    monkeypatch.setattr(W, "end", broken_end)
    with pytest.raises(RuntimeError):
        tracefold.convert(SMALL, out)
    assert out.read_text() == "the user's old file\n"
    assert parts(tmp_path) == []


def test_split_parts_are_committed_together_or_not_at_all(tmp_path, monkeypatch):
    from tracefold.writers.chrome import ChromeWriter
    out = tmp_path / "t.json"
    orig = ChromeWriter._close_file
    calls = []

    def fail_on_second(self, last=False):
        calls.append(last)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return orig(self, last)
    monkeypatch.setattr(ChromeWriter, "_close_file", fail_on_second)
    with pytest.raises(OutputError):
        tracefold.convert(ROOT / "samples" / "uftrace-threads-replay.txt", out, split="2KB")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    monkeypatch.setattr(ChromeWriter, "_close_file", orig)
    tracefold.convert(ROOT / "samples" / "uftrace-threads-replay.txt", out, split="2KB")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "t.json" in names and "t.001.json" in names and len(names) > 3


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"),
                    reason="mounting a small tmpfs needs root")
def test_full_disk_keeps_the_old_file(tmp_path, big):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        for ext in (".json", ".parquet", ".folded", ".svg"):
            out = mnt / f"out{ext}"
            out.write_text("old\n")
            p = run_cli("convert", big, "-o", out)
            assert p.returncode == 1, (ext, p.stderr)
            err = p.stderr.decode()
            assert err.count("\n") == 1 and str(out) in err and "No space left" in err, err
            assert "Traceback" not in err and ".part" not in err
            assert out.read_text() == "old\n"
            assert parts(mnt) == []
    finally:
        subprocess.run(["umount", str(mnt)])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("ext", [".json", ".parquet", ".folded", ".svg", ".graphml"])
def test_signals_leave_the_old_file_or_the_whole_new_one(sig, ext, tmp_path, big):
    """The signal comes at several points: before reading, during, near the final write and
    after it. Whenever it lands, the target is the old file or the complete new one."""
    ref = tmp_path / f"ref{ext}"
    assert run_cli("convert", big, "-o", ref).returncode == 0
    want = ref.read_bytes()
    env = dict(os.environ)
    env.pop("TRACEFOLD_DEBUG", None)
    outcomes = set()
    for delay in (0.0, 0.3, 1.0, 2.5):
        out = tmp_path / f"out{ext}"
        out.write_bytes(b"old\n")
        p = subprocess.Popen([sys.executable, "-m", "tracefold", "convert", str(big), "-o",
                              str(out)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, preexec_fn=_default_signals)
        time.sleep(delay)
        p.send_signal(sig)
        _, err = p.communicate(timeout=120)
        got = out.read_bytes()
        if ext in (".svg", ".json"):
            same = got == want or got == b"old\n"
        else:
            same = got in (want, b"old\n") or (ext == ".parquet" and got != b"old\n"
                                              and _same_parquet(out, ref))
        assert same, (delay, p.returncode, err[-300:])
        assert b"Traceback" not in err
        assert parts(tmp_path) == [], delay
        if p.returncode == -sig:
            # the signal came before the interpreter had its handlers, or while it was
            # exiting after the commit: the old file or the whole new one (checked above)
            pass
        elif p.returncode != 0:
            assert p.returncode in (130, 143), p.returncode
            assert err.decode().strip().endswith("no output written"), \
                (p.returncode, delay, got == want, err)
            assert err.count(b"\n") == 1, err
        outcomes.add("old" if got == b"old\n" else "new")
    # the signal sent right after the start came long before the commit (a conversion of
    # this input takes a second or more)
    assert "old" in outcomes


def _default_signals():
    """A script run in the background (CI) starts its children with SIGINT ignored, and a
    program keeps it so (as tracefold does: Python only handles a SIGINT it may receive)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _same_parquet(a, b):
    import pyarrow.parquet as pq
    return pq.read_table(a).equals(pq.read_table(b))


def test_output_that_is_the_input_is_refused(tmp_path):
    src = tmp_path / "t.txt"
    shutil.copy(SMALL, src)
    before = src.read_bytes()
    link = tmp_path / "link.txt"
    link.symlink_to(src)
    for target in (src, link):
        p = run_cli("convert", src, "-o", target, "--to", "parquet")
        assert p.returncode == 1 and b"is the input file" in p.stderr
        assert src.read_bytes() == before
    with pytest.raises(OutputError):
        tracefold.convert(src, link, to="parquet")
    # --force: the trace is read whole, then its Parquet table replaces it
    p = run_cli("convert", src, "-o", src, "--to", "parquet", "--force")
    assert p.returncode == 0, p.stderr
    assert src.read_bytes()[:4] == b"PAR1"
    import pyarrow.parquet as pq
    assert pq.read_table(src).num_rows == tracefold.read_arrow(SMALL).num_rows


def test_temporaries_of_killed_runs_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".tracefold-{dead.pid}-abc123.part"
    stale.write_text("left by a SIGKILL")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    live = tmp_path / f".tracefold-{os.getppid()}-def456.part"     # a running process's
    live.write_text("in use")
    os.utime(live, (old, old))
    p = run_cli("convert", SMALL, "-o", tmp_path / "x.folded")
    assert p.returncode == 0
    assert not stale.exists() and live.exists()
    # SIGKILL itself: its temporary is found and removed by the next run
    p = subprocess.Popen([sys.executable, "-m", "tracefold", "convert", str(SMALL), "-o",
                          str(tmp_path / "k.json")], cwd=ROOT)
    p.kill()
    p.wait()
