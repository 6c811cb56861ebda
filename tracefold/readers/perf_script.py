"""perf script text (and simpleperf's report-sample text): grammar ``grammars/perf_script.lark``.

Each sample becomes one row: kind ``sample``, its stack root → leaf (perf prints the innermost
frame first), its weight (the period where present, else 1), pid/tid/comm/cpu/time and event.
"""
from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import SAMPLE
from .base import Reader, decimal_ns, make_table, nonempty, null_if_empty, to_int
from .fields import parse_fields


def _np(a):
    return a.to_numpy(zero_copy_only=False)


def _split_dec(arr):
    parts = pc.split_pattern(pc.binary_join_element_wise(arr, ".", ""), ".", max_splits=1)
    return pc.list_element(parts, 0), pc.replace_substring(pc.list_element(parts, 1), ".", "")


class PerfScriptReader(Reader):
    format = "perf-script"
    grammar = "perf_script"
    description = "perf script text (default and -F layouts, --header) and simpleperf text"
    INNER = {"sample_header": "trailer"}   # the TRAILER text is matched with rule trailer

    def __init__(self, path="?"):
        super().__init__(path)
        # headers first: "dd 29776 666709.771979: …" would also read as a frame (dd is hex)
        self.order = ["sample_header", "frame"]
        self.hits = {r: 0 for r in self.order}
        self._carry = None        # last sample of the previous chunk (its frames may follow)

    @classmethod
    def is_applicable(cls, lines):
        g = cls._grammar()
        head = re.compile(g.regex("sample_header"))
        frame = re.compile(g.regex("frame"))
        content = [ln for ln in lines if ln.strip()][:300]
        if not content:
            return 0.0
        if any(ln.startswith("# ========") or ln.startswith("# captured on") for ln in content[:5]):
            return 0.95
        h = f = 0
        for ln in content:
            if head.match(ln):
                h += 1
            elif frame.match(ln):
                f += 1
        if not h:
            return 0.0
        # a sample header followed by indented callchain frames is unmistakable
        if f:
            return 0.9
        return 0.4 * h / len(content)

    @classmethod
    def _grammar(cls):
        from ..grammar import load
        return load(cls.grammar)

    def hold(self, b: bytes) -> bool:
        # callchain frames stay in the chunk of their sample header
        first = b.split(b"\n", 1)[0]
        return first[:1] in (b" ", b"\t") and first.strip() != b""

    # ------------------------------------------------------------------ chunks
    def process(self, chunk):
        lines = chunk.lines
        n = len(lines)
        st = self.stats
        st.lines += n
        line_nos = np.arange(chunk.first_line, chunk.first_line + n, dtype=np.int64)
        left = np.arange(n)
        matched = {}
        for rule in self.order:
            if len(left) == 0:
                break
            sub = lines if len(left) == n else lines.take(pa.array(left))
            if rule == "sample_header":
                mask, cols = self.fast(sub, rule)
                if mask.any():
                    # second stage: what follows the event name
                    imask, icols = self.fast(pc.utf8_rtrim(cols["trailer"], "\r"), "trailer")
                    cols.update(icols)
                    if not imask.all():
                        cols = cols.filter(pa.array(imask))
                        mask[np.flatnonzero(mask)[~imask]] = False
            else:
                mask, cols = self.fast(sub, rule)
            if mask.any():
                matched[rule] = (left[mask], cols)
                left = left[~mask]
        for i in left.tolist():
            text = lines[i].as_py()
            res = self.rare(text)
            if res is None:
                self.unrecognized(int(line_nos[i]), text)
            elif res[0] == "blank":
                st.skip("blank")
            else:
                st.skip("header/comment")
                self._header(res[1].get("hash_text", ""))
        return self._samples(matched, line_nos)

    _HDR = re.compile(r"^# (cmdline|event|captured on|hostname|os release|perf version|arch"
                      r"|nrcpus online|total memory|sample duration)\s*:\s*(.*)$")

    def _header(self, text):
        m = self._HDR.match(text)
        if m:
            self.stats.header.setdefault(m.group(1), m.group(2).strip())

    def _samples(self, matched, line_nos):
        st = self.stats
        tables = []
        if "sample_header" in matched:
            hidx, c = matched["sample_header"]
            hl = line_nos[hidx]
        else:
            hidx, c, hl = np.zeros(0, np.int64), None, np.zeros(0, np.int64)
        frames = {}
        if "frame" in matched:
            fidx, f = matched["frame"]
            fl = line_nos[fidx]
            owner = np.searchsorted(hl, fl) - 1
            addr, sym, dso = _np(f["addr"]), _np(f["sym"]), _np(f["dso"])
            orphan = owner < 0
            if orphan.any():
                if self._carry is not None:
                    # frames of the last sample of the previous chunk
                    frames[-1] = [(addr[i], sym[i], dso[i]) for i in np.flatnonzero(orphan)]
                else:
                    st.skip("stack frame without its sample", int(orphan.sum()))
            st.event_lines += int((~orphan).sum()) + (int(orphan.sum()) if -1 in frames else 0)
            for o, a, s_, d in zip(owner[~orphan].tolist(), addr[~orphan], sym[~orphan],
                                   dso[~orphan]):
                frames.setdefault(o, []).append((a, s_, d))
        if -1 in frames:
            self._carry_frames(frames.pop(-1))
        if c is not None and len(hl):
            t = self._flush_carry()
            if t is not None:
                tables.append(t)
            st.event_lines += len(hl)
            cols = self._header_columns(hl, c, frames)
            # the last sample may get more frames from the next chunk: keep it back
            n = len(hl)
            last = {k: (v[n - 1:] if v is not None else None) for k, v in cols.items()}
            self._carry = (last, frames.get(n - 1, []))
            if n > 1:
                tables.append(self._table({k: (v[:n - 1] if v is not None else None)
                                           for k, v in cols.items()}, frames, n - 1))
        if not tables:
            return None
        return pa.concat_tables(tables) if len(tables) > 1 else tables[0]

    def _carry_frames(self, more):
        last, fr = self._carry
        self._carry = (last, fr + more)

    def _flush_carry(self):
        if self._carry is None:
            return None
        last, fr = self._carry
        self._carry = None
        return self._table(last, {0: fr} if fr else {}, 1)

    def finish(self):
        return self._flush_carry()

    def _header_columns(self, hl, c, frames):
        n = len(hl)
        ts, res = decimal_ns(*_split_dec(c["time"]), 9)
        tid_txt = c["tid"]
        has_tid = nonempty(tid_txt)
        pid = to_int(c["pid"])
        # "comm 123" is the thread id; "comm 12/34" is pid/tid
        tid = pc.if_else(pa.array(has_tid), to_int(tid_txt), pid)
        pid = pc.if_else(pa.array(has_tid), pid, pa.nulls(n, pa.int64()))
        period = to_int(c["period"])
        return {
            "line": pa.array(hl, pa.int64()),
            "ts_ns": ts, "ts_res_ns": res,
            "pid": pid, "tid": tid, "comm": pc.utf8_trim_whitespace(c["comm"]),
            "cpu": pc.cast(to_int(c["cpu"]), pa.int32()),
            "event": c["event"],
            "weight": pc.fill_null(period, 1),
            "payload": null_if_empty(pc.utf8_trim_whitespace(c["payload"])),
            "iaddr": c["iaddr"], "isym": c["isym"], "idso": c["idso"],
        }

    def _table(self, cols, frames, n):
        stacks, addrs, dsos, names = [], [], [], []
        isym, iaddr, idso = (_np(cols[k]) for k in ("isym", "iaddr", "idso"))
        for i in range(n):
            fr = frames.get(i)
            if fr:
                fr = fr[::-1]                     # perf prints the innermost frame first
                stacks.append([x[1] for x in fr])
                addrs.append([x[0] for x in fr])
                dsos.append([x[2] or None for x in fr])
            elif isym[i]:
                stacks.append([isym[i]])
                addrs.append([iaddr[i]])
                dsos.append([idso[i] or None])
            else:
                stacks.append(None)
                addrs.append(None)
                dsos.append(None)
            names.append(stacks[-1][-1] if stacks[-1] else None)
        payload = _np(cols["payload"])
        event = _np(cols["event"])
        fields = [parse_fields(event[i].split(":")[-1], payload[i]) if payload[i] else None
                  for i in range(n)]
        out = {k: cols[k] for k in ("line", "ts_ns", "ts_res_ns", "pid", "tid", "comm", "cpu",
                                    "event", "weight")}
        out.update({
            "format": [self.format] * n, "kind": [SAMPLE] * n, "name": names,
            "stack": stacks, "stack_addr": addrs, "stack_dso": dsos,
            "text": cols["payload"], "fields": fields,
        })
        return make_table(out, n)
