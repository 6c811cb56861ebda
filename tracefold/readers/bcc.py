"""bcc stack tools' default output (profile, offcputime, offwaketime, stackcount):
grammar ``grammars/bcc.lark``.

Each entry (frames innermost first, the task, the count) becomes one ``sample`` row: its
stack root → leaf (with -d, the number of kernel frames before the ``--`` line in
``fields["kernel_frames"]``: the last ones of the stack), ``weight`` the count — for
offcputime and offwaketime the microseconds off CPU —, ``comm`` / ``pid`` from the task
line, ``event`` the tool (from its banner: ``profile``, ``offcputime``, ``stackcount``; ``bcc``
without one). offcputime before bcc 0.10 printed the task name as the last frame: read as
the comm when its banner says off-CPU. Entries cut before their count are skipped and counted.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import FORMAT_T, SAMPLE, repeat
from ..tables import grouped_lists, last_items
from .base import Reader, make_table, null_if_empty, to_int

CUT = "stack cut before its count"
TOOLS = (("Sampling at", "profile"), ("Tracing off-CPU", "offcputime"),
         ("Tracing off-CPU and waker", "offwaketime"), ("Tracing ", "stackcount"))


class BccReader(Reader):
    format = "bcc"
    grammar = "bcc"
    description = "bcc profile / offcputime / stackcount default (multi-line) output"
    order = ("count", "task", "delimiter", "frame")   # frames repeat: matched once per text

    def __init__(self, path="?"):
        super().__init__(path)
        self.tool = None

    @classmethod
    def is_applicable(cls, lines):
        content = [ln for ln in lines if ln.strip()][:300]
        if not content:
            return 0.0
        counts = sum(1 for ln in content if cls._rx("count").match(ln))
        frames = sum(1 for ln in content if cls._rx("frame").match(ln))
        if not counts or not frames:
            return 0.0
        banner = any(cls._rx("banner").match(ln) and not ln.startswith("^C") for ln in content)
        tasks = sum(1 for ln in content if cls._rx("task").match(ln))
        fit = (counts + frames) / len(content)
        # an indented list ending in numbers: a task line or the tool's banner makes it sure
        return (0.85 if tasks or banner else 0.35) * fit

    def hold(self, b: bytes) -> bool:
        # an entry's lines stay together: a chunk starts at a blank or unindented line
        return b[:1] in (b" ", b"\t")

    def parse(self, chunk):
        lines, n, line_nos = self.start_chunk(chunk)
        st = self.stats
        found, left = self.fast_in_order(lines, dedup=("frame", "delimiter"))
        delim = list(line_nos[found.pop("delimiter")[0]]) if "delimiter" in found else []
        breaks = []
        for i, text, res in self.read_rare(lines, left):
            ln = int(line_nos[i])
            if res is None:
                self.unrecognized(ln, text)
                breaks.append(ln)
            elif res[0] == "delimiter":
                delim.append(ln)
            elif res[0] == "banner":
                st.skip("banner")
                breaks.append(ln)
                self._banner(text)
            else:
                st.skip({"interval": "interval time (-T)", "truncated": "[...]"}.get(
                    res[0], "blank"))
                breaks.append(ln)
        return self._entries(found, np.asarray(delim, np.int64),
                             np.asarray(breaks, np.int64), line_nos)

    def _banner(self, text):
        if self.tool is None:
            for start, tool in sorted(TOOLS, key=lambda x: -len(x[0])):
                if text.startswith(start):
                    self.tool = tool
                    self.stats.header.setdefault("tool", tool)
                    break

    def _entries(self, found, delim, breaks, line_nos):
        st = self.stats
        empty = (np.zeros(0, np.int64), None)
        cidx, cc = found.get("count", empty)
        counts = line_nos[cidx]
        breaks = np.sort(breaks)
        # frames, delimiters and task lines belong to the next count line, unless a blank
        # or other line comes between
        parts = {"frame": line_nos[found.get("frame", empty)[0]], "delim": delim,
                 "task": line_nos[found.get("task", empty)[0]]}
        owner, ok = {}, {}
        for k, ln in parts.items():
            o = np.searchsorted(counts, ln)
            good = o < len(counts)
            good[good] = np.searchsorted(breaks, ln[good]) == \
                np.searchsorted(breaks, counts[o[good]])
            owner[k], ok[k] = o, good
            if (~good).any():
                st.skip(CUT, int((~good).sum()))
        m = len(counts)
        if not m:
            return None
        st.event_lines += m + sum(int(v.sum()) for v in ok.values())
        first = counts.copy()
        for k in parts:
            np.minimum.at(first, owner[k][ok[k]], parts[k][ok[k]])
        tool = self.tool or "bcc"
        cols = {"line": pa.array(first), "end_line": pa.array(counts),
                "format": repeat(self.format, m, FORMAT_T), "kind": repeat(SAMPLE, m, FORMAT_T),
                "event": repeat(tool, m), "weight": to_int(cc["count"])}
        comm = pa.nulls(m, pa.string())
        pid = pa.nulls(m, pa.int64())
        if ok["task"].any():
            tidx, tc = found["task"]
            sel = pa.array(ok["task"])
            at = np.full(m, -1, np.int64)
            at[owner["task"][ok["task"]]] = np.arange(int(ok["task"].sum()))
            take = pa.array(np.maximum(at, 0))
            has = pa.array(at >= 0)
            c = pc.if_else(pc.equal(tc["comm"], ""), tc["comm2"], tc["comm"]).filter(sel)
            p = pc.if_else(pc.equal(tc["pid"], ""), tc["pid2"], tc["pid"]).filter(sel)
            comm = pc.if_else(has, c.take(take), None)
            pid = pc.if_else(has, to_int(p).take(take), None)
        # frames in line order, innermost first; a "--" delimiter (-d) says how many of them
        # are the kernel's (printed first): fields["kernel_frames"]
        fidx, fc = found.get("frame", empty)
        fsel = ok["frame"]
        own = owner["frame"][fsel]
        f_line = parts["frame"][fsel]
        sym = fc["sym"].filter(pa.array(fsel)) if fc is not None else pa.array([], pa.string())
        addr = null_if_empty(fc["addr"]).filter(pa.array(fsel)) if fc is not None else \
            pa.array([], pa.string())
        d_own, d_line = owner["delim"][ok["delim"]], parts["delim"][ok["delim"]]
        if len(d_own):
            kernel = np.searchsorted(f_line, d_line) - np.searchsorted(f_line, first[d_own])
            fields = [None] * m
            for o, k in zip(d_own.tolist(), kernel.tolist()):
                fields[o] = [("kernel_frames", str(k))]
            cols["fields"] = pa.array(fields, pa.map_(pa.string(), pa.string()))
        if tool in ("offcputime", "offwaketime") and not ok["task"].any() and len(own):
            # old offcputime: the task name printed as the entry's last frame
            last = np.flatnonzero(np.append(own[1:] != own[:-1], True))
            names = sym.take(pa.array(last))
            comm = pa.array(_scatter(m, own[last], names.to_pylist()), pa.string())
            keep = np.ones(len(own), bool)
            keep[last] = False
            sym, addr, own = sym.filter(pa.array(keep)), addr.filter(pa.array(keep)), own[keep]
        if len(own):
            (stack, saddr), offsets, ncount = grouped_lists(m, own, (sym, addr), reverse=True)
            cols.update(stack=stack, name=last_items(stack, offsets, ncount))
            if addr.null_count < len(addr):         # -v: addresses printed
                cols["stack_addr"] = saddr
        cols.update(comm=comm, pid=pid)
        return make_table(cols, m)


def _scatter(n, idx, values):
    out = [None] * n
    for i, v in zip(idx.tolist(), values):
        out[i] = v
    return out
