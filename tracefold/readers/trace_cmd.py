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
        """funcgraph events become a batch for the GraphBuilder; their rows are dropped here."""
        gi = np.flatnonzero(graph)
        m = len(gi)
        b = G.empty_batch(m)
        sel = pa.array(graph)

        def col(k):
            return _np(p[k].filter(sel))
        b["line"] = _np(cols["line"].filter(sel)).astype(np.int64)
        b["cpu"] = _np(cols["cpu"].filter(sel).fill_null(-1)).astype(np.int64)
        b["tid"] = _np(cols["tid"].filter(sel).fill_null(-1)).astype(np.int64)
        b["comm"] = _np(cols["comm"].filter(sel))
        ts = cols["ts_ns"].filter(sel)
        b["ts"] = _np(ts.fill_null(0)).astype(np.int64)
        b["ts_ok"] = _np(ts.is_valid())
        b["tres"] = _np(cols["ts_res_ns"].filter(sel).fill_null(0)).astype(np.int64)
        if cols.get("flags") is not None:
            b["flags"] = _np(cols["flags"].filter(sel))
        pretty = kinds[gi] == "funcgraph"
        # pretty: "funcgraph_entry: 2.599 us | f();"  /  "funcgraph_exit: + 27.469 us | }"
        dur_txt = col("duration")
        indent = np.array([len(x) for x in col("indent")], np.int64)
        gentry, gleaf, gexit = (col(k) != "" for k in ("graph_entry", "graph_leaf", "graph_exit"))
        gfunc, tail = col("gfunc"), col("tail_func")
        retv, eret, ctext = col("retval"), col("exit_retval"), col("comment_text")
        # raw (-R): "func=X depth=N" / "... calltime=0x… rettime=0x…"
        ev, body = col("event_name"), col("body")
        kind = np.full(m, G.COMMENT, np.int8)
        for j in range(m):
            if pretty[j]:
                if dur_txt[j]:
                    b["dur"][j], b["dres"][j] = dec_text_ns(dur_txt[j], 3)
                    b["dur_ok"][j] = True
                b["depth"][j] = max(0, (indent[j] - 2) // 2)
                if gentry[j]:
                    kind[j], b["name"][j] = G.ENTRY, gfunc[j]
                elif gleaf[j]:
                    kind[j], b["name"][j], b["retval"][j] = G.LEAF, gfunc[j], retv[j] or None
                elif gexit[j]:
                    kind[j], b["name"][j], b["retval"][j] = G.EXIT, tail[j] or None, eret[j] or None
                else:
                    b["name"][j], b["text"][j] = "comment", ctext[j].strip()
                if kind[j] == G.ENTRY:
                    b["dur_ok"][j] = False
            else:
                f = dict(parse_fields(ev[j], body[j]))
                b["name"][j] = f.get("func") or None
                d = f.get("depth", "")
                b["depth"][j] = int(d, 0) if d.lstrip("-").isdigit() or d.startswith("0x") else 0
                if ev[j] == "funcgraph_entry":
                    kind[j] = G.ENTRY
                else:
                    kind[j] = G.EXIT
                    try:
                        call, ret = int(f["calltime"], 16), int(f["rettime"], 16)
                    except (KeyError, ValueError):
                        continue
                    b["dur"][j], b["dres"][j], b["dur_ok"][j] = ret - call, 1, True
                    b["ts"][j], b["tres"][j], b["ts_ok"][j] = ret, 1, True
                    b["start"][j], b["start_ok"][j] = call, True
        b["kind"] = kind
        self._tc_batch = b
        keep = ~graph
        for k in list(cols):
            v = cols[k]
            if v is None:
                continue
            if isinstance(v, list):
                cols[k] = [x for x, kp in zip(v, keep) if kp]
            else:
                cols[k] = v.filter(pa.array(keep))

    def process(self, chunk):
        self._tc_batch = None
        return super().process(chunk)

    def rare_rows(self, batch):
        # graph records of trace-cmd come from event lines (collected in _graph_events)
        return super().rare_rows(self._tc_batch)

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
