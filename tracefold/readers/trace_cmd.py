"""trace-cmd report text: grammar ``grammars/trace_cmd.lark``.

Same event header as ftrace; the payload differs (padded event names, the function plugin,
funcgraph_entry / funcgraph_exit events in pretty and ``-R`` raw form, kernel_stack events).
"""
from __future__ import annotations

import re

import numpy as np
import pyarrow as pa

from ..schema import ENTRY, INSTANT
from . import graph as G
from .base import dec_text_ns
from .fields import parse_fields
from .ftrace import FtraceReader, _np

_TC_HEADER = re.compile(r"^(?:\s*\S+\.dat:\s*)?cpus=\d+\s*$|^version = \d+\s*$|^CPU \d+ is empty\s*$")


class TraceCmdReader(FtraceReader):
    format = "trace-cmd"
    grammar = "trace_cmd"
    description = "trace-cmd report text (plain, -l, -t, -R, --ts-diff, several .dat files)"
    INNER = {"event_line": "payload"}
    FUNC_COLUMN = 22     # trace-cmd pads "name:" to this width before the payload

    def __init__(self, path="?"):
        super().__init__(path)
        self.order = ["event_line", "stack_frame"]
        self.hits = {r: 0 for r in self.order}

    @classmethod
    def is_applicable(cls, lines):
        g = cls._grammar()
        ev = re.compile(g.regex("event_line", ("payload",)))
        content = [ln for ln in lines if ln.strip()][:200]
        if not content:
            return 0.0
        hdr = sum(1 for ln in content[:10] if _TC_HEADER.match(ln))
        other = [re.compile(g.regex(r)) for r in ("event_list_entry", "kallsyms_entry",
                                                   "cpu_list_header")]
        if content[0].startswith("List of CPUs") or sum(
                1 for ln in content if any(o.match(ln) for o in other)) > 0.9 * len(content):
            return 0.5
        hits = padded = strong = 0
        for ln in content:
            m = ev.match(ln)
            if m:
                hits += 1
                p = m.group("payload").lstrip()
                name, _, rest = p.partition(":")
                # libtraceevent pads "name:" to a column (ftrace prints one space) ...
                if rest.startswith("  "):
                    padded += 1
                # ... and prints events that ftrace's own tracers print differently
                if (name in ("function", "funcgraph_entry", "funcgraph_exit", "kernel_stack")
                        or name.startswith(("sys_enter_", "sys_exit_")) or " <-- " in p
                        or "[FAILED TO PARSE]" in p):
                    strong += 1
            elif ln.startswith("=>"):
                strong += 1
        score = 0.0
        if strong:
            score = 0.9
        elif hits and padded >= 0.5 * hits:
            score = 0.85
        if hdr:
            score = max(score, 0.95)
        return score

    def hold(self, b: bytes) -> bool:
        first = b.split(b"\n", 1)[0]
        # frame lines, stack markers and print-message continuations stay with their event
        return (first.lstrip(b" \t").startswith(b"=>") or b"stack trace" in first
                or (first[:1] == b" " and b"[" not in first and b")" not in first))

    def classify(self, p):
        kinds = super().classify(p)
        kinds[_nz(p["tc_symbol"])] = "function"
        kinds[_nz(p["graph_event"])] = "funcgraph"
        kinds[_nz(p["tc_stack_marker"])] = "stack_marker"
        ev = _np(p["event_name"])
        raw = (ev == "funcgraph_entry") | (ev == "funcgraph_exit")
        kinds[raw] = "funcgraph_raw"
        return kinds

    def event_rows(self, ln, c, stacks):
        # trace-cmd's symbols come from tc_symbol; the stack marker from tc_stack_marker
        c = c.filter(np.ones(c.n, bool)) if c.n else c
        c["stack_marker"] = c["tc_stack_marker"]
        return super().event_rows(ln, c, stacks)

    def fill_payload(self, cols, p, kinds, n):
        graph = (kinds == "funcgraph") | (kinds == "funcgraph_raw")
        fn = kinds == "function"
        super().fill_payload(cols, p, np.where(fn | graph, "other", kinds), n)
        tsym = _np(p["tc_symbol"])
        parent = _np(p["parent_symbol"])
        pad = _np(p["func_pad"])
        for i in np.flatnonzero(fn).tolist():
            cols["kind"][i], cols["event"][i] = ENTRY, "function"
            cols["name"][i] = tsym[i]
            cols["caller"][i] = parent[i] or None
            cols["text"][i] = cols["fields"][i] = None
        if fn.any():
            # the function plugin's indentation: 3 spaces per (guessed) call level
            depth = [None] * n
            for i in np.flatnonzero(fn).tolist():
                extra = len(pad[i]) - (self.FUNC_COLUMN - len("function:"))
                depth[i] = extra // 3 if extra >= 0 else None
            cols["depth"] = depth
        if graph.any():
            self._graph_events(cols, p, kinds, graph, n)

    def _graph_events(self, cols, p, kinds, graph, n):
        """funcgraph events go to the GraphBuilder; their rows are dropped here."""
        gev = _np(p["graph_event"])
        dur = _np(p["duration"])
        indent = _np(p["indent"])
        gfunc = _np(p["gfunc"])
        tail = _np(p["tail_func"])
        retval = _np(p["retval"])
        eret = _np(p["exit_retval"])
        body = _np(p["body"])
        ev = _np(p["event_name"])
        ctext = _np(p["comment_text"])
        gentry, gleaf, gexit = _nz(p["graph_entry"]), _nz(p["graph_leaf"]), _nz(p["graph_exit"])
        ts = _np(cols["ts_ns"])
        tsr = _np(cols["ts_res_ns"])
        tid = _np(cols["tid"])
        cpu = _np(cols["cpu"])
        comm = _np(cols["comm"])
        flags = _np(cols["flags"]) if cols.get("flags") is not None else [None] * n
        lines = _np(cols["line"])
        recs = []
        for i in np.flatnonzero(graph).tolist():
            t = None if ts[i] is None or ts[i] != ts[i] else int(ts[i])
            tr = None if t is None else int(tsr[i])
            base = (int(lines[i]), int(cpu[i]), _int(tid[i]), None, comm[i])
            if kinds[i] == "funcgraph":
                d = dec_text_ns(dur[i], 3) if dur[i] else (None, None)
                depth = max(0, (len(indent[i]) - 2) // 2)
                if gentry[i]:
                    rest = (G.ENTRY, gfunc[i], None)
                elif gleaf[i]:
                    rest = (G.LEAF, gfunc[i], retval[i] or None)
                elif gexit[i]:
                    rest = (G.EXIT, tail[i] or None, eret[i] or None)
                else:
                    rest = (G.COMMENT, "comment", None)
                kind, name, rv = rest
                if kind == G.ENTRY:
                    d = (None, None)
                recs.append((base, kind, t, tr, d[0], d[1], depth, name, rv, flags[i],
                             ctext[i] if kind == G.COMMENT else None))
            else:
                f = dict(parse_fields(ev[i], body[i]))
                name = f.get("func", "")
                depth = int(f["depth"]) if f.get("depth", "").lstrip("-").isdigit() else None
                if ev[i] == "funcgraph_entry":
                    recs.append((base, G.ENTRY, t, tr, None, None, depth, name, None, flags[i], None))
                else:
                    try:
                        call = int(f["calltime"], 16)
                        ret = int(f["rettime"], 16)
                        d = (ret - call, 1)
                        # exact ns start from calltime when it is on the same clock
                        t_exit = ret
                    except (KeyError, ValueError):
                        d, t_exit = (None, None), None
                    recs.append((base, G.EXIT, t_exit if t_exit is not None else t,
                                 1 if t_exit is not None else tr, d[0], d[1], depth, name, None,
                                 flags[i], ("start", call) if t_exit is not None else None))
        self._tc_graph = recs
        keep = ~graph
        for k in list(cols):
            v = cols[k]
            if v is None:
                continue
            if isinstance(v, list):
                cols[k] = [x for x, kp in zip(v, keep) if kp]
            else:
                cols[k] = v.filter(pa.array(keep))
        self._tc_keep = keep

    def process(self, chunk):
        self._tc_graph = []
        self._tc_keep = None
        return super().process(chunk)

    def rare_rows(self, graph_records):
        # graph records of trace-cmd come from event lines (collected in _graph_events)
        recs = []
        for (base, kind, t, tr, d, dr, depth, name, rv, flags, text) in self._tc_graph:
            line, cpu, tid, pid, comm = base
            recs.append((line, kind, cpu, tid, pid, comm, t, tr, d, dr, depth, name, rv, flags, text))
        recs.sort(key=lambda r: r[0])
        return super().rare_rows(recs)

    def other_rare(self, line, rule, f, rows):
        st = self.stats
        if rule == "cpus_line":
            st.skip("header")
            st.header["cpus"] = int(f["cpus"])
        elif rule == "version_line":
            st.skip("header")
            st.header["version"] = int(f["version"])
        elif rule == "cpu_empty":
            st.skip("header")
            st.header.setdefault("empty_cpus", []).append(int(f["empty_cpu"]))
        elif rule in ("event_list_entry", "kallsyms_entry", "cpu_list_header", "cpu_list_entry"):
            st.skip(f"no events: report listing ({rule})")
        elif rule == "latency_summary":
            st.skip("latency summary (report -w)")
        else:
            st.skip(rule)


def _nz(a):
    return np.asarray((a.to_numpy(zero_copy_only=False) != ""), dtype=bool)


def _int(x):
    if x is None or x != x:
        return None
    return int(x)
