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
SENTINEL = 4      # the end of one stream among several nested together (not a record)


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
        self.fallback_records = 0    # records nested one by one (inconsistent input)

    # ================================================================== output
    def take(self):
        """(rows as dict of lists, list of dicts of numpy arrays) produced since last take."""
        rows, self.rows = self.rows, {c: [] for c in OUT_COLS}
        pieces, self.pieces = self.pieces, []
        return rows, pieces

    def _emit(self, line, end_line, kind, name, ts, ts_res, dur, dur_res, tid, pid, comm, cpu,
              depth, parent, retval=None, text=None, flags=None, status=None, args=None):
        values = (line, end_line, kind, self.event if kind == CALL else "comment", name, ts,
                  ts_res, dur, dur_res, pid, tid, comm, cpu, depth, parent, retval, text, flags,
                  status, args)
        for col, v in zip(OUT_COLS, values):
            self.rows[col].append(v)

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
               retval=None, flags=None, text=None, start=None, args=None, key=None):
        """One graph record. For EXIT, ``ts`` is the exit time and ``start`` an exact entry
        time when the source has one (trace-cmd -R calltime). ``key``: the record's stream
        when the caller knows it (a batch's keys from its banners)."""
        if key is None:
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
            self._exit(stack, line, cpu, tid, pid, comm, ts, ts_res, dur, dur_res, depth, name,
                       retval, flags, start)
        elif kind == COMMENT:
            parent = stack[-1].line if stack else None
            self._emit(line, None, INSTANT, name, ts, ts_res, dur, dur_res, tid, pid, comm, cpu,
                       depth, parent, text=text, flags=flags)

    def _exit(self, stack, line, cpu, tid, pid, comm, ts, ts_res, dur, dur_res, depth, name,
              retval, flags, start):
        """An exit record: closes the deeper open calls (unclosed), then its own call when the
        top of the stack is at its depth and of its function; else an exit of no open call."""
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

    def _record_row(self, b, i, key=None):
        g = lambda col, ok=None: (int(b[col][i]) if (ok is None or b[ok][i]) else None)  # noqa
        sv = lambda col: _str_at(b[col], i)  # noqa
        self.record(int(b["kind"][i]), int(b["line"][i]), _none(b["cpu"][i]), _none(b["tid"][i]),
                    _none(b["pid"][i]), sv("comm"), g("ts", "ts_ok"), g("tres", "ts_ok"),
                    g("dur", "dur_ok"), g("dres", "dur_ok"), int(b["depth"][i]), sv("name"),
                    retval=sv("retval"), flags=sv("flags"), text=sv("text"),
                    start=g("start", "start_ok"), args=sv("args"), key=key)

    # ================================================================== batches
    def feed_batch(self, b: dict, switches=(), losts=()):
        """Records of one chunk (numpy columns, in line order) with the chunk's context-switch
        banners ``(line, cpu, prev_tid, prev_comm, next_tid, next_comm)`` and lost-event
        markers ``(line, cpu)``."""
        n = len(b["line"])
        if not n:
            for _, typ, x in sorted([(s[0], 1, s) for s in switches] +
                                    [(x[0], 2, x) for x in losts], key=lambda e: e[0]):
                if typ == 1:
                    self.switch(*x[1:])
                else:
                    self.lost(x[1])
            return
        if losts:
            # lost events change the state mid-chunk: the records between two markers nest
            # together, then the marker closes what it cuts
            lines = b["line"]
            lo, prev = 0, -1
            for lost in sorted(losts, key=lambda e: e[0]):
                hi = int(np.searchsorted(lines, lost[0]))
                self._feed(_slice(b, lo, hi), [s for s in switches if prev < s[0] < lost[0]])
                self.lost(lost[1])
                lo, prev = hi, lost[0]
            self._feed(_slice(b, lo, n), [s for s in switches if s[0] > prev])
            return
        self._feed(b, switches)

    def _feed(self, b, switches):
        if not len(b["line"]):
            for s in switches:
                self.switch(*s[1:])
            return
        keys = self._assign_keys(b, switches)
        order = np.argsort(keys, kind="stable")
        skeys = keys[order]
        bounds = np.flatnonzero(np.diff(skeys)) + 1
        groups = np.split(order, bounds)
        if not self._feed_together(b, groups, keys):
            # stream by stream; record by record a stream where even that does not settle
            for grp in groups:
                if not self._feed_together(b, [grp], keys):
                    self._feed_records(b, grp, _skey(int(keys[grp[0]])))

    def _feed_together(self, b, groups, keys) -> bool:
        """Streams of a chunk nested in one numpy pass: each stream's carried calls (as
        entries), then its records, then a sentinel that ends it (what it leaves open is
        carried on), laid end to end. An exit that names another function than the call its
        depth would close ("} /* g */" where f is open) closes only the deeper calls and is an
        exit of no open call: such exits are found and the nesting computed again (a few
        rounds at most). False (nothing done) when that does not settle."""
        skeys = [_skey(int(keys[g[0]])) for g in groups]
        carried = [self.stacks.get(k) or [] for k in skeys]
        n = len(b["line"])
        frames = [f for c in carried for f in c]
        nf = len(frames)
        perm, seg = [], []
        fpos = n
        for s, (g, c) in enumerate(zip(groups, carried)):
            part = np.concatenate([np.arange(fpos, fpos + len(c)), g, [n + nf + s]])
            fpos += len(c)
            perm.append(part)
            seg.append(np.full(len(part), s))
        perm = np.concatenate(perm).astype(np.int64)
        seg = np.concatenate(seg)
        vb = _virtual_batch(b, frames, len(groups), perm)
        skip = None
        for _ in range(8):
            nest = _nest(vb["kind"], vb["depth"], skip)
            if nest is None:
                return False
            bad = _other_names(vb["name"], nest)
            if not len(bad):
                break
            if skip is None:
                skip = np.zeros(len(perm), bool)
            skip[bad] = True
        else:
            return False
        still = self._vector_group(vb, nest)
        for k in skeys:
            self.stacks[k] = []
        for p, f in still:
            self.stacks[skeys[int(seg[p])]].append(f)
        return True

    def _assign_keys(self, b, switches):
        """Integer stream key per record: the tid when known, else the task that the
        context-switch banners say runs on that CPU, else -(cpu + 1)."""
        tid = b["tid"]
        unknown = tid < 0
        keys = tid.copy()
        covered = set(np.unique(b["cpu"][unknown]).tolist()) if unknown.any() else set()
        for s in switches:          # banners of CPUs with no record of unknown task here
            if s[1] not in covered:
                self.switch(*s[1:])
        if not unknown.any():
            return keys
        if not isinstance(b["comm"], np.ndarray):
            b["comm"] = np.array(b["comm"].to_pylist(), object)
        sw_by_cpu = {}
        for s in switches:
            sw_by_cpu.setdefault(s[1], []).append(s)
        for c in np.unique(b["cpu"][unknown]).tolist():
            idx = np.flatnonzero(unknown & (b["cpu"] == c))
            self._keys_on_cpu(b, keys, c, idx, sw_by_cpu.get(c, []))
        return keys

    def _keys_on_cpu(self, b, keys, c, idx, sws):
        """Keys (and tid / comm where the banners say) of one CPU's records of unknown task:
        after a banner, its next task; before the first one, the task it switches away from
        (a chunked read cannot know that task for the line itself: its tid stays null)."""
        cur = self.current.get(c)
        anon_key = -(c + 1)
        if not sws:
            if cur is not None:
                keys[idx] = cur[0]
                b["tid"][idx] = cur[0]
                b["comm"][idx] = cur[1]
            else:
                keys[idx] = anon_key
            return
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
        after = pos >= 0
        # after a banner: its next task
        nxt = np.array([s[4] if s[4] is not None else -1 for s in sws], np.int64)
        ncomm = np.array([s[5] for s in sws], object)
        ja, pa_ = idx[after], pos[after]
        t = nxt[pa_]
        known = t >= 0
        keys[ja] = np.where(known, t, anon_key)
        b["tid"][ja[known]] = t[known]
        b["comm"][ja[known]] = ncomm[pa_[known]]
        # before the first banner
        jb = idx[~after]
        if before is None:
            keys[jb] = anon_key
        else:
            keys[jb] = before[0] if before[0] is not None else anon_key
            if before is cur:
                b["tid"][jb] = cur[0]
                b["comm"][jb] = cur[1]
        self.current[c] = (sws[-1][4], sws[-1][5])

    def _feed_records(self, b, idx, skey):
        """One stream's records, one by one (counted as ``fallback_records``)."""
        self.fallback_records += len(idx)
        for i in idx.tolist():
            self._record_row(b, i, skey)

    def _vector_group(self, b, nest):
        """The rows of a nested virtual batch (``_virtual_batch``); returns the calls left
        open, as (position, Frame)."""
        closer, parent_pos, orphan, still_open, proper = nest
        all_depth, line, kind = b["depth"], b["line"], b["kind"]
        ts, ts_ok, tres = b["ts"], b["ts_ok"], b["tres"]
        tid, pid, cpu = b["tid"], b["pid"], b["cpu"]
        comm, name, flags, args = b["comm"], b["name"], b["flags"], b["args"]
        retval, text = b["retval"], b["text"]
        dur, dur_ok, dres = b["dur"], b["dur_ok"], b["dres"]
        start, start_ok = b["start"], b["start_ok"]

        # rows: entries closed by their exit, entries closed by a shallower record (unclosed),
        # leaves, comments and exits of no open call (no_entry); open entries stay carried
        all_e = kind == ENTRY
        e_closed = proper
        e_cut = all_e & ~proper & ~still_open
        still = [(p, Frame(int(line[p]), name[p].as_py(), int(ts[p]) if ts_ok[p] else None,
                           int(tres[p]) if ts_ok[p] else None, int(all_depth[p]),
                           _none(tid[p]), _none(pid[p]), comm[p].as_py(), _none(cpu[p]),
                           flags[p].as_py(), args[p].as_py()))
                 for p in np.flatnonzero(still_open).tolist()]
        self.unclosed += int(e_cut.sum())
        self.orphans += int(orphan.sum())
        leaf = kind == LEAF
        com = kind == COMMENT
        rows = np.flatnonzero(e_closed | e_cut | leaf | com | orphan)
        if not len(rows):
            return still
        # in line order (streams are laid end to end): the chunk's table then needs no sort
        rows = rows[np.argsort(line[rows], kind="stable")]
        rc, rcut, rorph = e_closed[rows], e_cut[rows], orphan[rows]
        x = np.where(rc, closer[rows], rows)     # where duration / retval live
        r_ts = ts[rows].copy()
        r_ts_ok = ts_ok[rows].copy()
        r_tres = tres[rows].copy()
        # a call closed by its exit (as GraphBuilder.record): the exact entry time the exit
        # carries (trace-cmd -R calltime), else the entry's time, else exit time - duration
        ex = start_ok[x] & rc
        r_ts[ex] = start[x][ex]
        r_tres[ex] = 1
        r_ts_ok |= ex
        back = ~r_ts_ok & rc & ts_ok[x] & dur_ok[x]
        r_ts[back] = ts[x][back] - dur[x][back]
        r_tres[back] = tres[x][back]
        r_ts_ok |= back
        r_tres_ok = r_ts_ok.copy()
        # an exit of no open call: its calltime, else its time - duration; the resolution is
        # the exit time's
        if rorph.any():
            o_start = np.where(start_ok[rows], start[rows], ts[rows] - dur[rows])
            o_ok = start_ok[rows] | (ts_ok[rows] & dur_ok[rows])
            r_ts = np.where(rorph, o_start, r_ts)
            r_ts_ok = np.where(rorph, o_ok, r_ts_ok)
            r_tres_ok = np.where(rorph, o_ok & ts_ok[rows], r_tres_ok)
        name_null = np.asarray(name.is_null().to_numpy(zero_copy_only=False), bool)
        r_name = name.take(pa.array(np.where(name_null[rows] & rc, x, rows)))
        is_call = ~com[rows]
        d_ok = dur_ok[x] & ~rcut
        r_dur = dur[x].copy()
        r_dres = dres[x].copy()
        # entry and exit both carry ns timestamps (uftrace -f time): exit - entry is exact
        exact = rc & ts_ok[rows] & ts_ok[x] & (tres[rows] == 1) & (tres[x] == 1) \
            & ~start_ok[x] & self.exact_ts
        r_dur[exact] = ts[x][exact] - ts[rows][exact]
        r_dres[exact] = 1
        d_ok |= exact
        ppos = parent_pos[rows]
        end_ok = rc | rorph
        # a call's task: the entry's, else the exit's (an entry before the first banner)
        r_tid, r_pid = tid[rows], pid[rows]
        r_comm = comm.take(pa.array(rows))
        if rc.any():
            r_tid = np.where(rc & (r_tid < 0), tid[x], r_tid)
            r_pid = np.where(rc & (r_pid < 0), pid[x], r_pid)
            import pyarrow.compute as pc
            no_comm = pc.fill_null(pc.equal(r_comm, ""), True)
            r_comm = pc.if_else(pc.and_(pa.array(rc), no_comm), comm.take(pa.array(x)), r_comm)
        status = np.where(rcut, 1, np.where(rorph, 2, 0))
        self.pieces.append({
            "line": line[rows],
            "end_line": (np.where(end_ok, line[x], 0), end_ok),
            "kind": choose(~is_call, [CALL, INSTANT], FORMAT_T),
            "event": choose(~is_call, [self.event, "comment"]),
            "name": r_name,
            "ts_ns": (r_ts, r_ts_ok), "ts_res_ns": (r_tres, r_tres_ok),
            "dur_ns": (r_dur, d_ok), "dur_res_ns": (r_dres, d_ok),
            "pid": (r_pid, r_pid >= 0), "tid": (r_tid, r_tid >= 0),
            "comm": r_comm, "cpu": (cpu[rows], cpu[rows] >= 0),
            "depth": all_depth[rows],
            "parent_line": (np.where(ppos >= 0, line[np.maximum(ppos, 0)], 0), ppos >= 0),
            "retval": pc_if(rcut, retval.take(pa.array(x))), "text": text.take(pa.array(rows)),
            "flags": flags.take(pa.array(rows)), "args": args.take(pa.array(rows)),
            "status": _status(status),
        })
        return still


def _other_names(names: pa.Array, nest) -> np.ndarray:
    """Positions of the exits that would close a call whose function they do not name
    ("ext4_file_open [ext4]" and "ext4_file_open" are the same; no name agrees)."""
    import pyarrow.compute as pc
    closer, proper = nest[0], nest[4]
    e = np.flatnonzero(proper)
    xn = names.take(pa.array(closer[e]))
    if xn.null_count == len(xn):
        return e[:0]
    en = names.take(pa.array(e))

    def first_word(a):
        a = pc.if_else(pc.equal(a, ""), pa.scalar(None, pa.string()), a)
        return pc.list_element(pc.split_pattern(a, " ", max_splits=1), 0)
    same = pc.fill_null(pc.equal(first_word(en), first_word(xn)), True)
    bad = ~np.asarray(same.to_numpy(zero_copy_only=False), bool)
    return closer[e[bad]]


def _status(code: np.ndarray) -> pa.Array:
    """0 → null (a complete call), 1 → unclosed, 2 → no_entry (dictionary column)."""
    d = pa.DictionaryArray.from_arrays(pa.array(np.maximum(code - 1, 0).astype(np.int8),
                                                mask=code == 0),
                                       pa.array([UNCLOSED, NO_ENTRY], pa.string()))
    return d


def pc_if(mask: np.ndarray, arr: pa.Array) -> pa.Array:
    """``arr`` with null where ``mask``."""
    if not mask.any():
        return arr
    import pyarrow.compute as pc
    return pc.if_else(pa.array(mask), pa.nulls(len(arr), arr.type), arr)


def _next_at_or_after(sorted_pos: np.ndarray, q: np.ndarray, n: int) -> np.ndarray:
    """For each q, the first position in ``sorted_pos`` that is > q (n when none)."""
    j = np.searchsorted(sorted_pos, q, side="right")
    out = np.full(len(q), n, np.int64)
    ok = j < len(sorted_pos)
    out[ok] = sorted_pos[j[ok]]
    return out


def _nest(kind: np.ndarray, depth: np.ndarray, skip=None):
    """The stack machine of :meth:`GraphBuilder.record`, with numpy, over streams laid end to
    end (each: its carried open calls as entries, its records, a SENTINEL that ends it).

    A record at depth d: an entry or leaf closes every open call of depth >= d (the entry
    then opens one), an exit closes the open calls deeper than d and then the one at depth d
    if there is one (else it is an exit of no open call), a comment closes nothing. So the
    call opened at p (depth d) is closed by the first later non-comment record that is
    shallower, or of depth d — by its exit when that record is an exit. Its parent, like any
    record's, is the latest earlier entry that is shallower and still open.

    ``skip`` marks exits that name another function than the call of their depth: they close
    the deeper calls only, and have no parent (the call of their depth is still open).

    Returns (closer, parent, orphan, still_open, proper) over all positions (a call closed by
    its stream's sentinel is still open), or None when a record's depth is negative."""
    if len(depth) and depth.min() < 0 and (depth[kind != SENTINEL] < 0).any():
        return None
    D, K = depth, kind
    n = len(D)
    pos = np.arange(n)
    is_e = K == ENTRY
    closing = K != COMMENT
    e_pos = pos[is_e]
    e_depth = D[is_e]
    closer = np.full(n, n, np.int64)
    levels = np.unique(e_depth)
    ce_pos = pos[closing]
    ce_depth = D[closing]
    same_ok = closing if skip is None else closing & ~skip
    se_pos = pos[same_ok]
    se_depth = D[same_ok]
    for v in levels.tolist():
        ev = e_pos[e_depth == v]
        shallower = _next_at_or_after(ce_pos[ce_depth < v], ev, n)
        same = _next_at_or_after(se_pos[se_depth == v], ev, n)
        closer[ev] = np.minimum(shallower, same)
    c = closer[e_pos]
    has = c < n
    has[has] = K[c[has]] != SENTINEL        # closed by the end of its stream: still open
    proper_e = np.zeros(len(e_pos), bool)
    proper_e[has] = (K[c[has]] == EXIT) & (D[c[has]] == e_depth[has])
    proper = np.zeros(n, bool)
    proper[e_pos[proper_e]] = True
    still_open = np.zeros(n, bool)
    still_open[e_pos[~has]] = True
    closed_exit = np.zeros(n, bool)
    closed_exit[c[proper_e]] = True
    orphan = (K == EXIT) & ~closed_exit
    # parent: for each shallower level, the latest entry of that level before the record, if
    # still open at the record; the deepest such one wins (levels ascending)
    limit = np.where(K == COMMENT, np.iinfo(np.int64).max, D)
    parent = np.full(n, -1, np.int64)
    for v in levels.tolist():
        q = pos[limit > v]
        if not len(q):
            continue
        ev = e_pos[e_depth == v]
        j = np.searchsorted(ev, q) - 1
        ok = j >= 0
        cand = ev[np.maximum(j, 0)]
        ok &= closer[cand] > q
        parent[q[ok]] = cand[ok]
    if skip is not None:
        parent[skip] = -1
    return closer, parent, orphan, still_open, proper


def _skey(key: int):
    return key if key >= 0 else ("cpu", -key - 1)


def _virtual_batch(b: dict, frames: list, nsent: int, perm: np.ndarray) -> dict:
    """The batch's records, carried calls (as entries) and stream sentinels, in ``perm``
    order (indices: records, then frames, then sentinels)."""
    nf = len(frames)

    def num(col, of_frame, dtype, sent=0):
        extra = np.array([of_frame(f) for f in frames] + [sent] * nsent, dtype=dtype)
        return np.concatenate([np.asarray(b[col]).astype(dtype, copy=False), extra])[perm]

    def text(col, of_frame=None):
        v = b[col]
        body = pa.array(v, pa.string()) if isinstance(v, np.ndarray) else v.cast(pa.string())
        extra = pa.array(([of_frame(f) for f in frames] if of_frame else [None] * nf)
                         + [None] * nsent, pa.string())
        return pa.concat_arrays([body, extra]).take(pa.array(perm))
    out = {
        "line": num("line", lambda f: f.line, np.int64),
        "kind": num("kind", lambda f: ENTRY, np.int8, SENTINEL),
        "depth": num("depth", lambda f: f.depth, np.int64, -1),
        "cpu": num("cpu", lambda f: f.cpu if f.cpu is not None else -1, np.int64, -1),
        "tid": num("tid", lambda f: f.tid if f.tid is not None else -1, np.int64, -1),
        "pid": num("pid", lambda f: f.pid if f.pid is not None else -1, np.int64, -1),
        "ts": num("ts", lambda f: f.ts if f.ts is not None else 0, np.int64),
        "ts_ok": num("ts_ok", lambda f: f.ts is not None, bool, False),
        "tres": num("tres", lambda f: f.ts_res or 0, np.int64),
        "dur": num("dur", lambda f: 0, np.int64),
        "dur_ok": num("dur_ok", lambda f: False, bool, False),
        "dres": num("dres", lambda f: 0, np.int64),
        "start": num("start", lambda f: 0, np.int64),
        "start_ok": num("start_ok", lambda f: False, bool, False),
        "comm": text("comm", lambda f: f.comm),
        "name": text("name", lambda f: f.name),
        "flags": text("flags", lambda f: f.flags),
        "args": text("args", lambda f: f.args),
        "retval": text("retval"),
        "text": text("text"),
    }
    return out


def _slice(b: dict, lo: int, hi: int) -> dict:
    """Records lo..hi-1 of a batch."""
    return {k: v.slice(lo, hi - lo) if isinstance(v, pa.Array) else v[lo:hi]
            for k, v in b.items()}


def _str_at(v, i):
    if isinstance(v, np.ndarray):
        return v[i]
    return v[int(i)].as_py()


def _same(a: str, b: str) -> bool:
    # "ext4_file_open [ext4]" and "ext4_file_open" name the same function
    return a.split(" ", 1)[0] == b.split(" ", 1)[0]
