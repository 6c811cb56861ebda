"""Many traces, one dataset (issue 16): conversion in one process, in local processes and on a
real Dask distributed cluster (a scheduler and two worker processes on 127.0.0.1) gives the
same bytes; failures, resume, labels and partitions; analyses over a dataset equal the
single-trace ones merged."""
import json
import os
import shutil
from collections import Counter

import pandas as pd
import pytest

import tracefold
from conftest import GOLDEN, manifest, need_shared, run_cli
from tracefold import dataset as D

DIFF = GOLDEN / "uftrace-diff"


def corpus_inputs(n=30, max_bytes=400_000):
    """A few dozen real corpus traces of several formats (small ones), in manifest order."""
    need_shared()
    out, per_fmt = [], Counter()
    for fmt, p in manifest(("clean",)):
        if p.is_file() and p.stat().st_size <= max_bytes and per_fmt[fmt] < n // 4 + 1:
            out.append(p)
            per_fmt[fmt] += 1
    assert len(out) >= 20 and len(per_fmt) >= 3
    return out[:n]


def files_of(ds):
    """{relative path: bytes} of a dataset's Parquet files and its manifest."""
    out = {}
    for root, _, files in os.walk(ds):
        for f in files:
            p = os.path.join(root, f)
            out[os.path.relpath(p, ds)] = open(p, "rb").read()
    return out


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    """Corpus traces copied under host=…/ folders (labels from their path)."""
    root = tmp_path_factory.mktemp("fleet")
    for k, p in enumerate(corpus_inputs()):
        d = root / f"web{k % 3}" / p.parent.name
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, d / p.name)
    return root


def test_same_dataset_in_one_process_local_processes_and_dask(tmp_path, traces, cluster):
    args = [traces, "--label-from", "{host}/{project}/*", "--partition-by", "host",
            "--label", "build=7", "-q"]
    one, two, dask = tmp_path / "one", tmp_path / "two", tmp_path / "dask"
    assert run_cli("convert", *args, "-o", f"{one}/").returncode == 0
    assert run_cli("convert", *args, "-o", f"{two}/", "--jobs", "2").returncode == 0
    p = run_cli("convert", *args, "-o", f"{dask}/", "--scheduler", cluster)
    assert p.returncode == 0, p.stderr
    a, b, c = files_of(one), files_of(two), files_of(dask)
    assert a == b == c
    m = json.loads(a[D.MANIFEST])
    n = sum(1 for _ in traces.rglob("*") if _.is_file())
    assert len(m["inputs"]) == n and m["partition_by"] == ["host"]
    for e in m["inputs"]:
        assert e["file"].startswith(f"host={e['labels']['host']}/")
        assert e["labels"]["build"] == "7" and e["info"]["unrecognized"] >= 0
    # every file holds exactly the rows of its trace, with its source and labels
    for e in m["inputs"][:8]:
        t = pd.read_parquet(one / e["file"])
        want = tracefold.read(e["source"])
        assert len(t) == len(want) and set(t.source) == {e["source"]}
        assert set(t.build) == {"7"} and "host" not in t.columns     # host: a partition
        assert list(t.line) == list(want.line)


def test_failures_are_named_and_the_rest_converted(tmp_path, traces):
    bad = tmp_path / "in" / "broken.txt"
    bad.parent.mkdir()
    bad.write_text("this is not a trace\nat all\n")
    good = sorted(p for p in traces.rglob("*") if p.is_file())[:5]
    out = tmp_path / "ds"
    p = run_cli("convert", bad, *good, "-o", f"{out}/")
    assert p.returncode == 1 and b"broken.txt" in p.stderr
    assert b"5 converted, 0 already there, 1 failed, of 6 inputs" in p.stderr
    m = D.read_manifest(out)
    assert len(m["inputs"]) == 5 and str(bad) not in {e["source"] for e in m["inputs"]}
    leftovers = [f for f in files_of(out) if f.endswith(".part")]
    assert not leftovers


def test_resume_skips_what_is_there_and_redoes_what_changed(tmp_path, traces):
    src = tmp_path / "src"
    shutil.copytree(traces, src)
    out = tmp_path / "ds"
    first = run_cli("convert", src, "-o", f"{out}/", "-q")
    assert first.returncode == 0
    before = files_of(out)
    again = run_cli("convert", src, "-o", f"{out}/", "--resume")
    n = len(D.read_manifest(out)["inputs"])
    assert again.returncode == 0 and f"0 converted, {n} already there".encode() in again.stderr
    assert files_of(out) == before
    one = next(p for p in sorted(src.rglob("*.txt")))
    one.write_text(one.read_text() + "\n")          # same trace, one more (blank) line
    third = run_cli("convert", src, "-o", f"{out}/", "--resume")
    assert f"1 converted, {n - 1} already there".encode() in third.stderr
    e = {x["source"]: x for x in D.read_manifest(out)["inputs"]}[str(one)]
    assert e["size"] == one.stat().st_size


def _uftrace_dataset(tmp_path, name, runs):
    """base-01 … / x4-1 …: labels side (base, x4) and n (the run's number: 1, 2, 3)."""
    d = tmp_path / name
    p = run_cli("convert", *[DIFF / r for r in runs], "-o", f"{d}/", "--label-from",
                "{side}-*{n}.txt.gz", "-q")
    assert p.returncode == 0, p.stderr
    return d


def test_report_and_folded_over_a_dataset_merge_the_traces(tmp_path, cluster):
    runs = ["base-01.txt.gz", "base-02.txt.gz", "x4-1.txt.gz"]
    ds = _uftrace_dataset(tmp_path, "ds", runs)
    got = tracefold.report(ds).set_index("function")
    parts = [tracefold.report(DIFF / r).set_index("function") for r in runs]
    for fn in got.index:
        rows = [p.loc[fn] for p in parts if fn in p.index]
        assert got.loc[fn, "calls"] == sum(r["calls"] for r in rows)
        assert got.loc[fn, "self_ns"] == sum(r["self_ns"] for r in rows)
        assert got.loc[fn, "min_ns"] == min(r["min_ns"] for r in rows)
        assert got.loc[fn, "max_ns"] == max(r["max_ns"] for r in rows)
    assert abs(got["self%"].sum() - 100) < 1e-6
    # on the cluster, in local processes: the same table
    p = run_cli("report", ds, "--json", "--scheduler", cluster)
    rows = [json.loads(x) for x in p.stdout.decode().splitlines()]
    assert {r["function"]: r["calls"] for r in rows} == got["calls"].to_dict()
    p = run_cli("report", ds, "--json", "--jobs", "2", "--where", "side=x4")
    rows = [json.loads(x) for x in p.stdout.decode().splitlines()]
    assert {r["function"]: r["calls"] for r in rows} == \
        tracefold.report(DIFF / "x4-1.txt.gz").set_index("function")["calls"].to_dict()
    # folded: equal stacks of the traces added
    want = Counter()
    for r in runs:
        for ln in run_cli("convert", DIFF / r, "--to", "folded", "-o", "-").stdout.decode() \
                .splitlines():
            k, _, w = ln.rpartition(" ")
            want[k] += int(w)
    p = run_cli("convert", ds, "-o", tmp_path / "all.folded", "--scheduler", cluster)
    assert p.returncode == 0, p.stderr
    got_lines = (tmp_path / "all.folded").read_text().splitlines()
    assert got_lines == [f"{k} {v}" for k, v in sorted(want.items()) if v > 0]
    assert run_cli("convert", ds, "-o", tmp_path / "all.svg").returncode == 0
    p = run_cli("convert", ds, "-o", tmp_path / "all.flame.json", "--flamechart")
    assert p.returncode == 2 and b"not an option of chrome output" in p.stderr
    p = run_cli("convert", ds, "-o", tmp_path / "all.folded", "--flamechart")
    assert p.returncode == 2 and b"not over a dataset" in p.stderr


def test_diff_of_datasets_treats_each_trace_as_a_run(tmp_path):
    before = _uftrace_dataset(tmp_path, "before", [f"base-0{k}.txt.gz" for k in (1, 2, 3)])
    after = _uftrace_dataset(tmp_path, "after", [f"x4-{k}.txt.gz" for k in (1, 2, 3)])
    got = tracefold.diff(before, after)
    want = tracefold.diff([DIFF / f"base-0{k}.txt.gz" for k in (1, 2, 3)],
                          [DIFF / f"x4-{k}.txt.gz" for k in (1, 2, 3)])
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    assert got.attrs["runs"] == (3, 3)
    row = got.set_index("function").loc["compute"]
    assert row["significant"] and row["delta_total_ns"] > 0
    # per label value: one comparison each, in a group column
    both = tracefold.diff(before, after, group="n")
    assert set(both.group) == {"1", "2", "3"}
    p = run_cli("diff", "--base", before, "--new", after, "--json")
    rows = [json.loads(x) for x in p.stdout.decode().splitlines()]
    assert "compute" in {r["function"] for r in rows}


def test_read_dataset_as_dask_and_arrow(tmp_path):
    pytest.importorskip("dask.dataframe")
    ds = _uftrace_dataset(tmp_path, "ds", ["base-01.txt.gz", "x4-1.txt.gz"])
    ddf = tracefold.read_dataset(ds)
    n = sum(len(tracefold.read(DIFF / r)) for r in ["base-01.txt.gz", "x4-1.txt.gz"])
    assert len(ddf) == n and {"source", "side", "n", "dur_ns"} <= set(ddf.columns)
    calls = ddf[ddf.kind == "call"].groupby("kind").dur_ns.count().compute()
    assert int(calls.iloc[0]) > 0
    one = tracefold.read_dataset(ds, filters={"side": "x4"})
    assert set(one.source.unique().compute()) == {str(DIFF / "x4-1.txt.gz")}
    arrow = tracefold.read_dataset(ds, engine="arrow")
    assert arrow.count_rows() == n


def test_dataset_options_are_checked(tmp_path):
    p = run_cli("convert", DIFF / "base-01.txt.gz", DIFF / "x4-1.txt.gz", "-o", f"{tmp_path}/d/",
                "--partition-by", "host")
    assert p.returncode == 2 and b"no such label" in p.stderr
    for bad in ("source=x", "kind=x", "no_equals"):
        p = run_cli("convert", DIFF / "base-01.txt.gz", DIFF / "x4-1.txt.gz", "-o",
                    f"{tmp_path}/d/", "--label", bad)
        assert p.returncode == 2 and b"--label" in p.stderr, bad
    p = run_cli("convert", DIFF / "base-01.txt.gz", DIFF / "x4-1.txt.gz", "-o", "-")
    assert p.returncode == 2 and b"-o names its folder" in p.stderr
    assert not os.path.exists("-")
    ds = _uftrace_dataset(tmp_path, "ds", ["base-01.txt.gz"])
    p = run_cli("convert", ds, "-o", tmp_path / "x.folded", "--split", "1MB")
    assert p.returncode == 2 and b"--split: not an option of folded output" in p.stderr
    p = run_cli("report", ds, "--where", "nosuch=1")
    assert p.returncode == 2 and b"not a label" in p.stderr


def test_graph_and_fs_over_a_dataset_add_up_the_traces(tmp_path, cluster):
    runs = ["base-01.txt.gz", "x4-1.txt.gz"]
    ds = _uftrace_dataset(tmp_path, "ds", runs)
    g = tracefold.callgraph(ds, scheduler=cluster)
    parts = [tracefold.callgraph(DIFF / r) for r in runs]
    for k, a in g.nodes(data=True):
        assert a["calls"] == sum(p.nodes[k]["calls"] for p in parts if k in p)
        assert a["self_ns"] == sum(p.nodes[k]["self_ns"] for p in parts if k in p)
    for u, v, e in g.edges(data=True):
        assert e["calls"] == sum(p.edges[u, v]["calls"] for p in parts if p.has_edge(u, v))
    p = run_cli("graph", ds, "-o", tmp_path / "g.dot", "--jobs", "2")
    assert p.returncode == 0 and "compute" in (tmp_path / "g.dot").read_text()
    # the file-system layer view of kernel function_graph traces
    fs_in = [GOLDEN / "fs" / n for n in ("vm-ftrace-graph-hello.txt",
                                         "vm-ftrace-graph-submit_bio.txt")]
    fds = tmp_path / "fsds"
    assert run_cli("convert", *fs_in, "-o", f"{fds}/", "-q").returncode == 0
    res = tracefold.fs(fds)
    one = [tracefold.fs(x) for x in fs_in]
    assert len(res.instances) == sum(len(r.instances) for r in one)
    for sc, e in res.by_syscall.items():
        assert e["_n"] == sum(r.by_syscall.get(sc, {}).get("_n", 0) for r in one)
    p = run_cli("fs", fds, "--format", "csv")
    assert p.returncode == 0 and p.stdout.startswith(b"syscall,count,total")


def test_a_worker_killed_mid_task_leaves_no_partial_file(tmp_path):
    """SIGKILL one worker process of `--jobs 2` while it converts: the tasks lost are reported
    as failed (exit 1), no partial file is left, every file the manifest names is whole, and
    --resume converts the rest."""
    import signal
    import subprocess
    import sys
    import time
    import psutil
    import pyarrow.parquet as pq
    src = tmp_path / "in"
    src.mkdir()
    big = (GOLDEN / "ftrace" / "function_graph-head100.txt").read_text()
    for k in range(12):          # inputs big enough that a conversion is under way when killed
        (src / f"t{k:02d}.txt").write_text(big * 400)
    out = tmp_path / "ds"
    p = subprocess.Popen([sys.executable, "-m", "tracefold", "convert", str(src), "-o",
                          f"{out}/", "--jobs", "2", "-q"], stderr=subprocess.PIPE)
    killed = False
    deadline = time.time() + 60
    while time.time() < deadline and not killed and p.poll() is None:
        kids = [c for c in psutil.Process(p.pid).children(recursive=True)
                if c.cpu_times().user > 0.3]
        if kids:
            os.kill(kids[0].pid, signal.SIGKILL)
            killed = True
        time.sleep(0.05)
    _, err = p.communicate(timeout=300)
    assert killed and p.returncode == 1 and b"Traceback" not in err, err
    assert b"failed" in err
    assert not [f for f in files_of(out) if f.endswith(".part")]
    m = D.read_manifest(out)
    for e in m["inputs"]:
        assert pq.ParquetFile(out / e["file"]).metadata.num_rows > 0
    assert len(m["inputs"]) < 12
    p = run_cli("convert", src, "-o", f"{out}/", "--resume")
    assert p.returncode == 0, p.stderr
    assert len(D.read_manifest(out)["inputs"]) == 12


def test_chrome_json_of_a_dataset_has_each_trace_as_its_own_processes(tmp_path):
    """Every trace of the dataset in one timeline: its slices are those of its own Chrome
    export (same names, starts and durations), on processes of its own named [k] comm."""
    from conftest import ROOT
    from tracefold.writers.chrome import TRACE_SPAN
    ins = [DIFF / "base-01.txt.gz", ROOT / "samples" / "trace-cmd-graph-hello.txt",
           ROOT / "samples" / "uftrace-threads-replay.txt"]
    ds = tmp_path / "ds"
    assert run_cli("convert", *ins, "-o", f"{ds}/", "-q").returncode == 0
    p = run_cli("convert", ds, "-o", tmp_path / "all.json")
    assert p.returncode == 0, p.stderr
    assert run_cli("check", tmp_path / "all.json").returncode == 0
    ev = json.loads((tmp_path / "all.json").read_text())["traceEvents"]
    names = {e["pid"]: e["args"]["name"] for e in ev if e.get("name") == "process_name"}
    runs = D.runs(ds)
    for k, run in enumerate(runs):
        one = tmp_path / f"{k}.json"
        assert run_cli("convert", run.source, "-o", one).returncode == 0
        alone = [e for e in json.loads(one.read_text())["traceEvents"] if e["ph"] == "X"]
        base = (k + 1) * TRACE_SPAN
        mine = [e for e in ev if e["ph"] == "X" and base <= e["pid"] < base + TRACE_SPAN]
        key = lambda e: (e["name"], e["ts"], e["dur"])        # noqa: E731
        assert sorted(map(key, mine)) == sorted(map(key, alone)), run.source
        assert all(names[e["pid"]].startswith(f"[{k + 1}] ") for e in mine)
    p = run_cli("convert", ds, "-o", tmp_path / "x.parquet")
    assert p.returncode == 2 and b"graph` draws" in p.stderr


def test_inputs_and_dataset_as_fsspec_urls_on_the_cluster(tmp_path, cluster):
    """Inputs and the dataset as fsspec URLs (file:// here: what every worker of a cluster
    sees; s3:// or gs:// work the same through their fsspec packages): the same rows as with
    paths, the dataset read back through the URL by every analysis."""
    pytest.importorskip("fsspec")
    runs = ["base-01.txt.gz", "x4-1.txt.gz"]
    local = _uftrace_dataset(tmp_path, "local", runs)
    url = f"file://{tmp_path}/remote"
    p = run_cli("convert", *[f"file://{DIFF / r}" for r in runs], "-o", f"{url}/",
                "--label-from", "{side}-*{n}.txt.gz", "--scheduler", cluster, "-q")
    assert p.returncode == 0, p.stderr
    m, ml = D.read_manifest(url), D.read_manifest(local)
    assert [e["source"] for e in m["inputs"]] == [f"file://{DIFF / r}" for r in runs]
    for e, el in zip(m["inputs"], ml["inputs"]):
        assert (e["sha256"], e["size"], e["labels"]) == (el["sha256"], el["size"], el["labels"])
        a = pd.read_parquet(tmp_path / "remote" / e["file"]).drop(columns="source")
        b = pd.read_parquet(local / el["file"]).drop(columns="source")
        pd.testing.assert_frame_equal(a, b)
    assert tracefold.report(url).equals(tracefold.report(local))
    assert tracefold.read_dataset(url, engine="arrow").count_rows() == \
        tracefold.read_dataset(local, engine="arrow").count_rows()
    p = run_cli("convert", f"{url}/", "-o", tmp_path / "u.folded")
    assert p.returncode == 0, p.stderr


def test_the_docs_examples_run(tmp_path):
    """docs/dataset.md's Python (Dask, pyarrow) and DuckDB SQL examples, on a dataset made
    as its first example makes one."""
    import re
    import subprocess
    import sys
    from conftest import ROOT
    text = (ROOT / "docs" / "dataset.md").read_text()
    fleet = tmp_path / "fleet"
    for host, src in (("web1", DIFF / "base-01.txt.gz"), ("web2", DIFF / "x4-1.txt.gz"),
                      ("web1", ROOT / "samples" / "trace-cmd-graph-hello.txt")):
        d = fleet / host / "2026-11-30"
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, d / src.name)
    p = run_cli("convert", fleet, "-o", f"{tmp_path}/ds/", "--label-from", "{host}/{date}/*",
                "--partition-by", "host", "--label", "build=123", "-q")
    assert p.returncode == 0, p.stderr
    py = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", py], cwd=tmp_path, env=env, capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    duckdb = pytest.importorskip("duckdb")
    sql = re.search(r"```sql\n(.*?)```", text, re.S).group(1)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        rows = duckdb.sql(sql).fetchall()
    finally:
        os.chdir(cwd)
    assert {r[0] for r in rows} == {"web1", "web2"} and all(r[2] >= 1 for r in rows)
