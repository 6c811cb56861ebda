"""Conformance on the real-trace corpus (../shared): every ftrace / trace-cmd file of the
MANIFEST is read; pure tool output must be detected right with no unrecognized line."""

import pyarrow as pa
import pytest

import tracefold
import tracefold.source as source
from conftest import SAMPLES, need_shared

FORMATS = ("ftrace", "trace-cmd", "uftrace", "perf-script")

# Files whose MANIFEST label cannot be met by a correct reader (reason given); they are still
# read and checked for the line-accounting invariant.
LABEL_CONFLICTS = {
    "../generated/perf-cpuloop/perf-script-fields.txt":
        "labelled clean, but the file is empty (perf failed: see its .stderr); an empty input "
        "is a clear error",
    "ftrace/extracted/ftrace-rst-function-empty-trace-header.txt":
        "labelled clean (events > 0) but the file is only the header of an empty trace",
    "trace-cmd/trappy/trace_empty.txt":
        "labelled empty (0 events) but holds 51 sched_stat_* events (trappy's test name)",
    "../generated/trace-cmd-events/report-cpu0.txt":
        "labelled clean (events > 0) but `trace-cmd report --cpu 0` printed only `cpus=2`",
}


def manifest():
    if not (SAMPLES / "MANIFEST.tsv").exists():
        return []
    rows = []
    for line in (SAMPLES / "MANIFEST.tsv").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        path, fmt, kind, allowed = (line.split("\t") + ["0"])[:4]
        if fmt in FORMATS:
            rows.append((path, fmt, kind, int(allowed or 0)))
    return rows


ROWS = manifest()


@pytest.mark.parametrize("path,fmt,kind,allowed", ROWS or [pytest.param(
    "", "", "", 0, marks=pytest.mark.skip(reason="../shared/samples absent"))],
    ids=[r[0] for r in ROWS] or None)
def test_manifest_file(path, fmt, kind, allowed):
    need_shared()
    full = SAMPLES / path
    try:
        d = tracefold.info(full)
    except source.InputError as e:
        if path in LABEL_CONFLICTS:
            pytest.xfail(LABEL_CONFLICTS[path])
        assert kind in ("prose", "other", "malformed"), f"{path}: {e}"
        return
    assert d["lines"] == d["event_lines"] + sum(d["skipped"].values()) + d["unrecognized"], d
    if path in LABEL_CONFLICTS:
        pytest.xfail(LABEL_CONFLICTS[path])
    if kind == "clean":
        assert d["format"] == fmt
        assert d["unrecognized"] == 0, d["first_unrecognized"]
        assert d["events"] > 0
    elif kind == "edited":
        assert d["format"] == fmt
        assert d["unrecognized"] <= allowed, d["first_unrecognized"]
        assert d["events"] > 0
    elif kind == "empty":
        assert d["events"] == 0 and d["unrecognized"] == 0


def _tables_equal(a: pa.Table, b: pa.Table):
    sa = a.sort_by([("line", "ascending")])
    sb = b.sort_by([("line", "ascending")])
    assert sa.num_rows == sb.num_rows
    for name in sa.column_names:
        assert sa.column(name).to_pylist() == sb.column(name).to_pylist(), name


@pytest.mark.parametrize("path", [r[0] for r in ROWS if r[2] in ("clean", "edited")
                                  and r[0] not in LABEL_CONFLICTS][::4]
                         or [pytest.param("", marks=pytest.mark.skip(reason="no corpus"))])
def test_chunking_does_not_change_the_result(path, monkeypatch):
    """Reading in 2 KB chunks (calls, stack blocks and messages cut across chunks) gives the
    same table as reading in one piece."""
    need_shared()
    whole = tracefold.read_arrow(SAMPLES / path)
    monkeypatch.setattr(source, "CHUNK_BYTES", 2048)
    small = tracefold.read_arrow(SAMPLES / path)
    _tables_equal(whole, small)


def test_uftrace_program_output_before_the_header_is_skipped_with_a_reason():
    """uftrace's test outputs start with what the program printed ('1', '1.000000'): counted
    as skipped program output, not as unrecognized replay lines."""
    need_shared()
    d = tracefold.info(SAMPLES / "uftrace/uftrace-tests/replay/t182_thread_exit.txt")
    assert d["unrecognized"] == 0
    assert d["skipped"]["program output before the replay header"] == 2


def test_uftrace_fields_in_the_order_given_to_f():
    """`uftrace replay -f time,duration,tid` prints the fields in that order (not the default
    one): tid, durations of leaves and exact exit - entry times are all read."""
    need_shared()
    import tracefold
    t = tracefold.read(SAMPLES / "uftrace/uftrace-tests/replay/t115_replay_field1.txt")
    assert (t.tid == 28337).all() and t.comm.isna().all()
    got = dict(zip(t.name, t.dur_ns))
    assert got == {"main": 2937, "a": 2517, "b": 2167, "c": 1700, "getpid": 776}
