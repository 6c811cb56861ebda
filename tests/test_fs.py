"""tracefold fs: the layer rules, the invariant (layers add up to each syscall) on every real
kernel trace we have, golden summaries, samples and stack traces, outputs, --rules."""
import json

import pytest

import tracefold
from conftest import GENERATED, GOLDEN, SAMPLES, need_shared, run_cli
from tracefold.writers.chrome_check import check_file
from tracefold.analysis.fs import LAYERS, Rules, RulesError, summarize

FS = GOLDEN / "fs"


@pytest.mark.parametrize("name,layer,tag", [
    ("ext4_sync_file [ext4]", "fs", "ext4"),          # module annotation
    ("ext4_file_write_iter", "fs", "ext4"),
    ("__ext4_journal_start_sb", "fs", "ext4"),
    ("jbd2_journal_commit_transaction", "fs", "ext4"),
    ("xfs_file_buffered_read", "fs", "xfs"),
    ("xfs_ilock [xfs]", "fs", "xfs"),
    ("btrfs_sync_file", "fs", "btrfs"),
    ("f2fs_file_write_iter", "fs", "f2fs"),
    ("fat_get_block [vfat]", "fs", "fat"),
    ("nfs_file_read [nfs]", "fs", "nfs"),
    ("fuse_file_read_iter", "fs", "fuse"),
    ("ovl_read_iter [overlay]", "fs", "overlay"),
    ("shmem_file_read_iter", "fs", "tmpfs"),
    ("some_helper [zfs]", "fs", "zfs"),
    ("iomap_dio_rw", "fs", "generic"),
    ("seq_read_iter", "fs", "proc"),
    ("vfs_read", "vfs", ""),
    ("__fdget_pos", "vfs", ""),
    ("security_file_open", "security", ""),
    ("apparmor_file_open", "security", ""),
    ("link_path_walk.part.0", "path", ""),            # GCC clone suffix
    ("getname_flags.part.0", "path", ""),
    ("filemap_read", "pagecache", ""),
    ("generic_file_aio_read", "pagecache", ""),      # older kernels
    ("copy_page_to_iter", "pagecache", ""),
    ("submit_bio_noacct", "block", ""),
    ("blk_mq_submit_bio", "block", ""),
    ("generic_make_request", "block", ""),            # older kernels
    ("virtio_queue_rq [virtio_blk]", "driver", ""),
    ("nvme_queue_rq [nvme]", "driver", ""),
    ("scsi_queue_rq", "driver", ""),
    ("_raw_spin_lock", "other", "locking"),
    ("__schedule", "sched", "scheduler"),
    ("trigger_load_balance", "sched", "scheduler"),
    ("linux:schedule", "sched", "scheduler"),           # uftrace's off-CPU spans
    ("linux:schedule (pre-empted)", "sched", "scheduler"),
    ("__common_interrupt", "irq", "interrupts"),
    ("clockevents_program_event", "irq", "interrupts"),
    ("hrtimer_interrupt", "irq", "interrupts"),
    ("__do_softirq", "irq", "interrupts"),
    ("update_io_ticks", "block", ""),
    ("rcu_read_unlock_strict", "other", "rcu"),
    ("crc32c_pcl_intel_update [crc32c_intel]", "other", "crypto"),
    ("__x64_sys_openat", "syscall", ""),
    ("SyS_read", "syscall", ""),                      # older kernels
    ("definitely_not_a_kernel_function", "unknown", ""),
])
def test_rules(name, layer, tag):
    assert Rules().layer(name) == (layer, tag)


@pytest.mark.parametrize("name,syscall", [
    ("__x64_sys_openat", "openat"), ("__arm64_sys_write", "write"), ("SyS_read", "read"),
    ("sys_fsync", "fsync"), ("ksys_read", "read"), ("do_sys_openat2", "openat"),
    ("do_sys_open", "openat"), ("close_fd", "close"), ("do_fsync", "fsync"),
    ("__do_sys_newfstatat", "newfstatat"), ("vfs_read", None), ("x64_sys_call", None),
])
def test_syscall_entries(name, syscall):
    assert Rules().syscall(name) == syscall


def _kernel_call_traces():
    out = []
    if GENERATED.is_dir():
        for pat in ("vm-ftrace-graph*/trace.txt", "vm-trace-cmd-graph*/report*.txt",
                    "vm-uftrace-K*/replay*.txt", "vm-uftrace-k*/replay*.txt"):
            out += sorted(GENERATED.glob(pat))
    if SAMPLES.is_dir():
        out += sorted((SAMPLES / "seed").glob("uftrace-replay-K*.txt"))
        out += sorted((SAMPLES / "ftrace" / "extracted").glob("*graph*.txt"))
        out += sorted((SAMPLES / "ftrace" / "extracted").glob("perf-tools-funcgraph*.txt"))
    return out


def test_layers_add_up_to_every_syscall():
    """On every real kernel trace with calls: for each syscall instance with a duration, the
    layers' self times add up to its duration exactly."""
    need_shared()
    traces = _kernel_call_traces()
    assert len(traces) > 20
    instances = syscalls = 0
    for p in traces:
        res = tracefold.fs(p)
        for inst in res.instances:
            if inst["dur_ns"] is not None and not inst["unclosed"]:
                assert sum(inst["layers"].values()) == inst["dur_ns"], (p.name, inst)
                instances += 1
        for row in summarize(res):
            syscalls += 1
            if res.kind == "calls" and row["total"]:
                assert abs(sum(row["share"].values()) - 1) < 1e-9
    assert instances > 40 and syscalls > 20


def _goldens():
    return [pytest.param(p, id=p.name) for p in sorted(FS.iterdir())
            if p.name.endswith((".txt", ".txt.gz"))]


@pytest.mark.parametrize("trace", _goldens())
def test_golden_summaries(trace):
    want = json.loads((FS / (trace.name.split(".txt")[0] + ".expected.json")).read_text())
    res = tracefold.fs(trace)
    got = json.loads(json.dumps({"kind": res.kind, "figure": res.figure,
                                 "syscalls": summarize(res), "outside_syscalls": res.outside}))
    assert got == want


def test_what_each_input_allows():
    kinds = {p.name: tracefold.fs(p).kind for p in FS.iterdir() if ".txt" in p.name
             and not p.name.endswith(".json")}
    assert kinds == {"vm-ftrace-graph-hello.txt": "calls", "vm-uftrace-K-hello.txt": "calls",
                     "vm-ftrace-graph-vfs_fsync_range.txt.gz": "calls",
                     "vm-ftrace-graph-submit_bio.txt": "calls",
                     "vm-perf-io.txt.gz": "samples",
                     "vm-ftrace-function-stack.txt": "stack traces"}
    res = tracefold.fs(FS / "vm-perf-io.txt.gz")
    assert not res.instances and res.figure == "weight"
    t = tracefold.read(FS / "vm-perf-io.txt.gz")
    total = sum(sum(v for k, v in e.items() if k != "_n") for e in res.by_syscall.values())
    assert total + res.outside == t.weight.sum()     # every sample counted once
    res = tracefold.fs(FS / "vm-ftrace-function-stack.txt")
    n = sum(e["_n"] for e in res.by_syscall.values())
    t = tracefold.read(FS / "vm-ftrace-function-stack.txt")
    assert n + res.outside == t["stack"].notna().sum()


def test_outputs(tmp_path):
    src = FS / "vm-ftrace-graph-hello.txt"
    res = tracefold.fs(src)
    durations = sum(i["dur_ns"] for i in res.instances if i["dur_ns"] is not None)
    # folded layer stacks: syscall;vfs;path;ext4 … weighted by self time, adding up
    p = run_cli("fs", src, "-o", tmp_path / "l.folded")
    assert p.returncode == 0, p.stderr
    lines = (tmp_path / "l.folded").read_text().splitlines()
    assert any(ln.startswith("openat;vfs") for ln in lines)
    assert any(";ext4" in ln for ln in lines)
    assert sum(int(ln.rsplit(" ", 1)[1]) for ln in lines) <= durations
    # Chrome: each syscall a slice, its layers nested slices; strictly nested
    p = run_cli("fs", src, "-o", tmp_path / "l.json")
    assert p.returncode == 0, p.stderr
    assert check_file(tmp_path / "l.json")["ok"]
    ev = json.loads((tmp_path / "l.json").read_text())["traceEvents"]
    # every call is a slice, or an instant when it lasted 0 ns
    roots = [e for e in ev if (e["ph"] == "X" or e.get("cat") == "call") and
             e["name"] in {"openat", "read", "write", "close"}]
    assert len(roots) == len(res.instances)
    assert {e["name"] for e in ev if e["ph"] == "X"} >= {"vfs", "path", "ext4", "pagecache"}
    # Parquet: one row per instance, layers in ns
    p = run_cli("fs", src, "-o", tmp_path / "i.parquet")
    import pandas as pd
    df = pd.read_parquet(tmp_path / "i.parquet")
    assert len(df) == len(res.instances)
    assert (df[[f"{k}_ns" for k in LAYERS]].sum(axis=1) == df.dur_ns).all()
    # JSON and the table
    p = run_cli("fs", src, "--json")
    d = json.loads(p.stdout)
    assert d["kind"] == "calls" and d["figure"] == "ns" and len(d["instances"]) == len(df)
    assert isinstance(d["unknown_functions"], dict)
    p = run_cli("fs", src)
    assert p.returncode == 0 and b"openat" in p.stdout and b"ext4" in p.stdout
    p = run_cli("fs", FS / "vm-perf-io.txt.gz", "--format", "table")
    assert b"stack samples" in p.stdout and b"weight" in p.stdout
    p = run_cli("fs", FS / "vm-perf-io.txt.gz")        # not a terminal: TSV
    head, *rows = p.stdout.decode().splitlines()
    assert head.startswith("syscall\tcount\ttotal") and rows and \
        all(len(r.split("\t")) == len(head.split("\t")) for r in rows)
    p = run_cli("fs", FS / "vm-perf-io.txt.gz", "-o", tmp_path / "x.json")
    assert p.returncode == 2 and b"needs traced calls" in p.stderr


def test_rules_file_override_and_errors(tmp_path):
    src = FS / "vm-ftrace-graph-hello.txt"
    own = tmp_path / "r.toml"
    own.write_text('[[syscall]]\npattern = "do_sys_openat2"\nsyscall = "open"\n\n'
                   '[[layer]]\nname = "vfs"\nprefix = [""]\n')
    res = tracefold.fs(src, rules=own)
    assert set(res.by_syscall) == {"open"}
    assert set(k for k in res.by_syscall["open"] if k != "_n") <= {"syscall", "vfs"}
    bad = tmp_path / "bad.toml"
    bad.write_text('[[layer]]\nname = "nonsense"\nprefix = ["x"]\n')
    with pytest.raises(RulesError, match="name must be one of"):
        Rules(bad)
    p = run_cli("fs", src, "--rules", bad)
    assert p.returncode == 2 and b"name must be one of" in p.stderr and b"Traceback" not in p.stderr


def test_syscall_events_give_durations_without_layers():
    need_shared()
    src = GENERATED / "ftrace-events" / "sched-syscalls-trace.txt"
    res = tracefold.fs(src)
    assert res.kind == "syscall events" and res.figure == "ns"
    t = tracefold.read(src)
    exits = t[t.event.fillna("").str.startswith("sys_exit_")]
    assert 0 < len(res.instances) <= len(exits)
    for inst in res.instances:
        assert inst["dur_ns"] >= 0 and inst["layers"] == {"syscall": inst["dur_ns"]}
    one = res.instances[0]
    enter = t[t.line == one["line"]].iloc[0]
    assert enter.event == f"sys_enter_{one['syscall']}" and enter.ts_ns == one["ts_ns"]


def test_layer_stacks_streamed_equal_the_layer_tree():
    """The folded layer stacks are summed while reading; from the kept layer-run tree
    (keep_rows, what the Chrome export uses) they come out the same."""
    from collections import Counter
    for src in sorted(FS.glob("vm-*graph*.txt")) + sorted(FS.glob("vm-uftrace*.txt")):
        res = tracefold.fs(src, keep_rows=True)
        assert res.layer_rows
        child, path, want = Counter(), {}, Counter()
        for r in res.layer_rows:
            if r["parent_line"] is not None and r["dur_ns"] is not None:
                child[r["parent_line"]] += r["dur_ns"]
        for r in res.layer_rows:
            p = r["parent_line"]
            path[r["line"]] = (path[p] + ";" if p is not None else "") + r["name"]
            if r["dur_ns"] is not None:
                want[path[r["line"]]] += r["dur_ns"] - child[r["line"]]
        got = tracefold.fs(src).layer_stacks
        assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if v}
        assert not tracefold.fs(src).layer_rows          # not kept unless asked


@pytest.mark.parametrize("trace,op,layers", [
    ("vm-ftrace-graph-vfs_fsync_range.txt.gz", "vfs_fsync_range",
     {"vfs", "pagecache", "fs", "block", "irq", "sched"}),
    ("vm-ftrace-graph-submit_bio.txt", "submit_bio", {"block", "irq", "sched"}),
])
def test_graph_rooted_below_the_syscall(trace, op, layers, tmp_path):
    """set_graph_function=vfs_fsync_range / submit_bio (VM lab, tests/golden/fs/lab): no
    syscall in the trace, so the operation is the outermost file-system-layer call; its time
    is split by layer as for a syscall, exactly; interrupts and the scheduler inside it are
    layers of their own."""
    res = tracefold.fs(FS / trace)
    assert res.roots == "operation" and res.instances
    assert {i["syscall"] for i in res.instances} == {op}
    for inst in res.instances:
        if inst["dur_ns"] is not None and not inst["unclosed"]:
            assert sum(inst["layers"].values()) == inst["dur_ns"]
    (row,) = summarize(res)
    assert layers <= set(row["layers"])
    assert "other" not in row["layers"] or row["share"]["other"] < 0.05
    for fn in ("__common_interrupt", "clockevents_program_event", "trigger_load_balance",
               "update_io_ticks", "hrtimer_interrupt"):
        assert fn not in res.unknown
    p = run_cli("fs", FS / trace)
    assert p.returncode == 0 and op.encode() in p.stdout and b"no syscall" not in p.stdout
    p = run_cli("fs", FS / trace, "-o", tmp_path / "l.folded")
    lines = (tmp_path / "l.folded").read_text().splitlines()
    assert lines and all(ln.startswith(op) for ln in lines)
    assert any(";irq" in ln for ln in lines)
