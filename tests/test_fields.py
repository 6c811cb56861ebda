"""Tracepoint payloads → fields, on payloads copied from the corpus."""
import pytest

from tracefold.readers.fields import parse_fields


@pytest.mark.parametrize("name,body,want", [
    ("sched_switch", "prev_comm=Web Content prev_pid=2711 prev_prio=120 prev_state=S ==> "
     "next_comm=swapper/3 next_pid=0 next_prio=120",
     {"prev_comm": "Web Content", "prev_state": "S", "next_comm": "swapper/3", "next_pid": "0"}),
    ("sched_switch", "trace-cmd:6244 [120] x ==> swapper/5:0 [120]",
     {"prev_comm": "trace-cmd", "prev_pid": "6244", "prev_state": "x", "next_comm": "swapper/5"}),
    ("sched_switch", "trace-cmd:89136 [120] R ==> migration/7:53 [0] Latency: 75.902 usecs",
     {"next_comm": "migration/7", "next_pid": "53", "latency_us": "75.902"}),
    ("sched_wakeup", "migration/5:43 [0] CPU:005", {"comm": "migration/5", "target_cpu": "005"}),
    ("sched_wakeup", "task fio:243615 [120] success=1 [031]",
     {"comm": "fio", "success": "1", "cpu": "031"}),
    ("sys_enter", "NR 172 (29, c350, 0, 0, 0, 0)", {"id": "172", "args": "29, c350, 0, 0, 0, 0"}),
    ("sys_exit", "NR 172 = 0", {"id": "172", "ret": "0"}),
    ("sys_enter_openat",
     "dfd: 0xffffff9c, filename: 0x7f0a6c5a60b1, flags: 0x00080000, mode: 0x00000000",
     {"dfd": "0xffffff9c", "flags": "0x00080000"}),
    ("sys_exit_openat", "0x3", {"ret": "0x3"}),
    ("tracing_mark_write", "B|18895|main", {"phase": "B", "pid": "18895", "name": "main"}),
    ("tracing_mark_write", "E|18895", {"phase": "E", "pid": "18895"}),
    ("tracing_mark_write", "C|1234|counter|42", {"phase": "C", "name": "counter", "value": "42"}),
    ("myopen", '(do_sys_open+0x0/0x220) filename="pg_stat_tmp/pgstat.stat"',
     {"ip": "do_sys_open+0x0/0x220", "filename": '"pg_stat_tmp/pgstat.stat"'}),
    ("block_rq_issue", "202,1 W 0 () 12862464 + 8 [supervise]",
     {"dev": "202,1", "rwbs": "W", "sector": "12862464", "nr_sector": "8", "comm": "supervise"}),
    ("ext4_da_write_end", "dev 8,13 ino 5898483 pos 0 len 4096 copied 4096",
     {"dev": "8,13", "ino": "5898483", "copied": "4096"}),
    ("softirq_entry", "vec=3 [action=NET_RX]", {"vec": "3", "action": "NET_RX"}),
    ("irq_handler_entry", "irq=30 name=ahci[0000:01:00.0]",
     {"irq": "30", "name": "ahci[0000:01:00.0]"}),
    ("bputs", "0xffff0000080feeb8s: equals_event: my_field=foo=bar", {"my_field": "foo=bar"}),
    ("cpu_idle", "state=4294967295 cpu_id=0", {"state": "4294967295", "cpu_id": "0"}),
    ("bprint", "select_task_rq_fair: fig: cpu=0\n gid=4", {"cpu": "0", "gid": "4"}),
    ("lock_release", "0xffffffff855e7448 trace_types_lock",
     {"msg": "0xffffffff855e7448 trace_types_lock"}),
])
def test_fields(name, body, want):
    got = dict(parse_fields(name, body))
    for k, v in want.items():
        assert got.get(k) == v, (k, got)


def test_pandas_dtypes_do_not_depend_on_the_file():
    """tracefold.read(): the same dtypes for every input (docs/schema.md), integers stay
    integers where values are missing, and ns beyond 2^53 survive."""
    import pandas as pd
    from conftest import GOLDEN, ROOT
    import tracefold
    inputs = sorted(p for p in GOLDEN.rglob("*") if p.is_file() and (
        p.name.endswith((".txt", ".txt.gz")) and "expected" not in p.name))
    inputs += sorted((ROOT / "samples").glob("*.txt"))
    assert len(inputs) > 20
    want = None
    for p in inputs:
        d = tracefold.read(p)
        dt = dict(d.dtypes.astype(str))
        want = want or dt
        assert dt == want, p
    for c in ("line", "end_line", "ts_ns", "ts_res_ns", "dur_ns", "dur_res_ns", "pid", "tid",
              "parent_line", "weight"):
        assert want[c] == "Int64", c
    assert want["cpu"] == want["depth"] == "Int32"
    assert want["kind"] == want["format"] == want["status"] == "category"
    # a timestamp beyond 2^53 ns next to a missing one keeps its nanoseconds
    import pyarrow as pa
    t = tracefold.read_arrow(GOLDEN / "uftrace-diff" / "base-01.txt.gz").slice(0, 3)
    ts = pa.array([2**53 + 1, None, 2**62 + 3], pa.int64())
    t = t.set_column(t.schema.get_field_index("ts_ns"), "ts_ns", ts)
    d = tracefold.api.to_pandas(t)
    assert d.ts_ns.dtype == pd.Int64Dtype() and d.pid.dtype == pd.Int64Dtype()
    assert d.ts_ns[0] == 2**53 + 1 and d.ts_ns[2] == 2**62 + 3 and d.ts_ns.isna()[1]
    assert d.pid.isna().all()
