"""perf script reader against `perf data convert --to-json` of the same perf.data
(../shared/generated/perf-cpuloop): every sample, its task, time and whole callchain."""
import json

import pandas as pd
import pytest

import tracefold
from conftest import GENERATED, need_shared

PAIRS = [("perf-script-O0.txt", "perf-O0.json"),
         ("perf-script-no-inline.txt", "perf.json"),
         ("perf-script.txt", "perf.json")]


@pytest.mark.parametrize("script,js", PAIRS)
def test_samples_equal_perf_json(script, js):
    need_shared()
    d = GENERATED / "perf-cpuloop"
    want = json.loads((d / js).read_text())["samples"]
    t = tracefold.read(d / script)
    info = tracefold.info(d / script)
    assert info["format"] == "perf-script" and info["unrecognized"] == 0
    assert len(t) == len(want)
    inlined_frames = 0
    for (_, r), w in zip(t.iterrows(), want):
        assert (r.tid if pd.isna(r.pid) else r.pid) == w["pid"] or r.tid == w["tid"]
        assert r.tid == w["tid"] and r.comm == w["comm"]
        # perf script prints µs; the JSON has the ns timestamp
        assert r.ts_ns == w["timestamp"] // 1000 * 1000 and r.ts_res_ns == 1000
        frames = list(zip(r.stack, r.stack_addr, r.stack_dso))[::-1]   # leaf first, as JSON
        if "(inlined)" not in script and "no-inline" not in script:
            inlined_frames += sum(1 for f in frames if f[2] == "inlined")
            frames = [f for f in frames if f[2] != "inlined"]
        chain = [(c.get("symbol", "[unknown]"), int(c["ip"], 16), c.get("dso", "[unknown]"))
                 for c in w.get("callchain", [])]
        assert [f[0] for f in frames] == [c[0] for c in chain]
        # perf script names the DSO by path, the JSON by file name
        assert [f[2].rsplit("/", 1)[-1] for f in frames] == [c[2] for c in chain]
        for (_, addr, dso), (_, ip, _) in zip(frames, chain):
            a = int(addr, 16)
            if dso == "[kernel.kallsyms]":
                assert a == ip
            else:
                # user frames: perf script prints the address within the DSO's mapping,
                # the JSON the absolute ip; both share the offset within the page
                assert a & 0xFFF == ip & 0xFFF
        assert r.weight >= 1 and r.event == "cpu-clock"
