"""strace output: grammar ``grammars/strace.lark``.

Each syscall becomes one ``call`` row: its entry time (-t, -tt, -ttt, --timestamps=ns, or -r
summed from the start), its duration (-T), thread id (-f; the file name's suffix for -ff
files), name, arguments, return value, and in ``fields`` the ``errno`` and its text
(``error``), another note strace printed after the return value (``note``), the file
descriptor's path (-y / -yy: ``fd``, ``path``; for calls that take a path, the path
argument). ``-k`` stacks become the row's ``stack`` (root → leaf, with ``stack_dso`` and
``stack_addr``). An ``<unfinished ...>`` line and its ``<... name resumed>`` line (the same
thread) make one row (``line`` the first, ``end_line`` the second); one without the other
is a row with status ``unclosed`` / ``no_entry``. Signals and exits are ``instant`` rows
(events ``signal``, ``exit``). The process of a thread (``pid``) follows the clone calls
(``CLONE_THREAD``: the caller's process). strace -c summaries are refused with a clear error.
"""
from __future__ import annotations

import os
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from ..schema import CALL, FORMAT_T, INSTANT, NO_ENTRY, SYSCALL, UNCLOSED, choose, repeat
from ..tables import grouped_lists
from .base import Reader, decimal_text_ns, empty_strings, make_table, nonempty, \
    null_if_empty, to_int

# kinds of line events (parse → stitch)
K_CALL, K_UNFINISHED, K_RESUMED, K_SIGNAL, K_EXIT, K_FILE = range(6)
SUMMARY = "strace -c summary"
DAY_NS = 86_400 * 10 ** 9
# a -ttt / -r value below this many seconds is -r (seconds since the previous line): a
# -ttt one counts seconds since 1970
RELATIVE_BELOW = 10 ** 8
CLONES = ("clone", "clone3", "fork", "vfork")
_TID_SUFFIX = re.compile(r"\.(\d+)$")
# a descriptor with its path (-y / -yy): "3</tmp/f>", "AT_FDCWD</tmp>",
# "4<TCP:[1.2.3.4:5->6.7.8.9:10]>", "0</dev/pts/0<char 136:0>>"
_FD_PATH = r"(?P<fd>-?\d+|AT_FDCWD)<(?P<fdpath>(?:[^<>]|->|<[^<>]*>)*)>"
_FIRST_FD = "^" + _FD_PATH
# the first string argument (the path of open, stat, execve …)
_FIRST_STR = r'^(?:[^"]*?)"(?P<str>(?:[^"\\]|\\.)*)"'
_RET_FD = r"^<(?P<retpath>(?:[^<>]|->|<[^<>]*>)*)>$"
# syscalls whose first string argument is a path
PATH_CALLS = frozenset("""open openat openat2 creat stat lstat newfstatat fstatat64 stat64 lstat64
statx access faccessat faccessat2 execve execveat readlink readlinkat unlink unlinkat mkdir
mkdirat rmdir rename renameat renameat2 link linkat symlink symlinkat chdir chroot truncate
truncate64 chmod fchmodat lchown chown fchownat utime utimes utimensat futimesat mknod mknodat
getxattr lgetxattr setxattr lsetxattr listxattr llistxattr removexattr lremovexattr statfs
statfs64 inotify_add_watch name_to_handle_at mount umount2 swapon swapoff acct
""".split())
# fields of a syscall row, in this order
FIELD_KEYS = ("fd", "path", "errno", "error", "note")
NULL = pa.scalar(None, pa.string())


class StraceReader(Reader):
    format = "strace"
    grammar = "strace"
    description = "strace text (-f, -t/-tt/-ttt/-r, -T, -y/-yy, -k, -ff files, -c refused)"
    # stack frames repeat (matched once per distinct text); an unfinished line that ends with
    # ") = ?" (the thread exited inside the call) is taken before syscall_line could read it
    order = ("stack_frame", "resumed_line", "unfinished_line", "syscall_line")

    def __init__(self, path="?"):
        super().__init__(path)
        m = _TID_SUFFIX.search(os.path.basename(str(path)))
        self.file_tid = int(m.group(1)) if m else None   # strace -ff -o st: st.<tid>
        self.relative = None        # -r (seconds since the previous line) or -ttt
        self.rel_sum = 0            # -r: ns since the first line
        self.last_clock = None      # -t / -tt: last time of day seen, and days passed
        self.days = 0
        self.pending = None         # first lines of calls printed on two lines, not closed
        #                             yet (a table: _start_table)
        self.pid_of = {}            # tid -> pid
        self.clones = {}            # tid -> its clone call not returned yet: CLONE_THREAD?
        self.comm_of = {}           # pid -> program name (its last execve)
        self._renamed, self._line = [], 0

    @classmethod
    def is_applicable(cls, lines):
        content = [ln for ln in lines if ln.strip()][:300]
        if not content:
            return 0.0
        if cls._rx("summary_header").match(content[0]):
            return 0.9          # strace -c: the reader says it is a summary
        shapes = [cls._rx(r) for r in ("syscall_line", "resumed_line", "unfinished_line",
                                       "stack_frame", "signal_line", "exit_line",
                                       "file_header")]
        calls = cls._rx("syscall_line")
        hits = sum(1 for ln in content if any(rx.match(ln) for rx in shapes))
        if not any(calls.match(ln) for ln in content):
            return 0.0
        return 0.9 * hits / len(content)

    def hold(self, b: bytes) -> bool:
        # -k frames stay in the chunk of their syscall line, and so does an exit line (the
        # stack of exit_group comes after "+++ exited with 0 +++")
        first = b.split(b"\n", 1)[0].rstrip(b"\r")
        return first.lstrip(b" \t")[:2] == b"> " or first.endswith(b" +++") or \
            super().hold(b)

    # ------------------------------------------------------------------ parse
    def parse(self, chunk):
        lines, n, line_nos = self.start_chunk(chunk)
        st = self.stats
        found, left = self.fast_in_order(lines, dedup=("stack_frame",))
        rare = []
        readings = self.read_rare(lines, left)
        rest_of = {i: text for i, text, res in readings if res is None}
        for i, text, res in readings:
            if res is None:
                if i in rest_of:
                    self.unrecognized(int(line_nos[i]), text)
                continue
            rule, f = res
            if rule == "interrupted_line":
                # the syscall line goes on on the next line: read the two as one
                head = text[:text.rindex("strace: Process ")]
                whole = self.rare(head + rest_of[i + 1]) if i + 1 in rest_of else None
                if whole is not None and whole[0] in ("syscall_line", "unfinished_line"):
                    del rest_of[i + 1]
                    st.event_lines += 1           # the rest of the line
                    rule, f = whole
                else:
                    st.skip("strace's own message")
                    continue
            if rule in ("signal_line", "exit_line", "file_header", "syscall_line",
                        "unfinished_line"):
                rare.append((int(line_nos[i]), rule, f))
            elif rule.startswith("summary_"):
                st.skip(SUMMARY)
                if rule == "summary_header":
                    st.header.setdefault("summary_line", int(line_nos[i]))
            elif rule == "strace_message":
                st.skip("strace's own message")
            else:
                st.skip("blank")
        return self._events(found, rare, line_nos)

    def _events(self, found, rare, line_nos):
        """The chunk's line events in line order: one table of syscall, unfinished, resumed,
        signal, exit and file-header lines, -k stacks attached."""
        parts = []
        for rule, k in (("syscall_line", K_CALL), ("unfinished_line", K_UNFINISHED),
                        ("resumed_line", K_RESUMED)):
            if rule not in found:
                continue
            idx, c = found[rule]
            kind = np.full(len(idx), k, np.int8)
            if k == K_UNFINISHED:
                kind[c.nonempty("retval")] = K_CALL     # "<unfinished ...>) = ?"
            parts.append(self._line_table(line_nos[idx], kind, c))
        if rare:
            parts.append(self._rare_table(rare))
        if not parts:
            if "stack_frame" in found:
                self.stats.skip("stack frame without its syscall", len(found["stack_frame"][0]))
            return None
        ev = pa.concat_tables(parts, promote_options="default")
        ev = ev.take(pc.sort_indices(ev.column("line")))
        files = int(pc.sum(pc.equal(ev.column("k"), K_FILE)).as_py() or 0)
        self.stats.skip("file header (strace -ff files joined)", files)
        self.stats.event_lines += ev.num_rows - files
        return self._attach_frames(ev, found.get("stack_frame"), line_nos)

    @staticmethod
    def _line_table(lines, kind, c):
        return pa.table({
            "line": pa.array(lines, pa.int64()), "k": pa.array(kind),
            "tid": c["tid"], "clock": c["clock"], "seconds": c["seconds"],
            "relative": c["relative"], "name": c["syscall"], "args": c["args"],
            "retval": c["retval"], "retfd": c["retfd"], "errno": c["errno"],
            "note": c["note"], "dur": c["duration"], "text": empty_strings(len(lines))})

    @staticmethod
    def _rare_table(rare):
        cols = {k: [] for k in ("line", "k", "tid", "clock", "seconds", "relative", "name",
                                "args", "retval", "retfd", "errno", "note", "dur", "text")}
        for line, rule, f in rare:
            row = dict.fromkeys(cols, "")
            row["line"] = line
            row.update({k: f.get(k, "") for k in ("tid", "clock", "seconds", "relative")})
            if rule in ("syscall_line", "unfinished_line"):     # read from two lines
                row["k"] = K_CALL if rule == "syscall_line" or f.get("retval") else K_UNFINISHED
                row.update({k: f.get(k, "") for k in ("args", "retval", "retfd", "errno",
                                                      "note")})
                row["name"], row["dur"] = f.get("syscall", ""), f.get("duration", "")
            elif rule == "signal_line":
                row["k"] = K_SIGNAL
                row["name"] = f.get("signal") or f.get("stopped", "")
                row["text"] = f.get("siginfo", "")
            elif rule == "exit_line":
                row["k"] = K_EXIT
                if "exit_code" in f:
                    row["name"], row["retval"] = "exited", f["exit_code"]
                else:
                    row["name"], row["retval"] = "killed", f.get("kill_signal", "")
                    row["note"] = "core dumped" if f.get("core") else ""
            else:
                row["k"] = K_FILE
                row["text"] = f.get("file_name", "")
            for k, v in row.items():
                cols[k].append(v)
        return pa.table({k: pa.array(v, pa.int8() if k == "k" else
                                     pa.int64() if k == "line" else pa.string())
                         for k, v in cols.items()})

    def _attach_frames(self, ev, frames, line_nos):
        """-k frames (innermost first) as the stack of the syscall line before them."""
        if frames is None:
            return ev
        fidx, f = frames
        fl = line_nos[fidx]
        # the syscall line before the frames; frames after an exit line are the stack of the
        # call that ended the thread (exit_group): stitch gives them to it
        k = ev.column("k").to_numpy()
        calls = np.flatnonzero(np.isin(k, (K_CALL, K_UNFINISHED, K_RESUMED, K_EXIT)))
        el = ev.column("line").to_numpy()[calls]
        at = np.searchsorted(el, fl) - 1
        ok = at >= 0
        owner = np.where(ok, calls[np.maximum(at, 0)] if len(calls) else -1, -1)
        if not ok.all():
            self.stats.skip("stack frame without its syscall", int((~ok).sum()))
        self.stats.event_lines += int(ok.sum())
        sel = pa.array(ok)
        sym = pc.if_else(nonempty(f["frame_sym"]), f["frame_sym"],
                         pc.if_else(nonempty(f["frame_error"]), f["frame_error"], "[unknown]"))
        (stack, addr, dso), _, _ = grouped_lists(
            ev.num_rows, owner[ok], (sym.filter(sel), f["frame_addr"].filter(sel),
                                     null_if_empty(f["frame_dso"]).filter(sel)), reverse=True)
        return ev.append_column("stack", stack).append_column("stack_addr", addr) \
                 .append_column("stack_dso", dso)

    # ------------------------------------------------------------------ stitch
    def stitch(self, ev):
        if ev is None:
            return None
        k = ev.column("k").to_numpy()
        tid = self._tids(ev, k)
        ts, res = self._times(ev)
        dur, dres = decimal_text_ns(ev.column("dur").combine_chunks(), 9)
        rows = self._pair(ev, k, tid, ts, res, dur, dres)
        rows = [r for r in rows if r is not None]
        if not rows:
            return None
        return pa.concat_tables(rows) if len(rows) > 1 else rows[0]

    def _tids(self, ev, k):
        """Thread ids: the -f column, else the file's (-ff: its name, or the "==> st.N <=="
        header of joined files)."""
        tid = to_int(ev.column("tid")).to_numpy(zero_copy_only=False)
        has = ~np.isnan(tid) if tid.dtype.kind == "f" else np.ones(len(tid), bool)
        if has.all():
            return tid.astype(np.int64), has
        hdr = np.flatnonzero(k == K_FILE)
        ftid = np.full(len(tid), -1, np.int64)
        if self.file_tid is not None:
            ftid[:] = self.file_tid
        if len(hdr):
            names = ev.column("text").take(pa.array(hdr)).to_pylist()
            vals = []
            for name in names:
                m = _TID_SUFFIX.search(name.strip())
                vals.append(int(m.group(1)) if m else -1)
            at = np.full(len(tid), -1, np.int64)
            at[hdr] = np.arange(len(hdr))
            at = np.maximum.accumulate(at)
            seen = at >= 0
            ftid[seen] = np.asarray(vals, np.int64)[at[seen]]
            self.file_tid = vals[-1] if vals[-1] >= 0 else None
        out = np.where(has, np.nan_to_num(tid, nan=-1), ftid).astype(np.int64)
        return out, out >= 0

    def _times(self, ev):
        """Entry times in ns (null where the line has none) and their resolution."""
        n = ev.num_rows
        ts = np.zeros(n, np.int64)
        res = np.zeros(n, np.int64)
        have = np.zeros(n, bool)
        clock = ev.column("clock").combine_chunks()
        cl = nonempty(clock)
        if cl.any():
            c = clock.filter(pa.array(cl))
            h = pc.cast(pc.utf8_slice_codeunits(c, 0, 2), pa.int64()).to_numpy()
            m = pc.cast(pc.utf8_slice_codeunits(c, 3, 5), pa.int64()).to_numpy()
            s, r = decimal_text_ns(pc.utf8_slice_codeunits(c, 6, 40), 9)
            v = (h * 3600 + m * 60) * 10 ** 9 + s.to_numpy(zero_copy_only=False)
            # past midnight the time of day starts again: a day more
            prev = np.concatenate([[v[0] if self.last_clock is None else self.last_clock],
                                   v[:-1]])
            days = self.days + np.cumsum(v < prev - DAY_NS // 2)
            self.last_clock, self.days = int(v[-1]), int(days[-1])
            ts[cl] = v + days * DAY_NS
            res[cl] = r.to_numpy(zero_copy_only=False)
            have |= cl
        sec = ev.column("seconds").combine_chunks()
        sc = nonempty(sec)
        if sc.any():
            v, r = decimal_text_ns(sec.filter(pa.array(sc)), 9)
            v = v.to_numpy(zero_copy_only=False)
            if self.relative is None:
                self.relative = bool(v[0] < RELATIVE_BELOW * 10 ** 9)
            if self.relative:
                v = self.rel_sum + np.cumsum(v)
                self.rel_sum = int(v[-1])
            ts[sc] = v
            res[sc] = r.to_numpy(zero_copy_only=False)
            have |= sc
        return pa.array(ts, mask=~have), pa.array(res, mask=~have)

    def _pair(self, ev, k, tid_has, ts, res, dur, dres):
        """Rows of the chunk: complete calls, calls printed on two lines joined, signals and
        exits. A call's first line (``<unfinished ...>``, or a call that never returns:
        ``exit_group(0) = ?``) is closed by the next line of its thread: its
        ``<... name resumed>`` line, or for a call that never returns the ``+++ exited``
        line (whose -k stack is that call's); any other next line leaves it unclosed. A first
        line with no next line of its thread in the chunk waits in ``self.pending`` (a table
        of start lines) for the next chunks."""
        tid, has_tid = tid_has
        n = ev.num_rows
        names, retval = ev.column("name").combine_chunks(), ev.column("retval")
        lines = ev.column("line").to_numpy()
        never = pc.fill_null(pc.and_(pc.equal(retval, "?"), pc.equal(ev.column("dur"), "")),
                             False).to_numpy(zero_copy_only=False) & (k == K_CALL)
        starts = (k == K_UNFINISHED) | never
        part = np.flatnonzero(starts | (k == K_RESUMED) | (k == K_EXIT))
        comm_before = dict(self.comm_of)
        self._renamed = renamed = []      # (line, pid, comm): a process named (execve, fork)
        # this chunk's start lines, after the ones waiting from earlier chunks
        mine = np.flatnonzero(starts)
        st = self._start_table(ev, mine, ts, res, tid, has_tid, never)
        carry = self.pending
        nc = carry.num_rows if carry is not None else 0
        stt = pa.concat_tables([carry, st]) if nc else st
        # the line events of each thread in line order: waiting starts first
        e_tid = np.concatenate([stt.column("tid").to_numpy()[:nc], tid[part]])
        e_line = np.concatenate([stt.column("line").to_numpy()[:nc], lines[part]])
        e_src = np.concatenate([np.arange(nc) - nc, part])      # < 0: a waiting start
        e_kind = np.concatenate([np.where(stt.column("never").to_numpy()[:nc], -1,
                                          K_UNFINISHED), np.where(never[part], -1, k[part])])
        order = np.lexsort((e_line, e_tid))
        e_tid, e_src, e_kind = e_tid[order], e_src[order], e_kind[order]
        # position of each event's start in stt (its row there), -1 for other events
        at_start = np.full(len(order), -1, np.int64)
        is_start = (e_kind == K_UNFINISHED) | (e_kind == -1)
        src_pos = np.full(n, -1, np.int64)
        src_pos[mine] = nc + np.arange(len(mine))
        at_start[is_start] = np.where(e_src[is_start] < 0, e_src[is_start] + nc,
                                      src_pos[np.maximum(e_src[is_start], 0)])
        same = np.zeros(len(order), bool)
        same[1:] = e_tid[1:] == e_tid[:-1]
        prev_start = np.where(same, np.roll(at_start, 1), -1)
        prev_kind = np.where(same, np.roll(e_kind, 1), 0)
        st_names = stt.column("name").to_numpy(zero_copy_only=False)
        resumed = e_kind == K_RESUMED
        src = np.maximum(e_src, 0)
        name_ok = np.zeros(len(order), bool)
        if resumed.any():
            ev_names = names.to_numpy(zero_copy_only=False)
            r = np.flatnonzero(resumed & (prev_kind == K_UNFINISHED))
            name_ok[r] = st_names[prev_start[r]] == ev_names[src[r]]
        joined = resumed & name_ok
        exited = (e_kind == K_EXIT) & (prev_kind == -1)
        closed = np.zeros(len(order), bool)                    # starts closed by the next
        closed[:-1] = (joined | exited)[1:]
        nxt = np.zeros(len(order), bool)                       # a start with a next line
        nxt[:-1] = same[1:]
        lost = is_start & nxt & ~closed
        wait = is_start & ~nxt
        gone = int((lost & (e_kind == K_UNFINISHED)).sum())
        if gone:
            self.stats.warnings["unfinished syscall without its resumption"] += gone
        # the clone / execve / new thread bookkeeping, in line order
        self._tasks(ev, k, tid, has_tid, lines, never, e_src, joined, prev_start, stt)
        pid = self._pids(tid, has_tid)
        comm = self._comms(pid, lines, comm_before, renamed)
        if len(mine):                   # a start's comm: its process's name at its line
            stt = stt.set_column(stt.schema.get_field_index("comm"), "comm", pa.concat_arrays(
                [stt.column("comm").combine_chunks()[:nc].cast(pa.string()),
                 comm.take(pa.array(mine))]))
        keep = (k != K_FILE) & (k != K_UNFINISHED) & (k != K_RESUMED) & ~never
        out = [self._rows(ev, np.flatnonzero(keep), k, tid, has_tid, pid, comm, ts, res, dur,
                          dres)]
        two = np.flatnonzero(joined | exited)
        alone = np.flatnonzero(resumed & ~joined)
        ends = np.concatenate([prev_start[two], at_start[np.flatnonzero(lost)],
                               np.full(len(alone), -1)])
        fin = np.concatenate([src[two], np.full(int(lost.sum()), -1), src[alone]])
        how = np.concatenate([np.where(joined[two], 1, 2), np.zeros(int(lost.sum()), int),
                              np.ones(len(alone), int)])
        if len(ends):
            out.append(self._joined_rows(ev, stt, ends, fin, how, tid, has_tid, comm, dur,
                                         dres))
        w = at_start[wait]
        self.pending = stt.take(pa.array(np.sort(w))) if len(w) else None
        return out

    def _start_table(self, ev, idx, ts, res, tid, has_tid, never):
        """The first lines of calls printed on two lines: what their row takes from them."""
        sel = pa.array(idx, pa.int64())
        cols = {c: ev.column(c).take(sel) for c in ("line", "name", "args", "retval", "retfd",
                                                    "errno", "note")}
        for c in ("stack", "stack_addr", "stack_dso"):
            cols[c] = ev.column(c).take(sel) if c in ev.column_names else \
                pa.nulls(len(idx), pa.list_(pa.string()))
        cols.update(ts=ts.take(sel), res=res.take(sel), tid=pa.array(tid[idx], pa.int64()),
                    has_tid=pa.array(has_tid[idx]), never=pa.array(never[idx]),
                    comm=pa.nulls(len(idx), pa.string()))
        return pa.table({c: (v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v)
                         for c, v in cols.items()})

    def _tasks(self, ev, k, tid, has_tid, lines, never, e_src, joined, prev_start, stt):
        """Processes and program names, line by line over the few lines that tell them: the
        first line of a thread not seen before, clone and execve calls (a resumed one with the
        arguments of its first line)."""
        clone = pc.is_in(ev.column("name"), value_set=pa.array(CLONES + ("execve", "execveat"))) \
            .to_numpy(zero_copy_only=False)
        new = np.zeros(ev.num_rows, bool)
        if has_tid.any():
            u, first = np.unique(tid, return_index=True)
            new[[i for t, i in zip(u.tolist(), first.tolist())
                 if has_tid[i] and t not in self.pid_of]] = True
        look = np.flatnonzero(new | (clone & ~never))
        if not len(look):
            return
        # a resumed clone / execve: the arguments of the line it was started on
        start_args = {}
        j = np.flatnonzero(joined)
        want = np.isin(e_src[j], look[clone[look]])
        if want.any():
            args = stt.column("args").take(pa.array(prev_start[j[want]])).to_pylist()
            start_args = dict(zip(e_src[j[want]].tolist(), args))
        sel = pa.array(look)
        name_l, args_l, ret_l = (ev.column(c).take(sel).to_pylist()
                                 for c in ("name", "args", "retval"))
        for i, name, args, ret in zip(look.tolist(), name_l, args_l, ret_l):
            t = int(tid[i]) if has_tid[i] else None
            self._line = int(lines[i])
            if new[i]:
                self._new_task(t)
            if clone[i]:
                self._task_call(t, k[i], name, start_args.get(i, "") if k[i] == K_RESUMED
                                else args or "", ret)

    def _task_call(self, t, kind, name, args, ret):
        """A clone or execve call of thread ``t`` (``args``: of its first line)."""
        if kind == K_UNFINISHED:
            if name in CLONES:
                self.clones[t] = "CLONE_THREAD" in args
            return
        if name in CLONES:
            thread = self.clones.pop(t, None) if kind == K_RESUMED else "CLONE_THREAD" in args
            self._cloned(t, ret, thread)
        elif ret == "0":          # execve: the program's name
            m = re.match(_FIRST_STR, args)
            if m:
                comm = m.group("str").rsplit("/", 1)[-1][:15]
                self._name(self._pid(t), comm)

    def _name(self, pid, comm):
        """Process ``pid`` is called ``comm`` from the line looked at on."""
        self.comm_of[pid] = comm
        self._renamed.append((self._line, pid, comm))

    def _pids(self, tid, has_tid):
        if not has_tid.any():
            return np.full(len(tid), -1, np.int64)
        u, inv = np.unique(tid, return_inverse=True)
        m = np.array([self.pid_of.get(int(x), int(x)) for x in u.tolist()], np.int64)
        return np.where(has_tid, m[inv], -1)

    def _comms(self, pid, lines, before, renamed):
        """The program name of each row's process: from its last execve (its parent's until
        then)."""
        if not self.comm_of:
            return pa.nulls(len(pid), pa.string())
        u, inv = np.unique(pid, return_inverse=True)
        names = [before.get(int(x)) for x in u.tolist()]
        comm = np.asarray(names, object)[inv] if len(u) else np.zeros(0, object)
        for line, p, c in renamed:
            comm[(pid == p) & (lines >= line)] = c
        return pa.array(comm.tolist(), pa.string())

    def _new_task(self, t):
        """A thread seen for the first time: the child of a clone call still running, if
        any (CLONE_THREAD: a thread of the caller's process), else a process of its own."""
        if t is None or t in self.pid_of:
            return
        threads = [c for c, thread in self.clones.items() if thread]
        procs = [c for c, thread in self.clones.items() if not thread]
        if threads and not procs:
            # a thread of the caller's process (-1: not known, the caller has no tid printed)
            self.pid_of[t] = self._pid(threads[0])
        else:
            self.pid_of[t] = t
            if procs and len(procs) == 1:
                parent = self._pid(procs[0])
                if parent in self.comm_of:
                    self._name(t, self.comm_of[parent])

    def _pid(self, t):
        """The process of thread ``t`` (-1 for a line without a thread id)."""
        return -1 if t is None else self.pid_of.get(t, t)

    def _cloned(self, t, ret, thread):
        try:
            child = int(ret)
        except (TypeError, ValueError):
            return
        if child > 0 and child not in self.pid_of and t is not None:
            parent = self._pid(t)
            self.pid_of[child] = parent if thread else child
            if not thread and parent in self.comm_of:
                self._name(child, self.comm_of[parent])

    def _rows(self, ev, idx, k, tid, has_tid, pid, comm, ts, res, dur, dres):
        if not len(idx):
            return None
        sel = pa.array(idx)
        kk = k[idx]
        m = len(idx)
        call = kk == K_CALL
        retval = ev.column("retval").take(sel)
        name = ev.column("name").take(sel)
        args = ev.column("args").take(sel)
        d = dur.take(sel)
        never = pc.and_(pc.equal(retval, "?"), pc.is_null(d)).to_numpy(zero_copy_only=False)
        status = pc.if_else(pa.array(call & never), UNCLOSED, None)
        cols = {
            "line": ev.column("line").take(sel),
            "format": repeat(self.format, m, FORMAT_T),
            "kind": choose(np.where(call, 0, 1), [CALL, INSTANT], FORMAT_T),
            "event": choose(np.select([kk == K_SIGNAL, kk == K_EXIT], [1, 2], 0),
                            [SYSCALL, "signal", "exit"]),
            "name": name, "ts_ns": ts.take(sel), "ts_res_ns": res.take(sel),
            "dur_ns": pc.if_else(pa.array(call), d, None),
            "dur_res_ns": pc.if_else(pa.array(call), dres.take(sel), None),
            "tid": pa.array(tid[idx], mask=~has_tid[idx]),
            "pid": pa.array(pid[idx], mask=pid[idx] < 0),
            "comm": comm.take(sel),
            "args": pc.if_else(pa.array(call), args, None),
            "retval": null_if_empty(retval),
            "text": null_if_empty(ev.column("text").take(sel)),
            "status": status,
            "fields": _fields(name, args, retval, ev.column("retfd").take(sel),
                              ev.column("errno").take(sel), ev.column("note").take(sel),
                              call),
        }
        for c in ("stack", "stack_addr", "stack_dso"):
            if c in ev.column_names:
                # an exit line's stack is the one of the call that ended the thread
                cols[c] = pc.if_else(pa.array(call), ev.column(c).take(sel), None)
        return make_table(cols, m)

    def _joined_rows(self, ev, stt, starts, ends, how, tid, has_tid, comm, dur, dres):
        """Rows of calls printed on two lines: row ``starts[i]`` of the start lines ``stt``
        (-1: none) with row ``ends[i]`` of the chunk (-1: none); ``how`` 1: the resumed line,
        2: the exit of the thread of a call that never returned, 0: unclosed. One of the two
        lines without the other: status ``unclosed`` / ``no_entry``."""
        m = len(starts)
        s = pa.array(starts, pa.int64(), mask=starts < 0)
        e = pa.array(ends, pa.int64(), mask=ends < 0)
        has_s, has_e = pa.array(starts >= 0), pa.array(ends >= 0)
        resumed = pa.array(how == 1)

        def start(c):
            return stt.column(c).combine_chunks().take(s)

        def end(c):
            if c not in ev.column_names:        # no end lines at all (finish)
                return pa.nulls(m, stt.schema.field(c).type)
            v = ev.column(c)
            return (v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v).take(e)

        first = pc.if_else(has_s, start("line"), end("line"))
        rest = pc.if_else(resumed, pc.fill_null(end("args"), ""), "")
        args = pc.if_else(has_s, pc.binary_join_element_wise(
            pc.fill_null(start("args"), ""), rest, ""), pc.binary_join_element_wise(
            "... ", pc.fill_null(rest, ""), ""))
        name = pc.if_else(has_s, start("name"), end("name"))
        vals = {c: pc.fill_null(pc.if_else(resumed, end(c), start(c)), "")
                for c in ("retval", "retfd", "errno", "note")}
        at = np.maximum(ends, 0)
        t = pc.if_else(has_s, start("tid"), pa.array(tid[at] if len(tid) else at))
        known = pc.if_else(has_s, start("has_tid"),
                           pa.array(has_tid[at] if len(tid) else ends >= 0))
        pid = self._pids(t.to_numpy(zero_copy_only=False),
                         known.to_numpy(zero_copy_only=False))
        t = pc.if_else(known, t, None)
        status = np.where(starts < 0, 2, np.where(how == 1, 0, 1))
        cols = {
            "line": first, "end_line": pc.if_else(has_e, end("line"), None),
            "format": repeat(self.format, m, FORMAT_T),
            "kind": repeat(CALL, m, FORMAT_T), "event": repeat(SYSCALL, m),
            "name": name, "ts_ns": start("ts"), "ts_res_ns": start("res"),
            "dur_ns": pc.if_else(resumed, dur.take(e), None),
            "dur_res_ns": pc.if_else(resumed, dres.take(e), None),
            "tid": t, "pid": pa.array(pid, mask=pid < 0),
            "comm": pc.if_else(has_s, start("comm"), comm.take(e)),
            "args": args, "retval": null_if_empty(vals["retval"]),
            "status": pa.array(np.array([None, UNCLOSED, NO_ENTRY], object)[status].tolist(),
                               pa.string()),
            "fields": _fields(name, args, vals["retval"], vals["retfd"], vals["errno"],
                              vals["note"], np.ones(m, bool)),
        }
        for c in ("stack", "stack_addr", "stack_dso"):
            v = start(c)
            if c in ev.column_names:
                got = end(c)
                v = pc.if_else(pc.is_valid(got), got, v)
            if v.null_count < m:
                cols[c] = v
        return make_table(cols, m)

    # ------------------------------------------------------------------ end
    def open_min_line(self):
        p = self.pending
        return int(pc.min(p.column("line")).as_py()) if p is not None and p.num_rows else None

    def finish(self):
        st = self.stats
        if st.skipped.get(SUMMARY) and not st.event_lines:
            raise InputError(self.path, "a strace -c summary (counts per syscall), not a trace: "
                             "record one with strace -f -tt -T -o FILE", line=int(
                                 st.header.get("summary_line", 1)))
        p, self.pending = self.pending, None
        if p is None or not p.num_rows:
            return None
        lost = int(pc.sum(pc.invert(p.column("never"))).as_py() or 0)
        if lost:
            st.warnings["unfinished syscall without its resumption"] += lost
        m = p.num_rows
        empty = pa.table({})
        none = np.full(m, -1)
        return self._joined_rows(empty, p, np.arange(m), none, np.zeros(m, int),
                                 np.zeros(0, np.int64), np.zeros(0, bool),
                                 pa.array([], pa.string()), pa.array([], pa.int64()),
                                 pa.array([], pa.int64()))


def _fields(name, args, retval, retfd, errno, note, call):
    """``fields`` of syscall rows: fd and path (-y: the first argument's descriptor, or the one
    returned; else the path argument of calls that take one), errno and its text, a note."""
    name, args, retval, retfd, errno, note = (
        x.combine_chunks() if isinstance(x, pa.ChunkedArray) else x
        for x in (name, args, retval, retfd, errno, note))
    n = len(name)
    if not n:
        return pa.array([], pa.map_(pa.string(), pa.string()))
    fd = pc.extract_regex(args, _FIRST_FD)
    fdnum, fdpath = fd.field("fd"), fd.field("fdpath")
    fdnum = pc.if_else(pc.equal(fdnum, "AT_FDCWD"), NULL, null_if_empty(fdnum))
    fdpath = null_if_empty(fdpath)
    ret = pc.extract_regex(retfd, _RET_FD).field("retpath")
    path_call = pc.is_in(name, value_set=pa.array(sorted(PATH_CALLS)))
    first_str = pc.extract_regex(args, _FIRST_STR).field("str")
    first_str = pc.if_else(pc.and_(path_call, pc.not_equal(first_str, "")), first_str, NULL)
    # a path argument relative to the AT_FDCWD<dir> / dirfd<dir> before it
    rel = pc.and_(pc.is_valid(first_str),
                  pc.and_(pc.invert(pc.starts_with(first_str, "/")), pc.is_valid(fdpath)))
    first_str = pc.if_else(pc.fill_null(rel, False),
                           pc.binary_join_element_wise(fdpath, first_str, "/"), first_str)
    ret = null_if_empty(ret)
    path = pc.coalesce(ret, first_str,
                       pc.if_else(pc.is_valid(fdnum), fdpath, NULL))
    fdv = pc.if_else(pc.is_valid(ret), retval, fdnum)   # open*: the descriptor returned
    has_errno = nonempty(errno)
    values = [fdv, path, null_if_empty(errno),
              pc.if_else(pa.array(has_errno), null_if_empty(note), NULL),
              pc.if_else(pa.array(has_errno), NULL, null_if_empty(note))]
    call = pa.array(call)
    values = [pc.if_else(call, v, NULL) for v in values]
    valid = np.stack([np.asarray(v.is_valid().to_numpy(zero_copy_only=False), bool)
                      for v in values], axis=1)
    rows, which = np.nonzero(valid)
    counts = valid.sum(axis=1)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(counts, out=offsets[1:])
    allv = pa.concat_arrays([v.cast(pa.string()) for v in values])
    items = allv.take(pa.array(which * n + rows))
    keys = pa.array(np.asarray(FIELD_KEYS, object)[which].tolist(), pa.string())
    return pa.MapArray.from_arrays(pa.array(offsets), keys, items)
