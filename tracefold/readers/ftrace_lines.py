"""The lines ftrace and trace-cmd report share (the event header "task-pid [cpu] flags
ts: event: payload", stack-trace frames, function_graph records, ftrace's rare lines): helpers
mixed into both readers (``FtraceLines``), which are not derived from one another."""
from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import ENTRY, FORMAT_T, INSTANT, MARKER, repeat
from . import nesting as G
from ..tables import grouped_lists
from .base import decimal_ns, make_table, nonempty, null_if_empty, \
    np_of as _np, decimal_text_ns, to_int
from .fields import parse_fields, parse_syscall_args


class FtraceLines:
    """Event lines, stack frames and graph lines as ftrace prints them (for a RecordReader)."""

    PRINT_EVENTS = ("print", "bprint", "bputs", "tracing_mark_write")
    SPLIT = {"event_line": ('"]"', '":"'), "graph_line": ("_BAR", "GBAR")}

    def hold(self, b: bytes) -> bool:
        # frame lines, and the stack-trace marker that owns them, stay with the event before
        return b.lstrip(b" \t").startswith(b"=>") or b"stack trace" in b.split(b"\n", 1)[0] \
            or super().hold(b)

    def message_owners(self, matched, line_nos):
        """{chunk index of a print-like event line: its input line number}."""
        if "event_line" not in matched:
            return {}
        idx, cols = matched["event_line"]
        ev = _np(cols["event_name"])
        sel = np.isin(ev, self.PRINT_EVENTS)
        if not sel.any():
            return {}
        return {int(i): int(line_nos[i]) for i in idx[sel]}

    def specialize(self, lines):
        """Read the column legend of ftrace's header ('# CPU  DURATION  FUNCTION CALLS',
        '#  TASK-PID  CPU#  ||||  TIMESTAMP  FUNCTION') and leave out of the fast path the
        optional columns it says are not there."""
        for i in range(min(40, len(lines))):
            ln = lines[i].as_py()
            if not ln.startswith("#"):
                if ln.strip():
                    break
                continue
            if "FUNCTION CALLS" in ln:
                self.absent = tuple(sym for tok, sym in _GRAPH_LEGEND if tok not in ln)
                self.present = tuple(sym for tok, sym in _GRAPH_LEGEND if tok in ln
                                     and sym != "duration_col")
                if "DURATION" in ln:          # its "|" closes the column, even when blank
                    self.present += ("GBAR",)
                if "TIME" in ln:              # "REL TIME" (latency format): "0 us"
                    self.absent += ("ABSTIME",) if "REL TIME" in ln else ("REL_US",)
                return
            if "TIMESTAMP" in ln and "TASK-PID" in ln:
                self.absent = ("latency_columns",) + tuple(
                    sym for tok, sym in _EVENT_LEGEND if tok not in ln)
                self.present = tuple(sym for tok, sym in _EVENT_LEGEND if tok in ln)
                return
        # no legend (trace_pipe, a cut trace): guess the columns from the first lines
        absent, present = (), ()
        for rule, opaque, columns, required in (
                ("event_line", ("payload",), _EVENT_COLUMNS, ("FLAGS", "tgid_col")),
                ("graph_line", ("graph_body",), _GRAPH_COLUMNS,
                 ("graph_time", "gtask", "GFLAGS", "GBAR"))):
            guess = self.guess_columns(lines, rule, opaque, columns, required)
            if guess:
                absent, present = absent + guess[0], present + guess[1]
        if absent:
            self.absent, self.present = absent, present

    def line_rows(self, matched, line_nos):
        """Event lines (with the stack frames that follow them) → tables."""
        stacks = self._stacks(matched, line_nos)
        if "event_line" not in matched:
            return []
        idx, cols = matched["event_line"]
        return self.event_rows(line_nos[idx], cols, stacks)

    # ------------------------------------------------------------------ stack traces
    def _stacks(self, matched, line_nos):
        """Frames → (index of the event line before each frame, frame names), or None.

        The frame name is the symbol without its offset, or the address (0x…) when the frame
        has no symbol. Which event gets the stack is decided in event_rows."""
        if "stack_frame" not in matched:
            return None
        fidx, fcols = matched["stack_frame"]
        nf = len(fidx)
        if "event_line" not in matched:
            self.stats.skip("stack frame without its event", nf)
            return None
        addr = pc.replace_substring_regex(pc.utf8_trim(fcols["frame_addr"], "<>()"),
                                          r"^(?:0x)?0*", "")
        addr = pc.binary_join_element_wise("0x", pc.if_else(pc.equal(addr, ""), "0", addr), "")
        names = pc.if_else(pc.equal(fcols["frame"], ""), addr, fcols["frame"])
        elines = line_nos[matched["event_line"][0]]
        owner = np.searchsorted(elines, line_nos[fidx]) - 1
        ok = owner >= 0
        if not ok.all():
            self.stats.skip("stack frame without its event", int((~ok).sum()))
            owner, names = owner[ok], names.filter(pa.array(ok))
        self.stats.event_lines += int(ok.sum())
        return owner, names

    # ------------------------------------------------------------------ event lines
    def header_columns(self, ln, c):
        n = len(ln)
        sec, frac = c["seconds"], c["fraction"]
        ts, res = decimal_ns(sec, frac, 9)
        rel = c.get("rel_us")
        if rel is not None and nonempty(rel).any():
            rel_ns = pc.multiply(to_int(rel), 1000)
            has_rel = pc.not_equal(rel, "")
            ts = pc.if_else(has_rel, rel_ns, ts)
            res = pc.if_else(has_rel, pa.scalar(1000, pa.int64()), res)
        flags = c.get("flags")
        lat = c.get("lat_flags")
        if lat is not None:
            flags = pc.if_else(pc.equal(flags, ""), lat, flags) if flags is not None else lat
        tgid = to_int(pc.replace_substring_regex(c["tgid"], r"^-+$", "")) if "tgid" in c else None
        return {
            "line": pa.array(ln, pa.int64()),
            "format": repeat(self.format, n, FORMAT_T),
            "ts_ns": ts, "ts_res_ns": res,
            "tid": to_int(c["pid"]), "pid": tgid,
            "comm": c["comm"], "cpu": pc.cast(to_int(c["cpu"], 32), pa.int32()),
            "flags": null_if_empty(flags) if flags is not None else None,
        }

    def event_rows(self, ln, c, stacks):
        """Event lines → tables (function entries, syscalls, tracepoints, stack markers)."""
        st = self.stats
        head = self.header_columns(ln, c)
        p = c
        kinds = self.classify(p)
        out = []
        is_marker = p.nonempty("stack_marker")
        st.event_lines += len(ln)
        n0 = len(ln)
        target = np.arange(n0)
        if is_marker.any():
            # a stack-trace marker right after an event of the same task gives that event its
            # stack; otherwise the marker is an event of its own ("stack_trace")
            tid = _np(head["tid"].fill_null(-1))
            prev_ok = np.zeros(n0, bool)
            prev_ok[1:] = (~is_marker[:-1]) & (tid[1:] == tid[:-1]) & (ln[1:] == ln[:-1] + 1)
            attached = is_marker & prev_ok
            target[attached] -= 1
            if attached.any():
                st.skip("stack trace marker (attached to previous event)", int(attached.sum()))
                st.event_lines -= int(attached.sum())
            own = is_marker & ~attached
            if own.any():
                kinds = kinds.copy()
                kinds[own] = "stack_trace"
            keep = ~attached
            sel = pa.array(keep)
            head = {k: (v.filter(sel) if v is not None else None) for k, v in head.items()}
            p = p.filter(sel)
            ln = ln[keep]
            kinds = kinds[keep]
            new_index = np.cumsum(keep) - 1
            target = new_index[target]
        n = len(ln)
        if not n:
            return out
        stack_col = None
        if stacks is not None:
            owner, names = stacks
            # ftrace prints the innermost frame first
            (stack_col,), _, _ = grouped_lists(n, target[owner], (names,), reverse=True)
        cols = dict(head)
        cols["stack"] = stack_col
        for k in ("kind", "event", "name", "caller", "fields", "text", "retval"):
            cols[k] = [None] * n
        self.fill_payload(cols, p, kinds, n)
        if self._cont:
            self._apply_continuations(cols)
        out.append(make_table(cols, n))
        return out

    def _apply_continuations(self, cols):
        lines = cols["line"].to_pylist()
        text, fields, name = cols["text"], cols["fields"], cols["name"]
        if not isinstance(text, list):
            return
        for i, ln in enumerate(lines):
            more = self._cont.get(ln)
            if more and text[i] is not None:
                text[i] = "\n".join([text[i]] + more)
                fields[i] = parse_fields(name[i] or "", text[i])

    def classify(self, p):
        n = len(p["symbol"])
        kinds = np.full(n, "tracepoint", dtype=object)
        kinds[p.nonempty("symbol")] = "function"
        kinds[p.nonempty("stack_marker")] = "stack_marker"
        sysc = p.nonempty("syscall")
        ret = p.nonempty("syscall_ret")
        kinds[sysc & ~ret] = "sys_enter"
        kinds[sysc & ret] = "sys_exit"
        kinds[p.nonempty("sl_op")] = "sched_latency"
        return kinds

    def fill_payload(self, cols, p, kinds, n):
        sym = _np(p["symbol"])
        parent = _np(p["parent_symbol"])
        ev = _np(p["event_name"])
        body = _np(p["body"])
        hw = _np(p["hwlat_body"])
        sc = _np(p["syscall"])
        sargs = _np(p["syscall_args"])
        sret = _np(p["syscall_ret"])
        sl_op, sl_prev, sl_next = _np(p["sl_op"]), _np(p["sl_prev"]), _np(p["sl_next"])
        sl_cpu, sl_comm = _np(p["sl_cpu"]), _np(p["sl_comm"])
        kind, event, name, caller = cols["kind"], cols["event"], cols["name"], cols["caller"]
        fields, text, retval = cols["fields"], cols["text"], cols["retval"]
        fn = kinds == "function"
        if fn.all():
            cols["kind"] = repeat(ENTRY, n, FORMAT_T)
            cols["event"] = repeat("function", n)
            cols["name"] = p["symbol"]
            cols["caller"] = null_if_empty(p["parent_symbol"])
            return
        for i in range(n):
            k = kinds[i]
            if k == "function":
                kind[i], event[i], name[i], caller[i] = ENTRY, "function", sym[i], parent[i] or None
            elif k == "sys_enter":
                kind[i] = INSTANT
                event[i] = name[i] = "sys_enter_" + sc[i][4:]
                fields[i] = parse_syscall_args(sargs[i])
                text[i] = f"{sc[i]}({sargs[i]})"
            elif k == "sys_exit":
                kind[i] = INSTANT
                event[i] = name[i] = "sys_exit_" + sc[i][4:]
                retval[i] = sret[i]
                fields[i] = [("ret", sret[i])]
                text[i] = f"{sc[i]} -> {sret[i]}"
            elif k == "sched_latency":
                kind[i] = INSTANT
                event[i] = name[i] = "sched_wakeup" if sl_op[i] == "+" else "sched_switch"
                text[i] = f"{sl_prev[i]} {sl_op[i]} [{sl_cpu[i]}] {sl_next[i]} " \
                    f"{sl_comm[i]}".rstrip()
                pp = [x.strip() for x in sl_prev[i].split(":")]
                nn = [x.strip() for x in sl_next[i].split(":")]
                fields[i] = [("prev_pid", pp[0]), ("prev_prio", pp[1]), ("prev_state", pp[2]),
                             ("next_pid", nn[0]), ("next_prio", nn[1]), ("next_state", nn[2]),
                             ("target_cpu", sl_cpu[i])] + \
                    ([("next_comm", sl_comm[i])] if sl_comm[i] else [])
            elif k == "stack_trace":
                kind[i], event[i], name[i] = INSTANT, "stack_trace", "stack_trace"
            else:
                self.tracepoint(i, ev[i], body[i] or hw[i], kind, event, name, fields, text,
                                hwlat=bool(hw[i]), retval=retval)

    def tracepoint(self, i, ev, body, kind, event, name, fields, text, hwlat=False,
                   retval=None):
        if hwlat:
            ev = "hwlat"
        kind[i] = INSTANT
        event[i] = name[i] = ev
        text[i] = body
        fields[i] = parse_fields(ev, body)
        if retval is not None and ev.startswith("sys_exit_"):
            retval[i] = body.strip()

    # ------------------------------------------------------------------ function_graph
    def graph_batch(self, matched, line_nos):
        if "graph_line" not in matched:
            return None
        idx, cols = matched["graph_line"]
        return self.graph_rows(line_nos[idx], cols)

    def graph_rows(self, ln, c):
        """Graph lines → a batch of records (numpy columns) for the GraphBuilder."""
        n = len(ln)
        self.stats.event_lines += n
        b = G.empty_batch(n)
        b["line"] = np.asarray(ln, np.int64)
        b["cpu"] = _np(to_int(c["gcpu"], 32).fill_null(-1)).astype(np.int64)
        if c.nonempty("gpid").any():
            b["tid"] = _np(to_int(c["gpid"]).fill_null(-1)).astype(np.int64)
            b["comm"] = null_if_empty(pc.utf8_trim_whitespace(c["gcomm"]))
        else:
            b["comm"] = pa.nulls(n, pa.string())
        dur_ns, dur_res = decimal_text_ns(c["duration"], 3)
        b["dur_ok"] = c.nonempty("duration")
        b["dur"] = _np(dur_ns.fill_null(0)).astype(np.int64)
        b["dres"] = _np(dur_res.fill_null(0)).astype(np.int64)
        indent = _np(pc.utf8_length(c["indent"])).astype(np.int64)
        # "|  f()" puts 2 spaces before depth 0; without the "|" column (" 1) f()") it is 1
        base = np.where(c.nonempty("gbar"), 2, 1)
        b["depth"] = np.maximum(0, (indent - base) // 2)
        b["flags"] = null_if_empty(c["gflags"])
        entry, leaf, exit_ = c.nonempty("graph_entry"), c.nonempty("graph_leaf"), \
            c.nonempty("graph_exit")
        kind = np.full(n, G.COMMENT, np.int8)
        kind[entry], kind[leaf], kind[exit_] = G.ENTRY, G.LEAF, G.EXIT
        b["kind"] = kind
        ex = pa.array(exit_)
        b["name"] = pc.if_else(ex, null_if_empty(c["tail_func"]), null_if_empty(c["gfunc"]))
        b["retval"] = pc.if_else(ex, null_if_empty(c["exit_retval"]), null_if_empty(c["retval"]))
        b["text"] = pa.nulls(n, pa.string())
        com = kind == G.COMMENT
        if com.any():
            texts = _np(c["comment_text"])
            name = np.array(b["name"].to_pylist(), object)
            text = np.full(n, None, object)
            for i in np.flatnonzero(com).tolist():
                t = texts[i].strip()
                text[i] = t
                name[i] = t.split(":", 1)[0] if re.match(r"^[\w:]+: ", t) else "comment"
            b["name"], b["text"] = pa.array(name, pa.string()), pa.array(text, pa.string())
        has_abs = c.nonempty("abstime")
        if has_abs.any():
            G.set_seconds(b, has_abs, c["abstime"])
        rel = c.nonempty("rel_us")
        if rel.any():
            r = _np(to_int(c["rel_us"]).fill_null(0)).astype(np.int64) * 1000
            b["ts"] = np.where(rel, r, b["ts"])
            b["tres"] = np.where(rel, 1000, b["tres"])
            b["ts_ok"] = b["ts_ok"] | rel
        return b

    # ------------------------------------------------------------------ rare lines
    def rare_line(self, line, rule, f, rows):
        st = self.stats
        if rule == "lost_events":
            cnt = int(f["lost_count"])
            st.lost_events += cnt
            st.event_lines += 1
            cpu = int(f["lost_cpu"])
            self._losts.append((line, cpu))
            rows.append({"line": line, "kind": MARKER, "event": "lost_events",
                         "name": "lost_events", "cpu": cpu, "weight": cnt,
                         "fields": [("count", str(cnt))]})
        elif rule in ("banner_rule",):
            st.skip("context-switch banner")
        elif rule == "banner_switch":
            st.skip("context-switch banner")
            prev, nxt = f.get("prev_task", ""), f.get("next_task", "")
            pc_, pp = prev.rsplit("-", 1)
            nc, np_ = nxt.rsplit("-", 1)
            self._switches.append((line, int(f["bcpu"]), int(pp), pc_.strip(), int(np_),
                                   nc.strip()))
        elif rule == "irq_marker":
            st.skip("irq entry/exit marker")
        elif rule == "buffer_started":
            st.skip("buffer started marker")
        elif rule == "elision":
            st.skip("elision [...]")
        elif rule in ("stack_max_header", "stack_max_rule"):
            st.skip("header/comment")
        elif rule == "stack_max_entry":
            st.event_lines += 1
            rows.append({"line": line, "kind": INSTANT, "event": "stack_max",
                         "name": f["sm_func"], "depth": int(f["sm_depth"]),
                         "fields": [("depth", f["sm_depth"]), ("stack_bytes", f["sm_total"]),
                                    ("frame_bytes", f["sm_size"])],
                         "text": f["sm_func"] + f.get("sm_offset", "")})
        else:
            super().rare_line(line, rule, f, rows)

    _HDR = [
        (re.compile(r"^# tracer: (\S+)"), "tracer"),
        (re.compile(r"^# entries-in-buffer/entries-written: (\d+)/(\d+)\s+#P:(\d+)"), "entries"),
    ]

    def header_comment(self, text):
        h = self.stats.header
        m = self._HDR[0][0].match(text)
        if m:
            h["tracer"] = m.group(1)
            return
        m = self._HDR[1][0].match(text)
        if m:
            h["entries_in_buffer"], h["entries_written"], h["cpus"] = map(int, m.groups())
            if h["entries_written"] > h["entries_in_buffer"]:
                self.stats.warnings[
                    "ring buffer overwritten (entries-written > entries-in-buffer)"] = \
                    h["entries_written"] - h["entries_in_buffer"]


# optional columns (regex group, grammar symbol) guessed for files without a legend
_EVENT_COLUMNS = (("latency_columns", "latency_columns"), ("tgid_col", "tgid_col"),
                  ("flags", "FLAGS"))
_GRAPH_COLUMNS = (("graph_time", "graph_time"), ("abstime", "ABSTIME"), ("rel_us", "REL_US"),
                  ("gtask", "gtask"), ("gflags", "GFLAGS"), ("gbar", "GBAR"))

# column legend word of ftrace's header -> grammar symbol of that column
_GRAPH_LEGEND = (("TIME", "graph_time"), ("TASK/PID", "gtask"), ("||||", "GFLAGS"),
                 ("DURATION", "duration_col"))
_EVENT_LEGEND = (("TGID", "tgid_col"), ("|||", "FLAGS"))


