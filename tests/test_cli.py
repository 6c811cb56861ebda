"""The command line on good and bad input: clear one-line errors, atomic outputs, stdin/gz."""
import gzip
import tracefold
import json

import pyarrow.parquet as pq
import pytest

from conftest import ROOT, run_cli

SAMPLE = ROOT / "samples" / "trace-cmd-graph-hello.txt"
FTRACE = ROOT / "samples" / "ftrace-function-stack.txt"


def _no_traceback(p):
    assert b"Traceback" not in p.stderr, p.stderr.decode()


def test_convert_writes_parquet_with_schema_version(tmp_path):
    out = tmp_path / "o.parquet"
    p = run_cli("convert", SAMPLE, "-o", out)
    assert p.returncode == 0, p.stderr
    pf = pq.ParquetFile(out)
    meta = pf.metadata.metadata
    assert meta[b"tracefold.schema_version"] == tracefold.SCHEMA_VERSION.encode()
    info = json.loads(meta[b"tracefold.info"])
    assert info["format"] == "trace-cmd"
    t = pf.read()
    assert t.num_rows == info["stats"]["events"] == 2021
    assert not list(tmp_path.glob(".tracefold-*")), "temporary file left behind"


def test_convert_stdout_and_stdin_and_gzip(tmp_path):
    gz = tmp_path / "t.txt.gz"
    gz.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    a = run_cli("convert", gz, "-o", "-")
    b = run_cli("convert", "-", "-o", tmp_path / "b.parquet", input=SAMPLE.read_bytes())
    assert a.returncode == 0 and b.returncode == 0, (a.stderr, b.stderr)
    (tmp_path / "a.parquet").write_bytes(a.stdout)
    ta = pq.read_table(tmp_path / "a.parquet")
    tb = pq.read_table(tmp_path / "b.parquet")
    assert ta.num_rows == tb.num_rows == 2021
    assert ta.column("dur_ns").to_pylist() == tb.column("dur_ns").to_pylist()


def test_parquet_roundtrip_info(tmp_path):
    out = tmp_path / "o.parquet"
    assert run_cli("convert", FTRACE, "-o", out).returncode == 0
    a = json.loads(run_cli("info", "--json", FTRACE).stdout)
    b = json.loads(run_cli("info", "--json", out).stdout)
    for k in ("format", "lines", "events", "unrecognized", "skipped", "tasks", "time_span_ns"):
        assert a[k] == b[k], k


@pytest.mark.parametrize("content,needle", [
    (b"", "empty file"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00" * 50, "binary file"),
    (b"hello world\nthis is not a trace at all\n", "not a recognized trace"),
])
def test_bad_input_clear_error(tmp_path, content, needle):
    f = tmp_path / "bad.txt"
    f.write_bytes(content)
    for cmd in (["convert", f, "-o", tmp_path / "o.parquet"], ["info", f]):
        p = run_cli(*cmd)
        _no_traceback(p)
        assert p.returncode != 0
        err = p.stderr.decode()
        assert needle in err and str(f) in err, err
        assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o.parquet").exists()


def test_missing_file_and_wrong_from(tmp_path):
    p = run_cli("convert", tmp_path / "nope.txt", "-o", tmp_path / "o.parquet")
    _no_traceback(p)
    assert p.returncode != 0 and b"no such file" in p.stderr
    p = run_cli("convert", SAMPLE, "--from", "perfect", "-o", tmp_path / "o.parquet")
    _no_traceback(p)
    assert p.returncode != 0 and b"unknown format" in p.stderr
    # a real ftrace function_graph file read as trace-cmd: nothing matches -> clear error
    g = ROOT / "samples" / "ftrace-graph-hello.txt"
    p = run_cli("convert", g, "--from", "trace-cmd", "-o", tmp_path / "o.parquet")
    _no_traceback(p)
    assert p.returncode != 0 and b"wrong --from" in p.stderr, p.stderr
    assert not (tmp_path / "o.parquet").exists()


def test_partial_result_counts_unrecognized(tmp_path):
    lines = FTRACE.read_text().splitlines(keepends=True)
    lines.insert(20, "THIS IS NOT A TRACE LINE\n")
    lines.append("x" * (1 << 20) + "\n")              # a 1 MB line
    lines.append("           hello-378     [001] .....    24.7")   # truncated last line
    f = tmp_path / "partial.txt"
    f.write_text("".join(lines))
    p = run_cli("convert", f, "-o", tmp_path / "o.parquet")
    _no_traceback(p)
    assert p.returncode == 0, p.stderr
    err = p.stderr.decode()
    assert "3 unrecognized" in err and "21" in err, err
    d = json.loads(run_cli("info", "--json", f).stdout)
    assert d["unrecognized"] == 3
    assert [u["line"] for u in d["first_unrecognized"]] == [21, len(lines) - 1, len(lines)]


def test_crlf_bom_no_trailing_newline(tmp_path):
    raw = FTRACE.read_bytes().rstrip(b"\n").replace(b"\n", b"\r\n")
    f = tmp_path / "crlf.txt"
    f.write_bytes(b"\xef\xbb\xbf" + raw)
    a = json.loads(run_cli("info", "--json", FTRACE).stdout)
    b = json.loads(run_cli("info", "--json", f).stdout)
    for k in ("format", "lines", "events", "unrecognized", "skipped", "time_span_ns"):
        assert a[k] == b[k], k


def test_info_jsonl_several_inputs_with_one_failure(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("just words\n")
    p = run_cli("info", "--json", SAMPLE, bad, FTRACE)
    rows = [json.loads(x) for x in p.stdout.decode().splitlines()]
    assert [r["path"] for r in rows] == [str(SAMPLE), str(bad), str(FTRACE)]
    assert "error" in rows[1] and "error" not in rows[0] and "error" not in rows[2]
    assert p.returncode == 1
    for r in (rows[0], rows[2]):
        for k in ("format", "lines", "events", "unrecognized", "skipped", "lost_events", "tasks",
                  "time_span_ns"):
            assert k in r
        assert r["lines"] == r["event_lines"] + sum(r["skipped"].values()) + r["unrecognized"]


def test_interrupted_convert_leaves_no_file(tmp_path, monkeypatch):
    import tracefold.api as api
    out = tmp_path / "o.parquet"
    real = api.iter_tables

    def boom(*a, **k):
        for _i, t in enumerate(real(*a, **k)):
            yield t
            raise KeyboardInterrupt
    monkeypatch.setattr(api, "iter_tables", boom)
    with pytest.raises(KeyboardInterrupt):
        api.convert(SAMPLE, out)
    assert not out.exists()
    assert not list(tmp_path.glob(".tracefold-*"))


def test_python_module_entry_and_api():
    import tracefold
    df = tracefold.read(FTRACE)
    t = tracefold.read_arrow(FTRACE)
    assert len(df) == t.num_rows == 9
    assert set(df.kind) == {"entry"}
    assert list(df["stack"].iloc[0][-2:]) == ["close_fd", "0xffffffffc0400083"]
    assert df["stack"].iloc[0][0] == "entry_SYSCALL_64_after_hwframe"
    p = run_cli("--help")
    assert p.returncode == 0 and b"convert" in p.stdout


def test_inferno_malformed_inputs_give_error_or_counted_warning(tmp_path):
    from conftest import SAMPLES
    d = SAMPLES / "perf-script" / "inferno" / "malformed"
    if not d.is_dir():
        pytest.skip("../shared/samples absent")
    want = {"no-events.txt": "error", "weird-stack-line.txt": "unrecognized",
            "empty-line.txt": "warning",
            "invalid-perf-with-empty-line-after-event-line.txt": "warning"}
    for f in sorted(d.iterdir()):
        p = run_cli("convert", f, "-o", tmp_path / "o.parquet")
        _no_traceback(p)
        err = p.stderr.decode()
        if want[f.name] == "error":
            assert p.returncode != 0 and str(f) in err and len(err.strip().splitlines()) == 1
            continue
        assert p.returncode == 0, err
        info = json.loads(run_cli("info", "--json", f).stdout)
        if want[f.name] == "unrecognized":
            assert info["unrecognized"] == 1 and "unrecognized" in err
        else:
            assert sum(info["warnings"].values()) >= 1 and "note:" in err, (f.name, info)


def test_progress_bar_only_on_a_terminal(tmp_path):
    import shlex
    import shutil
    import subprocess
    import sys
    if not shutil.which("script"):
        pytest.skip("`script` (util-linux) is needed to run under a pseudo-terminal")
    g = ROOT / "samples" / "ftrace-graph-hello.txt"
    cmd = f"{shlex.quote(sys.executable)} -m tracefold convert {g} -o {tmp_path / 'a.parquet'}"
    tty = subprocess.run(["script", "-qc", cmd, "/dev/null"], capture_output=True, timeout=120,
                         cwd=ROOT)
    assert tty.returncode == 0 and (tmp_path / "a.parquet").exists()
    assert "ftrace-graph-hello.txt" in tty.stdout.decode(errors="replace")   # the bar's label
    piped = run_cli("convert", g, "-o", tmp_path / "b.parquet")
    assert piped.returncode == 0 and piped.stderr == b"" and piped.stdout == b""
