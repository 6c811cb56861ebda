"""Lost events in real traces: trace-cmd's "CPU:0 [EVENTS DROPPED]" / "CPU:0 [43685 EVENTS
DROPPED]" (tests/golden/trace-cmd/graph-all-drops.txt.gz, a slice of a system-wide
function_graph recording whose report had 708 such lines) are counted in `info` and mark the
gap on that CPU in the Chrome JSON."""
import json

import pandas as pd

import tracefold
from conftest import GOLDEN, run_cli
from tracefold.writers.chrome_check import check_file

SRC = GOLDEN / "trace-cmd" / "graph-all-drops.txt.gz"


def test_dropped_events_are_counted():
    d = tracefold.info(SRC)
    assert d["format"] == "trace-cmd" and d["unrecognized"] == 0
    assert d["lost_events"] == 43685 + 2628
    assert d["warnings"]["CPU buffers that dropped events without saying how many"] == 2
    t = tracefold.read(SRC)
    m = t[t.event == "lost_events"]
    assert sorted(m.line) == [57, 3885, 3969, 4056]
    assert list(m.cpu) == [0, 0, 0, 1]
    assert [None if pd.isna(x) else x for x in m.weight] == [None, 43685, 2628, None]


def test_chrome_marks_the_gap_on_its_cpu(tmp_path):
    out = tmp_path / "t.json"
    p = run_cli("convert", SRC, "-o", out)
    assert p.returncode == 0, p.stderr
    assert check_file(out)["ok"]
    ev = json.loads(out.read_text())["traceEvents"]
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in ev
             if e["ph"] == "M" and e["name"] == "thread_name"}
    gaps = [e for e in ev if e.get("cat") == "lost"]
    assert len(gaps) == 4 and all(e["ph"] == "X" and e["dur"] > 0 for e in gaps)
    assert {names[(e["pid"], e["tid"])] for e in gaps} == {"CPU 0 lost events",
                                                           "CPU 1 lost events"}
    assert [e["args"]["count"] for e in gaps if e["args"]["cpu"] == 0] == [None, 43685, 2628]
    # each gap spans from the CPU's last event before the marker to its next one after it
    t = tracefold.read(SRC).sort_values("line")
    base = json.loads(out.read_text())["otherData"]["tracefold"]["time_origin_ns"]
    for g in gaps:
        cpu, line = g["args"]["cpu"], g["args"]["line"]
        on = t[(t.cpu == cpu) & t.ts_ns.notna()]
        nxt = on[on.line > line].ts_ns.iloc[0]
        assert round((g["ts"] + g["dur"]) * 1000) == nxt - base
        before = on[on.line < line]
        if len(before):
            assert round(g["ts"] * 1000) == before.ts_ns.iloc[-1] - base
