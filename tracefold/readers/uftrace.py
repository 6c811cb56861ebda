"""uftrace replay text: grammar ``grammars/uftrace.lark``.

Calls nest per thread (TID column); durations are exact where the replay has the TIMESTAMP
field (exit − entry in ns), otherwise the printed duration with its precision (``%7.3f`` in
the printed unit: ``1.265 ms`` is µs-precise).
"""
from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import nesting as G
from .base import decimal_text_ns, np_of as _np, null_if_empty, \
    to_int
from .records import RecordReader

_UNIT_EXP = {"ns": 0, "us": 3, "ms": 6, "s": 9}
_LOST = r"^LOST (?P<count>\d+) records"      # an event comment: lost records
OFF_CPU = "linux:schedule"    # uftrace's sched events: "linux:schedule", "… (pre-empted)"
SCHED_IN = "linux:sched-in"


class UftraceReader(RecordReader):
    format = "uftrace"
    grammar = "uftrace"
    QUICK_RULES = ("column_header", "header_comment")
    description = "uftrace replay text (any -f fields, -a arguments, -K kernel functions)"
    graph_event = "uftrace"
    INNER = {"replay_line": "body"}
    CAPTURE = ("call_entry", "call_leaf", "call_exit", "event_comment")
    NOCAPTURE = ("address", "t2_val", "t2_unit", "t3_val", "t3_unit", "module", "backtrace",
                 "srcline", "srcline2")
    RULE_CAPTURE = {"flat_record": ("flat_entry", "flat_exit", "flat_event")}

    RULES = ("replay_line", "flat_record")
    EXACT_FROM_TIMESTAMPS = True

    def __init__(self, path="?"):
        super().__init__(path)
        self.columns = None          # from "# DURATION TID … FUNCTION"

    @classmethod
    def is_applicable(cls, lines):
        rx = cls._rx("replay_line", (), True, ("body",))
        body = cls._rx("body")
        content = [ln for ln in lines if ln.strip()][:200]
        if not content:
            return 0.0
        if cls._rx("column_header").match(content[0]):
            return 0.95
        other = cls._rx("other_output")
        if any(other.match(ln) for ln in content[:3]):
            return 0.5          # uftrace report/graph/dump/info output: no replay in it
        flat = cls._rx("flat_record")
        if sum(1 for ln in content if flat.match(ln)) > 0.8 * len(content):
            return 0.9
        bar = none = 0
        for ln in content:
            m = rx.match(ln)
            if not m:
                continue
            if m.group("bar"):
                bar += 1
            elif body.match(ln.strip()) and not ln.lstrip().startswith(("#", "=>")):
                none += 1
        return max(0.85 * bar / len(content), 0.5 * none / len(content))

    SPLIT = {"replay_line": ('"]"', "BAR")}

    _COLUMN_SYMBOLS = {"DURATION": "duration", "TID": "tid_col", "ADDRESS": "ADDRESS",
                       "TIMESTAMP": "TIMESTAMP", "TASK": "TASK", "MODULE": "MODULE"}

    def specialize(self, lines):
        """The column header says which fields every line has: specialize the fast path."""
        rx = re.compile(self.g.regex("column_header"))
        for i in range(min(5, len(lines))):
            m = rx.match(lines[i].as_py())
            if m:
                names = m.group("column_names").split()
                self._order_columns(names)
                times = sum(1 for x in names if x in ("TIMEDELTA", "ELAPSED"))
                absent = [sym for col, sym in self._COLUMN_SYMBOLS.items() if col not in names]
                absent += ["time2", "time3"][times:] + ["NONE_INDENT", "BACKTRACE"]
                self.absent = tuple(absent)
                # a blank DURATION (entries) is still a column; TID and TIMESTAMP never are
                self.present = tuple(sym for col, sym in self._COLUMN_SYMBOLS.items()
                                     if col in names and col in ("TID", "TIMESTAMP")) + ("BAR",)
                self._header_line = 1 + i
                break

    _header_line = None

    def unrecognized(self, line_no, text):
        # uftrace's own test outputs (and `uftrace live`) start with what the traced program
        # printed, before the replay's column header: not replay lines, but not lost either
        if self._header_line is not None and line_no < self._header_line:
            self.stats.skip("program output before the replay header")
            return
        super().unrecognized(line_no, text)

    _CANONICAL = ("duration", "tid_col", "ADDRESS", "TIMESTAMP", "time2", "time3", "TASK",
                  "MODULE")

    def _order_columns(self, names):
        """uftrace prints the -f fields in the order given (`-f time,duration,tid`); the
        grammar's ``columns`` rule lists them in the default order. For another order, use
        the grammar with ``columns`` made of the same column rules in the header's order."""
        seq, times = [], iter(("time2", "time3"))
        for x in names:
            sym = {"TIMEDELTA": None, "ELAPSED": None}.get(x, self._COLUMN_SYMBOLS.get(x, ""))
            if sym is None:
                sym = next(times, "")
            if sym:
                seq.append(sym)
        pos = [self._CANONICAL.index(x) for x in seq]
        if pos == sorted(pos):
            return
        parts = ["(duration _SP | BACKTRACE _SP)?" if x == "duration" else f"({x} _SP)?"
                 for x in seq]
        self.g = self.g.variant("columns", " ".join(parts))

    # ------------------------------------------------------------------ lines → records
    def graph_batch(self, matched, line_nos):
        for _, rule, f in self._rare_lines:
            if rule == "column_header":
                self.columns = f["column_names"].split()
        batches = []
        if "replay_line" in matched:
            batches.append(self._replay_batch(matched["replay_line"], line_nos))
        if "flat_record" in matched:
            batches.append(self._flat_batch(matched["flat_record"], line_nos))
        if not batches:
            return None
        return batches[0] if len(batches) == 1 else G.merge_batches(batches)

    def _flat_batch(self, matched, line_nos):
        """replay --flat: exact ns entry / exit times, explicit depth."""
        idx, c = matched
        n = len(idx)
        self.stats.event_lines += n
        b = G.new_batch(line_nos[idx], c["flat_tid"])
        b["ts"] = _np(to_int(c["flat_time"]).fill_null(0)).astype(np.int64)
        b["tres"] = np.ones(n, np.int64)
        b["ts_ok"] = c.nonempty("flat_time")
        b["depth"] = _np(to_int(c["flat_depth"]).fill_null(0)).astype(np.int64)
        exit_ = c.nonempty("flat_exit")
        kind = np.full(n, G.COMMENT, np.int8)
        kind[c.nonempty("flat_entry")] = G.ENTRY
        kind[exit_] = G.EXIT
        b["kind"] = kind
        b["dur"] = _np(to_int(c["flat_dur"]).fill_null(0)).astype(np.int64)
        b["dres"] = np.ones(n, np.int64)
        b["dur_ok"] = exit_
        ev = null_if_empty(c["flat_evname"])
        b["name"] = pc.if_else(pa.array(kind == G.COMMENT), ev, null_if_empty(c["flat_name"]))
        b["text"] = ev
        return b

    def _replay_batch(self, matched, line_nos):
        idx, c = matched
        n = len(idx)
        self.stats.event_lines += n
        b = G.new_batch(line_nos[idx], c["tid"])
        task = null_if_empty(c["task"])
        if self.columns and "MODULE" in self.columns and "TASK" not in self.columns:
            task = pa.nulls(n, pa.string())       # a lone name column is the module
        b["comm"] = task
        # durations in their printed unit, exactly: one pass with a unit exponent per row
        unit = pc.index_in(c["dur_unit"], value_set=pa.array(list(_UNIT_EXP)))
        exps = np.array(list(_UNIT_EXP.values()), np.int64)[_np(unit.fill_null(0))]
        dur, dres = decimal_text_ns(c["dur_val"], exps)
        dur, dres = _np(dur.fill_null(0)).astype(np.int64), _np(dres.fill_null(0)).astype(np.int64)
        b["dur"], b["dres"], b["dur_ok"] = dur, dres, c.nonempty("dur_val")
        has_ts = c.nonempty("timestamp")
        if has_ts.any():
            G.set_seconds(b, has_ts, c["timestamp"])
        indent = _np(pc.utf8_length(c["indent"])).astype(np.int64)
        none_indent = _np(pc.utf8_length(c["none_indent"])).astype(np.int64)
        has_bar = c.nonempty("bar")
        # "| main() {": one space before depth 0; -f none: no space
        b["depth"] = np.where(has_bar, np.maximum(0, (indent - 1) // 2), none_indent // 2)
        entry, leaf, exit_ = (c.nonempty(k) for k in ("call_entry", "call_leaf", "call_exit"))
        kind = np.full(n, G.COMMENT, np.int8)
        kind[entry], kind[leaf], kind[exit_] = G.ENTRY, G.LEAF, G.EXIT
        b["kind"] = kind
        ex = pa.array(exit_)
        name = pc.if_else(ex, null_if_empty(c["tail"]), null_if_empty(c["func"]))
        b["retval"] = pc.if_else(ex, null_if_empty(c["exit_retval"]), null_if_empty(c["retval"]))
        args = null_if_empty(c["args"])
        # "()" is no argument at all; arguments recorded with -a/-A keep their parentheses
        b["args"] = pc.if_else(pc.equal(args, "()"), None, args)
        com = kind == G.COMMENT
        text = pa.nulls(n, pa.string())
        if com.any():
            # event comments are named by their text; "LOST n records" ones are lost_events
            is_com = pa.array(com)
            ev = pc.if_else(is_com, c["event"], None)
            lost = pc.extract_regex(ev, _LOST)
            lost_n = pc.struct_field(lost, 0)
            if lost_n.null_count < n:
                self.stats.lost_events += int(pc.sum(pc.cast(lost_n, pa.int64())).as_py())
            name = pc.if_else(is_com, pc.if_else(lost.is_valid(), "lost_events", ev), name)
            text = ev
            # "/* linux:schedule */" with a duration: the thread was off the CPU for that long
            # (sched-out at the printed time); a call of its own, as `uftrace report` counts it
            off = com & b["dur_ok"] & _np(pc.fill_null(
                pc.starts_with(ev, OFF_CPU), False)).astype(bool)
            # when other tasks' records come between, uftrace prints the pair instead:
            # "/* linux:sched-out */" (no duration) … "/* linux:sched-in */" with the time off
            # the CPU, at the sched-in time; `uftrace report` counts it as linux:schedule
            sched_in = com & b["dur_ok"] & _np(pc.fill_null(
                pc.starts_with(ev, SCHED_IN), False)).astype(bool)
            if sched_in.any():
                b["ts"] = np.where(sched_in & b["ts_ok"], b["ts"] - b["dur"], b["ts"])
                b["tres"] = np.where(sched_in & b["ts_ok"], np.maximum(b["tres"], b["dres"]),
                                     b["tres"])
                name = pc.if_else(pa.array(sched_in),
                                  pc.replace_substring(ev, SCHED_IN, OFF_CPU, max_replacements=1),
                                  name)
                off |= sched_in
            if off.any():
                kind[off] = G.LEAF
                text = pc.if_else(pa.array(off), None, text)
        b["name"], b["text"] = name, text
        return b

    def rare_line(self, line, rule, f, rows):
        if rule == "column_header":
            self.stats.skip("header/comment")
        elif rule == "other_output":
            self.stats.skip("header of uftrace report/graph/dump/info output (not a replay)")
            self.stats.header["output"] = "not a replay: uftrace " + (
                "report" if "Total" in f.get("other_output", "") or "Self" in f.get(
                    "other_output", "") else "graph/dump/info/diff") + " output"
        elif rule == "task_separator":
            self.stats.skip("task separator (--task-newline)")
        elif rule.startswith("remaining_"):
            self.stats.skip("list of functions open when tracing stopped")
        elif rule == "diagnostic":
            self.stats.skip("uftrace diagnostic message")
            self.stats.warnings["uftrace diagnostic messages in the input"] += 1
        else:
            super().rare_line(line, rule, f, rows)
