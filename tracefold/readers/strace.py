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
# columns of the lines stitch looks at one by one (read into Python lists once per chunk)
LOOKED = ("line", "name", "args", "retval", "retfd", "errno", "note", "stack", "stack_addr",
          "stack_dso")
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
        self.pending = {}           # tid -> unfinished call (dict)
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
        for i, text, res in self.read_rare(lines, left):
            if res is None:
                self.unrecognized(int(line_nos[i]), text)
                continue
            rule, f = res
            if rule in ("signal_line", "exit_line", "file_header"):
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
            if rule == "signal_line":
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
        """Rows of the chunk: complete calls, unfinished/resumed pairs joined (pending
        unfinished calls wait in ``self.pending``; a call that never returns, exit_group,
        waits for the exit line whose -k stack it gets), signals and exits."""
        tid, has_tid = tid_has
        n = ev.num_rows
        names, args, retval = (ev.column(c) for c in ("name", "args", "retval"))
        lines = ev.column("line").to_numpy()
        clone = pc.is_in(names, value_set=pa.array(CLONES + ("execve", "execveat"))) \
            .to_numpy(zero_copy_only=False)
        never = pc.fill_null(pc.and_(pc.equal(retval, "?"), pc.equal(ev.column("dur"), "")),
                             False).to_numpy(zero_copy_only=False) & (k == K_CALL)
        new = np.zeros(n, bool)
        if has_tid.any():
            u, first = np.unique(tid, return_index=True)
            for t, i in zip(u.tolist(), first.tolist()):
                if has_tid[i] and t not in self.pid_of:
                    new[i] = True
        # rows that need a look one by one: unfinished / resumed lines, calls that never
        # return, exits, clone and execve calls, the first line of each thread not seen yet
        look = np.flatnonzero(new | clone | never | np.isin(k, (K_UNFINISHED, K_RESUMED,
                                                               K_EXIT)))
        keep = k != K_FILE                # rows emitted as they are
        ends = []                         # (start dict or None, end row or None, how)
        comm_before = dict(self.comm_of)
        self._renamed = renamed = []      # (line, pid, comm): a process named (execve, fork)
        # the looked-at lines' values as Python lists, read once (ends name them by position)
        sel = pa.array(look)
        d = {c: ev.column(c).take(sel).to_pylist() for c in LOOKED if c in ev.column_names}
        for c, arr in (("ts", ts), ("res", res), ("dur", dur), ("dres", dres)):
            d[c] = arr.take(sel).to_pylist()
        d["tid"] = [int(tid[i]) if has_tid[i] else None for i in look.tolist()]
        for j, i in enumerate(look.tolist()):
            t = d["tid"][j]
            self._line = int(lines[i])
            if new[i]:
                self._new_task(t)
            keep[i] &= self._look(d, j, t, k[i], bool(never[i]), ends)
        pid = self._pids(tid, has_tid)
        comm = self._comms(pid, lines, comm_before, renamed)
        out = [self._rows(ev, np.flatnonzero(keep), k, tid, has_tid, pid, comm, ts, res, dur,
                          dres)]
        if ends:
            out.append(self._joined_rows(d, ends))
        return out

    def _name(self, pid, comm):
        """Process ``pid`` is called ``comm`` from the line looked at on."""
        self.comm_of[pid] = comm
        self._renamed.append((self._line, pid, comm))

    def _look(self, d, j, t, kind, never, ends) -> bool:
        """Line ``j`` of the looked-at lines ``d`` (thread ``t``; see _pair); False when its
        row is made with another line's (``ends``)."""
        name, call_args, ret = d["name"][j], d["args"][j] or "", d["retval"][j]
        if kind == K_UNFINISHED or never:
            old = self.pending.pop(t, None)
            if old is not None:
                self.stats.warnings["unfinished syscall without its resumption"] += 1
                ends.append((old, None, None))
            self.pending[t] = self._start(d, j, t, never)
            if name in CLONES:
                self.clones[t] = "CLONE_THREAD" in call_args
            return False
        if kind == K_EXIT:
            start = self.pending.get(t)
            if start is not None and start["never"]:
                del self.pending[t]
                ends.append((start, j, "exit"))
            return True
        if kind == K_RESUMED:
            start = self.pending.get(t)
            if start is not None and start["name"] == name and not start["never"]:
                del self.pending[t]
                ends.append((start, j, "resumed"))
                call_args = start["args"] or ""
            else:
                ends.append(({"comm": self._comm_of(t), "alone": True}, j, "resumed"))
            thread = self.clones.pop(t, None) if name in CLONES else None
        else:
            thread = "CLONE_THREAD" in call_args
        if name in CLONES:
            self._cloned(t, ret, thread)
        elif ret == "0":          # execve: the program's name
            m = re.match(_FIRST_STR, call_args)
            if m:
                comm = m.group("str").rsplit("/", 1)[-1][:15]
                self._name(self.pid_of.get(t, t) if t is not None else -1, comm)
        return kind != K_RESUMED

    def _comm_of(self, t):
        return self.comm_of.get(self.pid_of.get(t, t) if t is not None else -1)

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
            self.pid_of[t] = self.pid_of.get(threads[0], threads[0])
        else:
            self.pid_of[t] = t
            if procs and len(procs) == 1:
                parent = self.pid_of.get(procs[0], procs[0])
                if parent in self.comm_of:
                    self._name(t, self.comm_of[parent])

    def _cloned(self, t, ret, thread):
        try:
            child = int(ret)
        except (TypeError, ValueError):
            return
        if child > 0 and child not in self.pid_of and t is not None:
            parent = self.pid_of.get(t, t)
            self.pid_of[child] = parent if thread else child
            if not thread and parent in self.comm_of:
                self._name(child, self.comm_of[parent])

    def _start(self, d, j, t, never=False):
        """The first line of a call printed on two (line ``j`` of the looked-at lines)."""
        out = {c: d[c][j] for c in ("line", "name", "args", "ts", "res", "stack", "stack_addr",
                                    "stack_dso") if c in d}
        out["tid"] = t
        out["comm"] = self._comm_of(t)    # the program's name when the call started
        out["never"] = bool(never)        # "= ?": it ends with the thread (exit, exit_group)
        if never:
            for c in ("retval", "retfd", "errno", "note"):
                out[c] = d[c][j]
        return out

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

    def _joined_rows(self, d, ends):
        """Rows of calls printed on two lines: an unfinished call and its resumption, a call
        that never returned and the exit of its thread (its -k stack printed after it), and
        one of the two lines without the other. ``d``: the looked-at lines, named by
        position in ``ends``."""
        rows = {c: [] for c in ("line", "end_line", "name", "ts", "res", "args", "retval",
                                "retfd", "errno", "note", "dur", "dres", "tid", "status", "comm",
                                "stack", "stack_addr", "stack_dso")}
        for start, j, how in ends:
            resumed = how == "resumed"
            rows["comm"].append(start["comm"])
            if start.get("alone"):
                start = None
            rows["line"].append(start["line"] if start else d["line"][j])
            rows["end_line"].append(d["line"][j] if j is not None else None)
            rows["name"].append(start["name"] if start else d["name"][j])
            rows["ts"].append(start["ts"] if start else None)
            rows["res"].append(start["res"] if start else None)
            rest = (d["args"][j] or "") if resumed else ""
            rows["args"].append((start["args"] or "") + rest if start else "... " + rest)
            for c in ("retval", "retfd", "errno", "note"):
                rows[c].append((d[c][j] if resumed else (start or {}).get(c)) or "")
            rows["dur"].append(d["dur"][j] if resumed else None)
            rows["dres"].append(d["dres"][j] if resumed else None)
            rows["tid"].append(start["tid"] if start else d["tid"][j])
            rows["status"].append(NO_ENTRY if not start else None if resumed else UNCLOSED)
            for c in ("stack", "stack_addr", "stack_dso"):
                v = d[c][j] if c in d and j is not None else None
                rows[c].append(v if v is not None else (start or {}).get(c))
        return self._table_of(rows)

    def _table_of(self, rows):
        m = len(rows["line"])
        name = pa.array(rows["name"], pa.string())
        args = pa.array(rows["args"], pa.string())
        retval = pa.array(rows["retval"], pa.string())
        calls = np.ones(m, bool)
        cols = {
            "line": pa.array(rows["line"], pa.int64()),
            "end_line": pa.array(rows["end_line"], pa.int64()),
            "format": repeat(self.format, m, FORMAT_T),
            "kind": repeat(CALL, m, FORMAT_T), "event": repeat(SYSCALL, m),
            "name": name, "ts_ns": pa.array(rows["ts"], pa.int64()),
            "ts_res_ns": pa.array(rows["res"], pa.int64()),
            "dur_ns": pa.array(rows["dur"], pa.int64()),
            "dur_res_ns": pa.array(rows["dres"], pa.int64()),
            "tid": pa.array(rows["tid"], pa.int64()),
            "pid": pa.array([self.pid_of.get(t, t) if t is not None else None
                             for t in rows["tid"]], pa.int64()),
            "comm": pa.array(rows["comm"], pa.string()),
            "args": args, "retval": null_if_empty(retval),
            "status": pa.array(rows["status"], pa.string()),
            "fields": _fields(name, args, retval, pa.array(rows["retfd"], pa.string()),
                              pa.array(rows["errno"], pa.string()),
                              pa.array(rows["note"], pa.string()), calls),
        }
        for c in ("stack", "stack_addr", "stack_dso"):
            if any(v is not None for v in rows[c]):
                cols[c] = pa.array(rows[c], pa.list_(pa.string()))
        return make_table(cols, m)

    # ------------------------------------------------------------------ end
    def open_min_line(self):
        return min((p["line"] for p in self.pending.values()), default=None)

    def finish(self):
        st = self.stats
        if st.skipped.get(SUMMARY) and not st.event_lines:
            raise InputError(self.path, "a strace -c summary (counts per syscall), not a trace: "
                             "record one with strace -f -tt -T -o FILE", line=int(
                                 st.header.get("summary_line", 1)))
        if not self.pending:
            return None
        lost = sum(1 for p in self.pending.values() if not p["never"])
        if lost:
            st.warnings["unfinished syscall without its resumption"] += lost
        ends = [(p, None, None) for p in sorted(self.pending.values(), key=lambda p: p["line"])]
        self.pending = {}
        return self._joined_rows({}, ends)


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
