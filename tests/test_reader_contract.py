"""The reader contract, checked for every registered reader (tracefold/registry.py) on every
real trace the repository holds for it (tests/golden/, samples/): a new reader gets these
checks by being registered.

* line accounting: every input line is an event line, a skipped line (with a reason) or an
  unrecognized one, and they add up to the file's lines;
* chunk-size invariance: the same rows and the same accounting at any chunk size;
* the schema: every table is in the normalized schema (docs/schema.md), format column
  included;
* row order: rows come in the order of their input line (docs/schema.md).
"""
import gzip

import pyarrow as pa
import pytest

from conftest import GOLDEN, ROOT
from tracefold.api import ReadResult, iter_tables
from tracefold.readers import guess_format
from tracefold.registry import READERS
from tracefold.schema import SCHEMA


def _traces():
    out = {name: [] for name in READERS}
    paths = sorted(GOLDEN.rglob("*.txt")) + sorted(GOLDEN.rglob("*.txt.gz")) + \
        sorted((ROOT / "samples").glob("*.txt"))
    for p in paths:
        if p.name.endswith((".report.txt", ".folded.txt")) or p.stat().st_size > 3_000_000:
            continue
        try:
            fmt = guess_format(p)
        except Exception:
            continue
        out[fmt].append(p)
    return out


TRACES = _traces()
CASES = [(fmt, p) for fmt, ps in TRACES.items() for p in ps]


def _lines(path):
    data = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def _read(path, fmt, chunk_bytes=None):
    r = ReadResult("?", {})
    tables = list(iter_tables(path, fmt, result=r, chunk_bytes=chunk_bytes))
    return tables, r.stats


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_every_reader_has_real_traces(fmt):
    """A reader comes with real traces of its format in the repository (its golden folder)."""
    assert TRACES[fmt], f"no trace of format {fmt} under tests/golden/ or samples/"


@pytest.mark.parametrize("fmt,path", CASES, ids=[f"{f}:{p.name}" for f, p in CASES])
def test_reader_contract(fmt, path):
    tables, st = _read(path, fmt)
    # line accounting
    assert st["lines"] == _lines(path), (st["lines"], _lines(path))
    assert st["lines"] == st["event_lines"] + sum(st["skipped"].values()) + st["unrecognized"]
    # schema and format
    for t in tables:
        assert t.schema.equals(SCHEMA, check_metadata=False), t.schema
        assert set(t.column("format").to_pylist()) <= {fmt}
    # row order
    whole = pa.concat_tables(tables) if tables else SCHEMA.empty_table()
    line = whole.column("line").to_numpy()
    assert (line[1:] >= line[:-1]).all(), "rows out of input-line order"
    assert st["events"] == whole.num_rows
    # chunk-size invariance
    for chunk in (700, 16384):
        t2, st2 = _read(path, fmt, chunk)
        assert st2 == st, chunk
        whole2 = pa.concat_tables(t2) if t2 else SCHEMA.empty_table()
        # the same values (dictionary columns may be encoded per chunk)
        assert whole2.to_pylist() == whole.to_pylist(), chunk


@pytest.mark.parametrize("fmt,path", [(f, p) for f, p in CASES if p.stat().st_size > 20_000][::3],
                         ids=lambda x: getattr(x, "name", x))
def test_parsed_in_worker_processes_gives_the_same(fmt, path, monkeypatch):
    """TRACEFOLD_JOBS=2: chunks parsed in two worker processes (readers/pipeline.py) and
    stitched here give the same rows and the same accounting."""
    tables, st = _read(path, fmt, 2048)
    monkeypatch.setenv("TRACEFOLD_JOBS", "2")
    monkeypatch.setenv("TRACEFOLD_JOBS_ANY_SIZE", "1")
    t2, st2 = _read(path, fmt, 2048)
    assert st2 == st
    whole = pa.concat_tables(tables) if tables else SCHEMA.empty_table()
    whole2 = pa.concat_tables(t2) if t2 else SCHEMA.empty_table()
    assert whole2.to_pylist() == whole.to_pylist()


def test_no_reader_derives_from_another():
    """Readers share the pipeline (readers/base.py, readers/records.py) and helpers
    (readers/ftrace_lines.py), never one another: a change to one reader cannot change
    another through inheritance."""
    from tracefold.registry import load
    classes = {name: load(spec) for name, spec in READERS.items()}
    for name, cls in classes.items():
        for other, ocls in classes.items():
            if other != name:
                assert not issubclass(cls, ocls), (name, other)


def test_rare_lines_past_the_cache_are_still_read_without_lark(tmp_path, monkeypatch):
    """A long real trace has more distinct context-switch banners than the rare-line cache
    holds: those past it are read by the line-shape regexes too (never one by one by Lark),
    with the same rows."""
    from conftest import GENERATED
    from tracefold.readers import base
    src = GENERATED / "vm-big-default" / "ftrace-graph-all-default.txt.gz"
    if not src.exists():
        pytest.skip(f"{src} absent (clone ../shared beside the repo)")
    path = tmp_path / "head.txt"
    with gzip.open(src, "rt") as f, open(path, "w") as out:
        for i, line in enumerate(f):
            if i == 60_000:
                break
            out.write(line)
    ref, st_ref = _read(path, "ftrace")
    monkeypatch.setattr(base, "RARE_CACHE", 20)
    got, st = _read(path, "ftrace")
    assert st_ref["skipped"]["context-switch banner"] > 100
    assert st["lark_lines"] == 0
    assert st == st_ref
    assert pa.concat_tables(got).equals(pa.concat_tables(ref))
