"""trace-cmd report text: grammar ``grammars/trace_cmd.lark``.

Same event header as ftrace; the payload differs (padded event names, the function plugin,
funcgraph_entry / funcgraph_exit events in pretty and ``-R`` raw form, kernel_stack events).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import MARKER, ENTRY, FORMAT_T, repeat
from . import nesting as G
from .base import decimal_text_ns, np_of as _np, null_if_empty
from .ftrace_lines import _EVENT_COLUMNS, FtraceLines
from .records import RecordReader


class TraceCmdReader(FtraceLines, RecordReader):
    format = "trace-cmd"
    grammar = "trace_cmd"
    description = "trace-cmd report text (plain, -l, -t, -R, --ts-diff, several .dat files)"
    INNER = {"event_line": "payload"}
    FUNC_COLUMN = 22     # trace-cmd pads "name:" to this width before the payload

    RULES = ("event_line", "stack_frame")
    CAPTURE = ("graph_entry", "graph_leaf", "graph_exit")
    DEDUP_RULES = ("stack_frame",)
    QUICK_RULES = ("header_comment",)
    NOCAPTURE = ("dur_mark", "delay_mark", "addr", "parent_addr", "sym_offset", "parent_offset",
                 "frame_offset")     # lines that repeat verbatim: match each distinct once
    graph_event = "function_graph"

    @classmethod
    def is_applicable(cls, lines):
        ev = cls._rx("event_line", ("payload",))
        content = [ln for ln in lines if ln.strip()][:200]
        if not content:
            return 0.0
        headers = [cls._rx(r) for r in ("cpus_line", "version_line", "cpu_empty")]
        hdr = sum(1 for ln in content[:10] if any(h.match(ln.rstrip()) for h in headers))
        other = [cls._rx(r) for r in ("event_list_entry", "kallsyms_entry", "cpu_list_header")]
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
        # as ftrace, and print-message continuations stay with their event too
        first = b.split(b"\n", 1)[0]
        return super().hold(b) or (first[:1] == b" " and b"[" not in first and b")" not in first)

    def classify(self, p):
        kinds = super().classify(p)
        kinds[p.nonempty("tc_symbol")] = "function"
        kinds[p.nonempty("graph_event")] = "funcgraph"
        kinds[p.nonempty("tc_stack_marker")] = "stack_marker"
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
        if graph.any():
            self._graph_events(cols, p, kinds, graph)
            keep = ~graph
            sel = pa.array(keep)
            p = p.filter(sel)
            kinds = kinds[keep]
            n = int(keep.sum())
        fn = kinds == "function"
        if n and fn.all():
            # the common case (function plugin output) stays vectorized
            cols["kind"] = repeat(ENTRY, n, FORMAT_T)
            cols["event"] = repeat("function", n)
            cols["name"] = p["tc_symbol"]
            cols["caller"] = null_if_empty(p["parent_symbol"])
            for k in ("fields", "text", "retval"):
                cols[k] = None
            pad = pc.utf8_length(p["func_pad"]).to_numpy(zero_copy_only=False)
            extra = pad - (self.FUNC_COLUMN - len("function:"))
            cols["depth"] = pa.array(extra // 3, pa.int32(), mask=extra < 0)
            return
        super().fill_payload(cols, p, np.where(fn, "other", kinds), n)
        for i, (ev, f) in enumerate(zip(cols["event"], cols["fields"])):
            if ev == "function" and f and f[0][0] == "ip":
                # report -R: "function: ip=ksys_read parent_ip=do_syscall_64"
                d = dict(f)
                cols["kind"][i], cols["name"][i] = ENTRY, d["ip"]
                cols["caller"][i] = d.get("parent_ip")
                cols["fields"][i] = cols["text"][i] = None
        tsym = _np(p["tc_symbol"])
        parent = _np(p["parent_symbol"])
        pad = _np(p["func_pad"])
        depth = [None] * n
        for i in np.flatnonzero(fn).tolist():
            cols["kind"][i], cols["event"][i] = ENTRY, "function"
            cols["name"][i] = tsym[i]
            cols["caller"][i] = parent[i] or None
            cols["text"][i] = cols["fields"][i] = None
            # the function plugin's indentation: 3 spaces per (guessed) call level
            extra = len(pad[i]) - (self.FUNC_COLUMN - len("function:"))
            depth[i] = extra // 3 if extra >= 0 else None
        if fn.any():
            cols["depth"] = depth

    def _graph_events(self, cols, p, kinds, graph):
        """funcgraph events become a batch for the GraphBuilder; their rows are dropped here."""
        sel = pa.array(graph)
        q = p.filter(sel)
        m = int(graph.sum())
        b = G.empty_batch(m)
        b["line"] = _np(cols["line"].filter(sel)).astype(np.int64)
        b["cpu"] = _np(cols["cpu"].filter(sel).fill_null(-1)).astype(np.int64)
        b["tid"] = _np(cols["tid"].filter(sel).fill_null(-1)).astype(np.int64)
        b["comm"] = cols["comm"].filter(sel)
        ts = cols["ts_ns"].filter(sel)
        b["ts"] = _np(ts.fill_null(0)).astype(np.int64)
        b["ts_ok"] = _np(ts.is_valid())
        b["tres"] = _np(cols["ts_res_ns"].filter(sel).fill_null(0)).astype(np.int64)
        b["flags"] = cols["flags"].filter(sel) if cols.get("flags") is not None else \
            pa.nulls(m, pa.string())
        pretty = kinds[graph] == "funcgraph"
        # pretty: "funcgraph_entry: 2.599 us | f();"  /  "funcgraph_exit: + 27.469 us | }"
        gentry, gleaf, gexit = (q.nonempty(k) for k in ("graph_entry", "graph_leaf", "graph_exit"))
        kind = np.full(m, G.COMMENT, np.int8)
        kind[gentry], kind[gleaf], kind[gexit] = G.ENTRY, G.LEAF, G.EXIT
        dur, dres = decimal_text_ns(q["duration"], 3)
        b["dur"] = _np(dur.fill_null(0)).astype(np.int64)
        b["dres"] = _np(dres.fill_null(0)).astype(np.int64)
        b["dur_ok"] = q.nonempty("duration") & (kind != G.ENTRY)
        indent = _np(pc.utf8_length(q["indent"])).astype(np.int64)
        b["depth"] = np.maximum(0, (indent - 2) // 2)
        ex = pa.array(gexit)
        name = pc.if_else(ex, null_if_empty(q["tail_func"]), null_if_empty(q["gfunc"]))
        b["retval"] = pc.if_else(ex, null_if_empty(q["exit_retval"]), null_if_empty(q["retval"]))
        com = pretty & (kind == G.COMMENT)
        raw = ~pretty
        if com.any() or raw.any():
            name = np.array(name.to_pylist(), object)
            b["text"] = np.full(m, None, object)
        if com.any():
            ctext = _np(q["comment_text"])
            for j in np.flatnonzero(com).tolist():
                name[j], b["text"][j] = "comment", ctext[j].strip()
        if raw.any():
            # raw (-R): "func=X depth=N" / "func=X depth=N overrun=0 calltime=0x… rettime=0x…"
            body = q["body"]
            kv = {k: _np(pc.extract_regex(body, rf"(?:^|\s){k}=(?P<v>\S+)").field("v")
                         .fill_null("")) for k in ("func", "depth", "calltime", "rettime")}
            ev = _np(q["event_name"])
            for j in np.flatnonzero(raw).tolist():
                name[j] = kv["func"][j] or None
                d = _small_int(kv["depth"][j])
                if d is None and kv["depth"][j]:
                    self.stats.warnings["raw funcgraph depth not a small number (read as 0)"] += 1
                b["depth"][j] = d or 0
                if ev[j] == "funcgraph_entry":
                    kind[j] = G.ENTRY
                    continue
                kind[j] = G.EXIT
                try:
                    call, ret = int(kv["calltime"][j], 16), int(kv["rettime"][j], 16)
                except ValueError:
                    continue
                if not (0 <= call < 1 << 62 and 0 <= ret < 1 << 62):
                    self.stats.warnings["raw funcgraph calltime/rettime out of range"] += 1
                    continue
                b["dur"][j], b["dres"][j], b["dur_ok"][j] = ret - call, 1, True
                b["ts"][j], b["tres"][j], b["ts_ok"][j] = ret, 1, True
                b["start"][j], b["start_ok"][j] = call, True
        b["name"] = name
        b["kind"] = kind
        self._tc_batch = b
        keep = pa.array(~graph)
        for k in list(cols):
            v = cols[k]
            if v is None:
                continue
            if isinstance(v, list):
                # untouched placeholder lists stay placeholders
                cols[k] = [None] * int((~graph).sum()) if v.count(None) == len(v) else \
                    [x for x, kp in zip(v, ~graph) if kp]
            else:
                cols[k] = v.filter(keep)

    SPLIT = {"event_line": ('"]"', '":"')}

    def specialize(self, lines):
        """trace-cmd prints no column legend: guess the optional columns of its event lines
        from the first ones."""
        guess = self.guess_columns(lines, "event_line", ("payload",), _EVENT_COLUMNS
                                   + (("dat_file", "DAT_FILE"),), ("FLAGS", "tgid_col"))
        if guess:
            self.absent, self.present = guess

    def parse(self, chunk):
        self._tc_batch = None
        p = super().parse(chunk)
        # graph records of trace-cmd come from event lines (collected in _graph_events)
        p["batch"] = self._tc_batch
        return p

    def other_rare(self, line, rule, f, rows):
        st = self.stats
        if rule == "dropped_events":
            # like ftrace's "[LOST N EVENTS]", sometimes without the number
            cpu = int(f["drop_cpu"])
            cnt = int(f["drop_count"]) if f.get("drop_count") else None
            st.event_lines += 1
            if cnt is None:
                st.warnings["CPU buffers that dropped events without saying how many"] += 1
            else:
                st.lost_events += cnt
            self._losts.append((line, cpu))
            rows.append({"line": line, "kind": MARKER, "event": "lost_events",
                         "name": "lost_events", "cpu": cpu, "weight": cnt,
                         "fields": [("count", str(cnt) if cnt is not None else "unknown")]})
        elif rule == "cpus_line":
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


def _small_int(text):
    """'3', '0x3' → 3; anything else (or beyond 2**31) → None."""
    try:
        v = int(text, 0)
    except (ValueError, TypeError):
        return None
    return v if 0 <= v < 1 << 31 else None
