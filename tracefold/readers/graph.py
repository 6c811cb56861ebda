"""Rebuilding complete calls from function_graph entry / exit / leaf records.

Shared by the ftrace reader (pretty function_graph text) and the trace-cmd reader (pretty and
``-R`` raw funcgraph_entry / funcgraph_exit events). Calls nest per task (per CPU when the
task is unknown, re-keyed at context-switch banners), and the printed indentation / depth
decides which entry an exit closes, so lost events, filtered depths and traces that start
inside a call degrade into counted ``unclosed`` / ``no_entry`` calls instead of a wrong tree.

Two paths compute the same result:
* a vectorized one (numpy) for a task's records in a chunk when they are well nested (every
  record's depth equals the number of calls open before it: the normal case), and
* a record-by-record one for everything else (lost events, missing entries or exits).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..schema import CALL, FORMAT_T, INSTANT, NO_ENTRY, UNCLOSED, choose

# record kinds
ENTRY, LEAF, EXIT, COMMENT = 0, 1, 2, 3


def empty_batch(n=0):
    return {
        "line": np.zeros(n, np.int64), "kind": np.zeros(n, np.int8), "cpu": np.zeros(n, np.int64),
        "tid": np.full(n, -1, np.int64), "pid": np.full(n, -1, np.int64),
        "comm": np.full(n, None, object), "ts": np.zeros(n, np.int64),
        "ts_ok": np.zeros(n, bool), "tres": np.zeros(n, np.int64), "dur": np.zeros(n, np.int64),
        "dur_ok": np.zeros(n, bool), "dres": np.zeros(n, np.int64),
        "depth": np.zeros(n, np.int64), "name": np.full(n, None, object),
        "retval": np.full(n, None, object), "flags": np.full(n, None, object),
        "text": np.full(n, None, object), "args": np.full(n, None, object),
        "start": np.zeros(n, np.int64),
        "start_ok": np.zeros(n, bool),
    }


def set_seconds(b, mask, text):
    """Batch times from decimal seconds text (exact ns, resolution from the digits)."""
    from .base import decimal_text_ns
    ts, tres = decimal_text_ns(text, 9)
    b["ts"] = ts.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    b["tres"] = tres.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    b["ts_ok"] = mask


def new_batch(lines, tid_text=None):
    """A batch for these input lines: unknown cpu, no comm / flags yet, tid from text."""
    from .base import to_int
    n = len(lines)
    b = empty_batch(n)
    b["line"] = np.asarray(lines, np.int64)
    b["cpu"] = np.full(n, -1, np.int64)
    if tid_text is not None:
        b["tid"] = to_int(tid_text).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    b["comm"] = pa.nulls(n, pa.string())
    b["flags"] = pa.nulls(n, pa.string())
    return b


def merge_batches(batches):
    """Concatenate record batches and put them in line order."""
    out = {}
    for k in batches[0]:
        vals = [b[k] for b in batches]
        if any(isinstance(v, (pa.Array, pa.ChunkedArray)) for v in vals):
            vals = [v if isinstance(v, pa.Array) else pa.array(v, pa.string()) for v in vals]
            out[k] = pa.concat_arrays([v.cast(pa.string()) for v in vals])
        else:
            out[k] = np.concatenate(vals)
    order = np.argsort(out["line"], kind="stable")
    for k, v in out.items():
        out[k] = v.take(pa.array(order)) if isinstance(v, pa.Array) else v[order]
    return out


class Frame:
    __slots__ = ("line", "name", "ts", "ts_res", "depth", "tid", "pid", "comm", "cpu", "flags",
                 "args")

    def __init__(self, line, name, ts, ts_res, depth, tid, pid, comm, cpu, flags, args=None):
        self.line, self.name, self.ts, self.ts_res, self.depth = line, name, ts, ts_res, depth
        self.tid, self.pid, self.comm, self.cpu, self.flags = tid, pid, comm, cpu, flags
        self.args = args


OUT_COLS = ("line", "end_line", "kind", "event", "name", "ts_ns", "ts_res_ns", "dur_ns",
            "dur_res_ns", "pid", "tid", "comm", "cpu", "depth", "parent_line", "retval",
            "text", "flags", "status", "args")


def _none(x):
    return None if x is None or x < 0 else int(x)


class GraphBuilder:
    def __init__(self, event="function_graph", exact_from_timestamps=False):
        """``exact_from_timestamps``: entry and exit records carry the event times (uftrace
        -f time), so a call's duration is exit - entry, exactly, in ns."""
        self.event = event
        self.exact_ts = exact_from_timestamps
        self.stacks: dict = {}       # key (tid, or ("cpu", n)) -> [Frame] open calls
        self.current: dict = {}      # cpu -> (tid, comm) from context-switch banners
        self.rows = {c: [] for c in OUT_COLS}     # record-by-record output
        self.pieces = []                           # vectorized output (dicts of arrays)
        self.unclosed = 0
        self.orphans = 0

    # ================================================================== output
    def take(self):
        """(rows as dict of lists, list of dicts of numpy arrays) produced since last take."""
        rows, self.rows = self.rows, {c: [] for c in OUT_COLS}
        pieces, self.pieces = self.pieces, []
        return rows, pieces

    def _emit(self, line, end_line, kind, name, ts, ts_res, dur, dur_res, tid, pid, comm, cpu,
              depth, parent, retval=None, text=None, flags=None, status=None, args=None):
        o = self.rows
        o["args"].append(args)
        o["line"].append(line); o["end_line"].append(end_line); o["kind"].append(kind)
        o["event"].append(self.event if kind == CALL else "comment"); o["name"].append(name)
        o["ts_ns"].append(ts); o["ts_res_ns"].append(ts_res); o["dur_ns"].append(dur)
        o["dur_res_ns"].append(dur_res); o["pid"].append(pid); o["tid"].append(tid)
        o["comm"].append(comm); o["cpu"].append(cpu); o["depth"].append(depth)
        o["parent_line"].append(parent); o["retval"].append(retval); o["text"].append(text)
        o["flags"].append(flags); o["status"].append(status)

    def _close_unclosed(self, f: Frame, stack):
        self.unclosed += 1
        parent = stack[-1].line if stack else None
        self._emit(f.line, None, CALL, f.name, f.ts, f.ts_res, None, None, f.tid, f.pid, f.comm,
                   f.cpu, f.depth, parent, flags=f.flags, status=UNCLOSED, args=f.args)

    def open_min_line(self):
        lines = [st[0].line for st in self.stacks.values() if st]
        return min(lines) if lines else None

    def finish(self):
        for key in list(self.stacks):
            st = self.stacks[key]
            while st:
                self._close_unclosed(st.pop(), st)

    # ================================================================== state changes
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

    # ================================================================== record by record
    def record(self, kind, line, cpu, tid, pid, comm, ts, ts_res, dur, dur_res, depth, name,
               retval=None, flags=None, text=None, start=None, args=None):
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
                stack.append(Frame(line, name, ts, ts_res, depth, tid, pid, comm, cpu, flags, args))
            else:
                parent = stack[-1].line if stack else None
                self._emit(line, None, CALL, name, ts, ts_res, dur, dur_res, tid, pid, comm, cpu,
                           depth, parent, retval=retval, flags=flags, args=args)
        elif kind == EXIT:
            if depth is None:
                depth = stack[-1].depth if stack else 0
            while stack and stack[-1].depth > depth:
                self._close_unclosed(stack.pop(), stack)
            if stack and stack[-1].depth == depth and (not name or not stack[-1].name
                                                        or _same(stack[-1].name, name)):
                f = stack.pop()
                if (self.exact_ts and start is None and f.ts is not None and ts is not None
                        and f.ts_res == 1 and ts_res == 1):
                    dur, dur_res = ts - f.ts, 1
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
                           f.comm or comm, f.cpu, depth, parent, retval=retval, flags=f.flags,
                           args=f.args)
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
            self._emit(line, None, INSTANT, name, ts, ts_res, dur, dur_res, tid, pid, comm, cpu,
                       depth, parent, text=text, flags=flags)

    def _record_row(self, b, i):
        g = lambda col, ok=None: (int(b[col][i]) if (ok is None or b[ok][i]) else None)  # noqa
        sv = lambda col: _str_at(b[col], i)  # noqa
        self.record(int(b["kind"][i]), int(b["line"][i]), _none(b["cpu"][i]), _none(b["tid"][i]),
                    _none(b["pid"][i]), sv("comm"), g("ts", "ts_ok"), g("tres", "ts_ok"),
                    g("dur", "dur_ok"), g("dres", "dur_ok"), int(b["depth"][i]), sv("name"),
                    retval=sv("retval"), flags=sv("flags"), text=sv("text"),
                    start=g("start", "start_ok"), args=sv("args"))

    # ================================================================== batches
    def feed_batch(self, b: dict, switches=(), losts=()):
        """Records of one chunk (numpy columns, in line order) with the chunk's context-switch
        banners ``(line, cpu, prev_tid, prev_comm, next_tid, next_comm)`` and lost-event
        markers ``(line, cpu)``."""
        n = len(b["line"])
        if losts or not n:
            # lost events change the state mid-chunk: go record by record, in line order
            events = sorted([(int(b["line"][i]), 0, i) for i in range(n)]
                            + [(s[0], 1, s) for s in switches] + [(l[0], 2, l) for l in losts],
                            key=lambda e: e[0])
            for _, typ, x in events:
                if typ == 0:
                    self._record_row(b, x)
                elif typ == 1:
                    self.switch(*x[1:])
                else:
                    self.lost(x[1])
            return
        keys = self._assign_keys(b, switches)
        order = np.argsort(keys, kind="stable")
        skeys = keys[order]
        bounds = np.flatnonzero(np.diff(skeys)) + 1
        for grp in np.split(order, bounds):
            self._feed_group(b, grp, int(keys[grp[0]]))

    def _assign_keys(self, b, switches):
        """Integer stream key per record: the tid when known, else the task that the
        context-switch banners say runs on that CPU, else -(cpu + 1)."""
        tid = b["tid"]
        unknown = tid < 0
        keys = tid.copy()
        if not unknown.any():
            return keys
        if not isinstance(b["comm"], np.ndarray):
            b["comm"] = np.array(b["comm"].to_pylist(), object)
        cpus = np.unique(b["cpu"][unknown])
        sw_by_cpu = {}
        for s in switches:
            sw_by_cpu.setdefault(s[1], []).append(s)
        for c in cpus.tolist():
            m = unknown & (b["cpu"] == c)
            idx = np.flatnonzero(m)
            sws = sw_by_cpu.get(c, [])
            cur = self.current.get(c)
            if not sws:
                if cur is not None:
                    keys[idx] = cur[0]
                    b["tid"][idx] = cur[0]
                    b["comm"][idx] = cur[1]
                else:
                    keys[idx] = -(c + 1)
                continue
            before = cur
            first = sws[0]
            if cur is None and first[2] is not None:
                # records before the first banner ran as the task it switches away from; so
                # does the CPU's anonymous stack of calls still open
                anon = self.stacks.pop(("cpu", c), None)
                if anon and self.stacks.get(first[2]):
                    self.stacks[("cpu", c)] = anon      # conflicting history: stay anonymous
                else:
                    if anon:
                        self.stacks[first[2]] = anon
                    before = (first[2], first[3])
            sw_lines = np.array([s[0] for s in sws], np.int64)
            pos = np.searchsorted(sw_lines, b["line"][idx]) - 1
            for j, p in zip(idx.tolist(), pos.tolist()):
                if p >= 0:
                    t, cm = sws[p][4], sws[p][5]
                elif before is not None:
                    # nest with that task's calls, but the line itself does not say which
                    # task it is (a chunked read could not know either): tid stays null
                    keys[j] = before[0] if before[0] is not None else -(c + 1)
                    if before is cur:
                        b["tid"][j], b["comm"][j] = cur
                    continue
                else:
                    t, cm = None, None
                if t is None:
                    keys[j] = -(c + 1)
                else:
                    keys[j] = t
                    b["tid"][j] = t
                    b["comm"][j] = cm
            self.current[c] = (sws[-1][4], sws[-1][5])
        return keys

    def _feed_group(self, b, idx, key):
        skey = key if key >= 0 else ("cpu", -key - 1)
        carried = self.stacks.get(skey) or []
        kind = b["kind"][idx]
        depth = b["depth"][idx]
        is_e = kind == ENTRY
        is_x = kind == EXIT
        opened = np.cumsum(is_e) - np.cumsum(is_x) + len(carried)
        before = opened - is_e + is_x            # calls open before each record
        want = np.where(is_x, before - 1, before)
        carried_ok = all(f.depth == k for k, f in enumerate(carried))
        if not (carried_ok and np.array_equal(depth, want) and (before - is_x >= 0).all()):
            for i in idx.tolist():
                self._record_row(b, i)
            return
        self._vector_group(b, idx, carried, skey, is_e, is_x, depth)

    def _vector_group(self, b, idx, carried, skey, is_e, is_x, depth):
        nc = len(carried)
        m = len(idx)
        # positions: carried frames first (0..nc-1), then the records (nc..nc+m-1)
        pos = np.arange(nc + m)
        all_depth = np.concatenate([np.arange(nc), depth])
        all_e = np.concatenate([np.ones(nc, bool), is_e])
        all_x = np.concatenate([np.zeros(nc, bool), is_x])
        e_pos_by_depth = {}
        for d in np.unique(all_depth).tolist():
            e_pos_by_depth[d] = pos[all_e & (all_depth == d)]
        # the entry each exit closes: the last entry of the same depth before it
        match = np.full(nc + m, -1, np.int64)           # for exits: position of the entry
        closed_by = np.full(nc + m, -1, np.int64)       # for entries: position of the exit
        for d, epos in e_pos_by_depth.items():
            xs = pos[all_x & (all_depth == d)]
            if len(xs):
                j = np.searchsorted(epos, xs) - 1
                match[xs] = epos[j]
                closed_by[epos[j]] = xs
        # parent: the last entry one level up, before the record
        parent_pos = np.full(nc + m, -1, np.int64)
        for d in np.unique(all_depth).tolist():
            if d == 0 or (d - 1) not in e_pos_by_depth:
                continue
            sel = pos[all_depth == d]
            epos = e_pos_by_depth[d - 1]
            j = np.searchsorted(epos, sel) - 1
            parent_pos[sel] = np.where(j >= 0, epos[np.maximum(j, 0)], -1)
        # per-position attributes (carried frames + records)
        line = np.concatenate([np.array([f.line for f in carried], np.int64), b["line"][idx]])

        def cat(col, from_frame, dtype):
            return np.concatenate([np.array([from_frame(f) for f in carried], dtype=dtype),
                                   b[col][idx]])
        idx_arr = pa.array(idx)

        def scat(col, from_frame=None):
            """carried values + this group's values of a string column, as one Arrow array."""
            head = pa.array([from_frame(f) for f in carried] if from_frame else [None] * nc,
                            pa.string())
            v = b[col]
            body = pa.array(v[idx], pa.string()) if isinstance(v, np.ndarray) else v.take(idx_arr)
            return pa.concat_arrays([head, body.cast(pa.string())])
        ts = cat("ts", lambda f: f.ts if f.ts is not None else 0, np.int64)
        ts_ok = cat("ts_ok", lambda f: f.ts is not None, bool)
        tres = cat("tres", lambda f: f.ts_res or 0, np.int64)
        tid = cat("tid", lambda f: f.tid if f.tid is not None else -1, np.int64)
        pid = cat("pid", lambda f: f.pid if f.pid is not None else -1, np.int64)
        cpu = cat("cpu", lambda f: f.cpu if f.cpu is not None else -1, np.int64)
        comm = scat("comm", lambda f: f.comm)
        name = scat("name", lambda f: f.name)
        flags = scat("flags", lambda f: f.flags)
        retval = scat("retval")
        text = scat("text")
        args = scat("args", lambda f: f.args)
        dur = np.concatenate([np.zeros(nc, np.int64), b["dur"][idx]])
        dur_ok = np.concatenate([np.zeros(nc, bool), b["dur_ok"][idx]])
        dres = np.concatenate([np.zeros(nc, np.int64), b["dres"][idx]])
        start = np.concatenate([np.zeros(nc, np.int64), b["start"][idx]])
        start_ok = np.concatenate([np.zeros(nc, bool), b["start_ok"][idx]])
        kind = np.concatenate([np.zeros(nc, np.int8), b["kind"][idx]])

        # rows: closed entries (with their exit), leaves, comments; open entries stay carried
        e_closed = all_e & (closed_by >= 0)
        leaf = kind == LEAF
        com = kind == COMMENT
        still_open = all_e & (closed_by < 0)
        self.stacks[skey] = [Frame(int(line[p]), name[p].as_py(),
                                   int(ts[p]) if ts_ok[p] else None,
                                   int(tres[p]) if ts_ok[p] else None, int(all_depth[p]),
                                   _none(tid[p]), _none(pid[p]), comm[p].as_py(), _none(cpu[p]),
                                   flags[p].as_py(), args[p].as_py())
                             for p in np.flatnonzero(still_open).tolist()]
        rows = np.flatnonzero(e_closed | leaf | com)
        if not len(rows):
            return
        x = np.where(e_closed[rows], closed_by[rows], rows)     # where duration / retval live
        r_ts = ts[rows].copy()
        r_ts_ok = ts_ok[rows].copy()
        r_tres = tres[rows].copy()
        # exact entry time from the exit (trace-cmd -R calltime) wins over the printed one
        ex = start_ok[x] & e_closed[rows]
        r_ts[ex] = start[x][ex]
        r_tres[ex] = 1
        r_ts_ok |= ex
        # entry time unknown: exit time - duration
        back = ~r_ts_ok & e_closed[rows] & ts_ok[x] & dur_ok[x]
        r_ts[back] = ts[x][back] - dur[x][back]
        r_tres[back] = tres[x][back]
        r_ts_ok |= back
        name_null = np.asarray(name.is_null().to_numpy(zero_copy_only=False), bool)
        r_name = name.take(pa.array(np.where(name_null[rows] & e_closed[rows], x, rows)))
        is_call = ~com[rows]
        d_ok = dur_ok[x].copy()
        r_dur = dur[x].copy()
        r_dres = dres[x].copy()
        # entry and exit both carry ns timestamps (uftrace -f time): exit - entry is exact
        exact = e_closed[rows] & ts_ok[rows] & ts_ok[x] & (tres[rows] == 1) & (tres[x] == 1) \
            & ~start_ok[x] & self.exact_ts
        r_dur[exact] = ts[x][exact] - ts[rows][exact]
        r_dres[exact] = 1
        d_ok |= exact
        ppos = parent_pos[rows]
        self.pieces.append({
            "line": line[rows],
            "end_line": (np.where(e_closed[rows], line[x], 0), e_closed[rows]),
            "kind": choose(~is_call, [CALL, INSTANT], FORMAT_T),
            "event": choose(~is_call, [self.event, "comment"]),
            "name": r_name,
            "ts_ns": (r_ts, r_ts_ok), "ts_res_ns": (r_tres, r_ts_ok),
            "dur_ns": (r_dur, d_ok), "dur_res_ns": (r_dres, d_ok),
            "pid": (pid[rows], pid[rows] >= 0), "tid": (tid[rows], tid[rows] >= 0),
            "comm": comm.take(pa.array(rows)), "cpu": (cpu[rows], cpu[rows] >= 0),
            "depth": all_depth[rows],
            "parent_line": (np.where(ppos >= 0, line[np.maximum(ppos, 0)], 0), ppos >= 0),
            "retval": retval.take(pa.array(x)), "text": text.take(pa.array(rows)),
            "flags": flags.take(pa.array(rows)), "args": args.take(pa.array(rows)),
        })


def _str_at(v, i):
    if isinstance(v, np.ndarray):
        return v[i]
    return v[int(i)].as_py()


def _same(a: str, b: str) -> bool:
    # "ext4_file_open [ext4]" and "ext4_file_open" name the same function
    return a.split(" ", 1)[0] == b.split(" ", 1)[0]
