"""Rebuilding complete calls from function_graph entry / exit / leaf records.

Shared by the ftrace reader (pretty function_graph text) and the trace-cmd reader (pretty and
``-R`` raw funcgraph_entry / funcgraph_exit events). Records arrive in input-line order; calls
nest per task (per CPU when the task is unknown, re-keyed at context-switch banners), and the
printed indentation / depth decides which entry an exit closes, so lost events, filtered
depths and traces that start inside a call degrade into counted ``unclosed`` / ``no_entry``
calls instead of a wrong tree.
"""
from __future__ import annotations

from ..schema import CALL, INSTANT, NO_ENTRY, UNCLOSED

# record kinds
ENTRY, LEAF, EXIT, COMMENT, SWITCH, LOST = "E", "L", "X", "C", "S", "!"


class Frame:
    __slots__ = ("line", "name", "ts", "ts_res", "depth", "tid", "pid", "comm", "cpu", "flags")

    def __init__(self, line, name, ts, ts_res, depth, tid, pid, comm, cpu, flags):
        self.line, self.name, self.ts, self.ts_res, self.depth = line, name, ts, ts_res, depth
        self.tid, self.pid, self.comm, self.cpu, self.flags = tid, pid, comm, cpu, flags


class GraphBuilder:
    COLS = ("line", "end_line", "kind", "event", "name", "ts_ns", "ts_res_ns", "dur_ns",
            "dur_res_ns", "pid", "tid", "comm", "cpu", "depth", "parent_line", "retval",
            "text", "flags", "status")

    def __init__(self, event="function_graph"):
        self.event = event
        self.stacks: dict = {}
        self.current: dict = {}      # cpu -> (tid, comm) from context-switch banners
        self.out = {c: [] for c in self.COLS}
        self.unclosed = 0
        self.orphans = 0

    # ------------------------------------------------------------------ output
    def _emit(self, line, end_line, kind, name, ts, ts_res, dur, dur_res, tid, pid, comm, cpu,
              depth, parent, retval=None, text=None, flags=None, status=None):
        o = self.out
        o["line"].append(line); o["end_line"].append(end_line); o["kind"].append(kind)
        o["event"].append(self.event if kind == CALL else "comment"); o["name"].append(name)
        o["ts_ns"].append(ts); o["ts_res_ns"].append(ts_res); o["dur_ns"].append(dur)
        o["dur_res_ns"].append(dur_res); o["pid"].append(pid); o["tid"].append(tid)
        o["comm"].append(comm); o["cpu"].append(cpu); o["depth"].append(depth)
        o["parent_line"].append(parent); o["retval"].append(retval); o["text"].append(text)
        o["flags"].append(flags); o["status"].append(status)

    def take(self) -> dict:
        out, self.out = self.out, {c: [] for c in self.COLS}
        return out

    def _close_unclosed(self, f: Frame, stack):
        self.unclosed += 1
        parent = stack[-1].line if stack else None
        self._emit(f.line, None, CALL, f.name, f.ts, f.ts_res, None, None, f.tid, f.pid, f.comm,
                   f.cpu, f.depth, parent, flags=f.flags, status=UNCLOSED)

    # ------------------------------------------------------------------ input
    def _key(self, cpu, tid):
        if tid is not None:
            return tid
        cur = self.current.get(cpu)
        return cur[0] if cur else ("cpu", cpu)

    def switch(self, cpu, prev_tid, prev_comm, next_tid, next_comm):
        anon = self.stacks.pop(("cpu", cpu), None)
        if anon and prev_tid is not None and not self.stacks.get(prev_tid):
            self.stacks[prev_tid] = anon
        elif anon:
            self.stacks[("cpu", cpu)] = anon
        self.current[cpu] = (next_tid, next_comm)

    def lost(self, cpu=None):
        """Lost events: every open call on that CPU (or everywhere) can no longer be closed."""
        for key in list(self.stacks):
            st = self.stacks[key]
            if cpu is not None and st and st[-1].cpu != cpu:
                continue
            while st:
                self._close_unclosed(st.pop(), st)

    def record(self, kind, line, cpu, tid, pid, comm, ts, ts_res, dur, dur_res, depth, name,
               retval=None, flags=None, text=None, start=None):
        """One graph record. For EXIT, ``ts`` is the exit time and ``start`` an exact entry
        time when the source has one (trace-cmd -R calltime)."""
        if tid is None and cpu in self.current:
            tid, comm = self.current[cpu]
        key = self._key(cpu, tid)
        stack = self.stacks.get(key)
        if stack is None:
            stack = self.stacks[key] = []
        if kind == ENTRY or kind == LEAF:
            if depth is None:
                depth = len(stack)
            while stack and stack[-1].depth >= depth:
                self._close_unclosed(stack.pop(), stack)
            if kind == ENTRY:
                stack.append(Frame(line, name, ts, ts_res, depth, tid, pid, comm, cpu, flags))
            else:
                parent = stack[-1].line if stack else None
                self._emit(line, None, CALL, name, ts, ts_res, dur, dur_res, tid, pid, comm, cpu,
                           depth, parent, retval=retval, flags=flags)
        elif kind == EXIT:
            if depth is None:
                depth = stack[-1].depth if stack else 0
            while stack and stack[-1].depth > depth:
                self._close_unclosed(stack.pop(), stack)
            if stack and stack[-1].depth == depth and (not name or not stack[-1].name
                                                        or _same(stack[-1].name, name)):
                f = stack.pop()
                start_res = f.ts_res
                if start is not None:
                    start_res = 1
                else:
                    start = f.ts
                if start is None and ts is not None and dur is not None:
                    start, start_res = ts - dur, ts_res
                parent = stack[-1].line if stack else None
                self._emit(f.line, line, CALL, f.name or name, start, start_res, dur, dur_res,
                           f.tid if f.tid is not None else tid, f.pid if f.pid is not None else pid,
                           f.comm or comm, f.cpu, depth, parent, retval=retval, flags=f.flags)
            else:
                self.orphans += 1
                if start is None:
                    start = ts - dur if (ts is not None and dur is not None) else None
                parent = stack[-1].line if stack and stack[-1].depth < depth else None
                self._emit(line, line, CALL, name, start, ts_res if start is not None else None,
                           dur, dur_res, tid, pid, comm, cpu, depth, parent, retval=retval,
                           flags=flags, status=NO_ENTRY)
        elif kind == COMMENT:
            parent = stack[-1].line if stack else None
            self._emit(line, None, INSTANT, name, ts, ts_res, None, None, tid, pid, comm, cpu,
                       depth, parent, text=text, flags=flags)

    def open_min_line(self):
        lines = [st[0].line for st in self.stacks.values() if st]
        return min(lines) if lines else None

    def finish(self):
        for key in list(self.stacks):
            st = self.stacks[key]
            while st:
                self._close_unclosed(st.pop(), st)


def _same(a: str, b: str) -> bool:
    # "ext4_file_open [ext4]" and "ext4_file_open" name the same function
    return a.split(" ", 1)[0] == b.split(" ", 1)[0]
