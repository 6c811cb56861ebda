"""Chrome trace JSON (Trace Event Format) for Perfetto UI, chrome://tracing and speedscope.

* Calls are complete events (``ph: X``), strictly nested per track: each call is placed inside
  its parent (``parent_line``) and after its previous sibling; what the input forces (a child
  that outlasts its parent, a clock going backwards, overlapping siblings, calls never closed)
  is repaired and counted (``notes``). Times are integer ns printed as µs with three decimals
  (exact), rebased to the first event unless ``absolute_ts``. Traces without timestamps
  (function_graph without abstime) get a synthetic timeline from the durations.
* One track per (pid, tid) with ``process_name`` / ``thread_name`` metadata; the idle task
  (tid 0) gets one track per CPU, and rows with no task (function_graph without proc) one per
  CPU, so that CPUs never overlap.
* Tracepoints, function-tracer entries and other single events are thread instants
  (``ph: i``) with their fields in ``args``; lost events and similar markers are global
  instants.
* Stack samples become a flame chart: per thread, consecutive samples that share frames
  extend the same slices; a sample lasts until the next one of its thread, at most the
  thread's median sampling interval (documented in docs/chrome.md).

Streaming: the normalized rows are spooled to a temporary Parquet file (first pass: trace
start, per-track end, sampling intervals), then read back row group by row group; memory
holds only the open calls of each track. ``split`` cuts the output into files of about that
many bytes, re-opening the calls open at each cut.
"""
from __future__ import annotations

import os
import re
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import UsageError
from ..schema import CALL, MARKER, NO_ENTRY, SAMPLE, SCHEMA, kind_is
from .base import Writer

try:
    import orjson

    def _dumps(o) -> str:
        return orjson.dumps(o).decode()
except ImportError:     # pragma: no cover
    import json

    def _dumps(o) -> str:
        return json.dumps(o, ensure_ascii=False, separators=(",", ":"))

SYNTH_TID = 1 << 30         # base of synthetic thread ids (per-CPU tracks)
# distinct gaps between samples kept exactly per track (sampling at a fixed period gives few);
# past that, gaps are rounded to 3 significant digits: memory no longer grows with samples
MAX_GAP_VALUES = 1 << 16
LOST_TID = SYNTH_TID + (1 << 20)    # per-CPU "lost events" tracks
ATRACE_TID = SYNTH_TID + (1 << 22)  # + tid: a thread's atrace slices (B|pid|name … E|pid)
ATRACE_EVENTS = ("tracing_mark_write", "print")     # trace_marker writes (ftrace, trace-cmd)
# a call seen only at its exit widens over the recent root slices it overlaps: the last few
# hundred roots of a track are enough (such calls are near the start of a trace)
RECENT_ROOTS = 256
NAME_CACHE = 100_000    # JSON texts of function names kept (names repeat; memory bounded)
COLS = ["line", "kind", "event", "name", "ts_ns", "dur_ns", "pid", "tid", "comm", "cpu",
        "parent_line", "stack", "stack_dso", "args", "retval", "fields", "text", "weight",
        "status", "caller", "format"]


def _round3(v: int) -> int:
    p = 10 ** max(0, len(str(v)) - 3)
    return (v + p // 2) // p * p


def _median(counts: Counter) -> int:
    """np.median of the multiset {value: count} (mean of the two middle values if even)."""
    keys = sorted(counts)
    n = sum(counts.values())
    lo, hi = (n - 1) // 2, n // 2
    out, seen = [], 0
    for k in keys:
        c = counts[k]
        while len(out) < 2 and (lo if not out else hi) < seen + c:
            out.append(k)
        seen += c
        if len(out) == 2:
            break
    return int((out[0] + out[1]) / 2)


def parse_size(text) -> int:
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*", str(text).lower())
    if not m:
        raise UsageError(f"not a size: {text!r} (e.g. 200MB)")
    return int(float(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m.group(2)])


def us(ns: int) -> str:
    """Integer ns as exact µs text with three decimals."""
    if ns < 0:
        return "-" + us(-ns)
    q, r = divmod(ns, 1000)
    return f"{q}.{r:03d}"


# Up to 2**40 µs (12.7 days) a viewer that reads "ts" and "dur" as doubles and adds them is off
# by under 0.2 ns, so rounding to ns gives back the exact times. Beyond that (absolute times of
# long-running machines, wall clocks) doubles cannot hold every ns: times are then written on
# a binary grid every double holds exactly, sums included.
EXACT_US = 1 << 40


class DyadicTime:
    """Times (ns) as µs on the grid of multiples of 2**-shift µs, rounded down, so that every
    written value and every ``ts + dur`` below 2**(53 - shift) µs is an exact double: a viewer
    reading doubles sees the calls nested exactly as written (floor keeps order, so nesting
    survives). ``shift`` is the finest grid for times up to twice ``max_ns``."""

    def __init__(self, max_ns: int):
        bits = (max(max_ns, 0) // 1000).bit_length() + 1
        self.shift = 53 - bits
        self.step_ns = 1000 / 2 ** self.shift

    def q(self, ns: int) -> int:
        """Grid index of a time (floor)."""
        if self.shift >= 0:
            return (ns << self.shift) // 1000
        return ns // (1000 << -self.shift)

    def text(self, m: int) -> str:
        """Exact decimal text of grid index ``m``."""
        if m < 0:
            return "-" + self.text(-m)
        s = self.shift
        if s <= 0:
            return str(m << -s)
        whole, frac = m >> s, m & ((1 << s) - 1)
        if not frac:
            return str(whole)
        return f"{whole}.{frac * 5 ** s:0{s}d}".rstrip("0")


def track_of(pid, tid, cpu, comm):
    """(pid, tid, thread name) of a row's track."""
    if tid is None:
        c = -1 if cpu is None else cpu
        return 0, SYNTH_TID + 2 * (c + 1), f"CPU {c}" if c >= 0 else "unknown task"
    if tid == 0:
        c = -1 if cpu is None else cpu
        return 0, SYNTH_TID + 2 * (c + 1) + 1, f"<idle>/{c}" if c >= 0 else "<idle>"
    return (pid if pid is not None else tid), tid, comm or str(tid)


def _tasks(t: pa.Table):
    """(tid, pid as float with NaN for none, cpu with -1 for none, rows without a task, rows
    of the idle task) of a table, as numpy arrays: what a row's track is made of."""
    tid_f = np.asarray(t.column("tid").to_numpy(zero_copy_only=False), dtype=np.float64)
    pid_f = np.asarray(t.column("pid").to_numpy(zero_copy_only=False), dtype=np.float64)
    cpu = np.asarray(t.column("cpu").to_numpy(zero_copy_only=False), dtype=np.float64)
    cpu_i = np.nan_to_num(cpu, nan=-1).astype(np.int64)
    no_task = np.isnan(tid_f)
    idle = ~no_task & (np.nan_to_num(tid_f, nan=-1) == 0)
    return np.nan_to_num(tid_f, nan=0).astype(np.int64), pid_f, cpu_i, no_task, idle


def track_keys(t: pa.Table):
    """Vectorized track_of: (pid, tid) arrays of every row (synthetic per-CPU tids for the
    idle task and for rows without a task)."""
    tid_i, pid_f, cpu_i, no_task, idle = _tasks(t)
    pid_i = np.where(np.isnan(pid_f), tid_i, np.nan_to_num(pid_f, nan=0).astype(np.int64))
    synth = SYNTH_TID + 2 * (cpu_i + 1)
    out_t = np.where(no_task, synth, np.where(idle, synth + 1, tid_i))
    out_p = np.where(no_task | idle, 0, pid_i)
    return pa.array(out_p), pa.array(out_t)


TRACE_SPAN = 1 << 22        # ids of trace k: (k + 1) * TRACE_SPAN + id (Linux pid_max <= 2^22)
MAX_TRACES = (1 << 31) // TRACE_SPAN - 1    # the ids stay 32-bit signed integers: 511


def as_own_processes(t: pa.Table, k: int, t0) -> pa.Table:
    """Rows of trace ``k`` of a timeline of several traces (a dataset's) as processes of
    their own: pids and tids moved to the trace's range, rows without a task (or of the idle
    task) on per-CPU tracks of the trace, task names prefixed ``[k+1]``, times from ``t0``."""
    base = (k + 1) * TRACE_SPAN
    tid_i, pid_f, cpu_i, no_task, idle = _tasks(t)
    elsewhere = no_task | idle              # per-CPU tracks of the trace, not a task's
    cpu_track = base + TRACE_SPAN // 2 + 2 * (cpu_i + 1) + idle
    tid_new = np.where(elsewhere, cpu_track, base + tid_i)
    pid_new = np.where(elsewhere, base, np.where(np.isnan(pid_f), tid_new,
                                                 base + np.nan_to_num(pid_f, nan=0)
                                                 .astype(np.int64)))
    names = [f"[{k + 1}] " + ((f"<idle>/{c}" if c >= 0 else "<idle>") if i else
                               (f"CPU {c}" if c >= 0 else "no task")) if e else
             f"[{k + 1}] {cm if cm is not None else '?'}"
             for cm, e, i, c in zip(t.column("comm").to_pylist(), elsewhere.tolist(),
                                    idle.tolist(), cpu_i.tolist())]
    t = t.set_column(t.schema.get_field_index("tid"), "tid", pa.array(tid_new, pa.int64()))
    t = t.set_column(t.schema.get_field_index("pid"), "pid", pa.array(pid_new, pa.int64()))
    t = t.set_column(t.schema.get_field_index("comm"), "comm", pa.array(names, pa.string()))
    if t0:
        i = t.schema.get_field_index("ts_ns")
        t = t.set_column(i, "ts_ns", pc.subtract(t.column("ts_ns"), pa.scalar(t0, pa.int64())))
    return t


_NO_ARGS: dict = {}
SYNTH_NOTE = "calls placed on a synthetic timeline (the trace has no timestamps)"


class _PyColumns(dict):
    """Columns of a table as Python lists, each converted when first read (stacks and
    fields only matter for samples and instants; a chunk of calls never reads them)."""

    def __init__(self, t: pa.Table):
        super().__init__()
        self._t = t

    def __missing__(self, c):
        col = self._t.column(c)
        v = [None] * self._t.num_rows if col.null_count == self._t.num_rows else pylist(col)
        self[c] = v
        return v


def pylist(col) -> list:
    """``col.to_pylist()``, faster for the columns that matter here: integers through numpy,
    strings that repeat (names, tasks, kinds) through their distinct values."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    t = col.type
    if pa.types.is_integer(t):
        if col.null_count == 0:
            return col.to_numpy().tolist()
        v = col.fill_null(0).to_numpy().tolist()
        for i in np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False)).tolist():
            v[i] = None
        return v
    if pa.types.is_string(t):
        col = col.dictionary_encode()
        t = col.type
    if pa.types.is_dictionary(t) and pa.types.is_string(t.value_type):
        values = col.dictionary.to_pylist() + [None]
        idx = col.indices.fill_null(-1).to_numpy().tolist()
        return [values[i] for i in idx]
    return col.to_pylist()


class _Open:
    __slots__ = ("line", "start", "end", "name", "args", "child_end", "cursor")

    def __init__(self, line, start, end, name, args):
        self.line, self.start, self.end, self.name, self.args = line, start, end, name, args
        self.child_end = start      # end of the last child placed
        self.cursor = start         # synthetic timeline: where the next child starts


class _Track:
    __slots__ = ("stack", "last_root_end", "cursor", "end", "frames", "prev_ts", "cap",
                 "prev_end", "roots")

    def __init__(self):
        self.stack: list[_Open] = []
        self.roots: list = []       # recent root slices (start, end), oldest first
        self.last_root_end = None
        self.cursor = 0
        self.end = None             # last time seen on this track (first pass)
        self.frames = []            # sample flame chart: [name, start]
        self.prev_ts = None
        self.prev_end = None
        self.cap = None


@dataclass
class ChromeOptions:
    absolute_ts: bool = False       # keep the trace's own timestamps (default: rebased to 0)
    split: str | int | None = None  # cut into files of about this size ("200MB"), or None

    def __post_init__(self):
        self.split_bytes = parse_size(self.split) if self.split else None


class ChromeWriter(Writer):
    name = "chrome"
    Options = ChromeOptions
    timeline = True      # --on-cpu drops off-CPU slices but keeps wall-clock call durations
    description = "Chrome trace JSON (Perfetto UI, chrome://tracing, speedscope)"

    def begin(self):
        self._jnames = {}           # (cat, name) -> the JSON text of an X event up to "pid"
        self._track_text = {}       # track key -> '"pid":P,"tid":T,'
        self.absolute = self.o.absolute_ts
        self.split = self.o.split_bytes
        # the rows wait for pass 2 in an Arrow IPC stream (LZ4 frames: about a quarter of the
        # CPU time of a Parquet spool)
        self._spool = tempfile.NamedTemporaryFile(prefix="tracefold-chrome-", suffix=".arrow")
        self._spool_file = pa.OSFile(self._spool.name, "wb")
        self._pw = pa.ipc.new_stream(self._spool_file, pa.schema([SCHEMA.field(c) for c in COLS]),
                                   options=pa.ipc.IpcWriteOptions(compression="lz4"))
        self.t0 = None
        self.tracks: dict = {}
        self._gaps = defaultdict(Counter)    # track -> {gap between samples: how many}
        self._last_sample_ts = {}

    # ------------------------------------------------------------------ pass 1
    def write(self, table: pa.Table):
        t = table.select(COLS)
        self._pw.write_table(t)
        ts = t.column("ts_ns")
        mn = pc.min(ts).as_py()
        if mn is not None:
            self.t0 = mn if self.t0 is None else min(self.t0, mn)
        # last time per track (unclosed calls end there), grouped without a Python loop
        end = pc.add(ts, pc.fill_null(t.column("dur_ns"), 0))
        tp, tt = track_keys(t)
        g = pa.table({"p": tp, "t": tt, "e": end}).group_by(["p", "t"]).aggregate([("e", "max")])
        for p_, t_, e in zip(g.column("p").to_pylist(), g.column("t").to_pylist(),
                             g.column("e_max").to_pylist()):
            tr = self.tracks.get((p_, t_))
            if tr is None:
                tr = self.tracks[(p_, t_)] = _Track()
            if e is not None and (tr.end is None or e > tr.end):
                tr.end = e
        samples = t.filter(kind_is(t, SAMPLE))
        sp, st = track_keys(samples)
        for key, ts_ in zip(zip(sp.to_pylist(), st.to_pylist()),
                            samples.column("ts_ns").to_pylist()):
            if ts_ is None:
                continue
            prev = self._last_sample_ts.get(key)
            if prev is not None and ts_ > prev:
                g = self._gaps[key]
                gap = ts_ - prev
                if len(g) >= MAX_GAP_VALUES and gap not in g:
                    gap = _round3(gap)      # bounded memory: 3 significant digits from here
                g[gap] += 1
            self._last_sample_ts[key] = ts_

    # ------------------------------------------------------------------ pass 2
    def end(self):
        self._pw.close()
        self._spool_file.close()
        if self.absolute or self.t0 is None:
            self.base = 0
        else:
            self.base = self.t0
        ends = [tr.end for tr in self.tracks.values() if tr.end is not None]
        top = max(ends, default=0) - self.base
        self._grid = DyadicTime(top) if top // 1000 >= EXACT_US else None
        if self._grid is not None:
            self.notes[f"times beyond 2^40 µs written on a {self._grid.step_ns:g} ns binary "
                       "grid (exact as doubles)"] += 1
        for key, g in self._gaps.items():
            self.tracks[key].cap = _median(g)
        self._names = {}            # (pid, tid) -> thread name
        self._track_of = {}         # (pid, tid, cpu, comm) of a row -> (track key, _Track)
        self._synth = 0             # calls placed on a synthetic timeline, not yet in notes
        self._pnames = {}           # pid -> process name
        self._cpu_last = {}         # cpu -> time of its last event so far
        self._lost_open = {}        # cpu -> (gap start, count, line) until its next event
        self._atrace_open = defaultdict(list)   # atrace track -> [(name, start, line)]
        self._files = []
        self._open_file()
        # read, not memory-mapped: mapped pages would count in the resident memory
        with pa.OSFile(self._spool.name) as m:
            for batch in pa.ipc.open_stream(m):
                self._rows(pa.Table.from_batches([batch]))
        for key, tr in self.tracks.items():
            self._close_all(key, tr)
        for key, opened in self._atrace_open.items():
            end = self.tracks[(key[0], key[1] - ATRACE_TID)].end if \
                (key[0], key[1] - ATRACE_TID) in self.tracks else None
            while opened:
                name, start, line = opened.pop()
                self.notes["atrace slices without their end marker closed at the last "
                           "event of their thread"] += 1
                self._x(key, name, start, max(start, end or start) - start, None,
                        cat="atrace", line=line)
        for cpu, gap in sorted(self._lost_open.items()):
            self._lost_slice(cpu, gap, None)
        self._close_file(last=True)
        self._spool.close()

    def _ts(self, ns: int) -> str:
        if self._grid is None:
            return us(ns - self.base)
        g = self._grid
        return g.text(g.q(ns - self.base))

    def _dur(self, start: int, dur: int) -> str:
        if self._grid is None:
            return us(dur)
        g = self._grid
        s = start - self.base
        return g.text(g.q(s + dur) - g.q(s))

    # output files --------------------------------------------------------
    def _open_file(self):
        k = len(self._files)
        if self.split is None:
            f = self.open_text()
            atomic = None
        else:
            target = self._part_name(k)
            atomic = None
            f = open(self.part(target), "w", encoding="utf-8")
        self._files.append(atomic)
        self._f = f
        self._written = 0
        self._first = True
        self._used_tracks = set()
        self._emit_raw('{"traceEvents":[\n')

    def _part_name(self, k):
        root, ext = os.path.splitext(self.target)
        return f"{root}.{k + 1:03d}{ext or '.json'}"

    def _close_file(self, last=False):
        if self._synth:
            self.notes[SYNTH_NOTE] += self._synth
            self._synth = 0
        for (pid, tid) in sorted(self._used_tracks):
            self._event(f'"ph":"M","name":"thread_name","pid":{pid},"tid":{tid},'
                        f'"args":{{"name":{_dumps(self._names.get((pid, tid), str(tid)))}}}')
        for pid in sorted({p for p, _ in self._used_tracks}):
            self._event(f'"ph":"M","name":"process_name","pid":{pid},"tid":{pid},'
                        f'"args":{{"name":{_dumps(self._pname(pid))}}}')
        other = {"tracefold": {"source": self.info.get("source"),
                               "format": self.info.get("format"),
                               "time_origin_ns": self.base,
                               "repairs": dict(self.notes)}}
        self._emit_raw(f'\n],"displayTimeUnit":"ns","otherData":{_dumps(other)}}}\n')
        self._f.close()
        if self.split is not None:
            if last and self.tmp is not None:
                # the -o path itself lists the parts (so that it exists and says where to look)
                with open(self.tmp, "w") as f:
                    f.write(_dumps({"parts": [os.path.basename(self._part_name(i))
                                              for i in range(len(self._files))]}) + "\n")

    def _pname(self, pid):
        if pid == 0:
            return "kernel (idle / no task)"
        return self._pnames.get(pid) or self._names.get((pid, pid)) or str(pid)

    def _emit_raw(self, s):
        self._f.write(s)
        self._written += len(s)

    def _event(self, body):
        self._emit_raw(("" if self._first else ",\n") + "{" + body + "}")
        self._first = False

    def _maybe_split(self, ts):
        """Cut here if the file is full: the open calls are closed at ``ts`` in this file
        and re-opened at ``ts`` in the next."""
        if self.split is None or self._written < self.split:
            return
        reopened = []
        for key, tr in self.tracks.items():
            for o in tr.stack:
                if o.start < ts:
                    self._x(key, o.name, o.start, max(ts, o.start) - o.start,
                            dict(o.args, continues=True), line=o.line)
                    o.start = ts
                    o.args = dict(o.args, continued=True)
                    reopened.append(o)
        self._close_file()
        self._open_file()
        if reopened:
            self.notes["calls cut at a file boundary and re-opened in the next part"] += \
                len(reopened)

    # rows ----------------------------------------------------------------
    def _rows(self, t: pa.Table):
        cols = _PyColumns(t)
        kinds, pids, tids, cpus, comms = (cols[k] for k in ("kind", "pid", "tid", "cpu", "comm"))
        tss = cols["ts_ns"]
        tracks_of = self._track_of
        for i in range(t.num_rows):
            kind = kinds[i]
            pid, tid, cpu, comm = pids[i], tids[i], cpus[i], comms[i]
            got = tracks_of.get((pid, tid, cpu, comm))
            if got is None:
                got = self._new_track(pid, tid, cpu, comm)
            key, tr = got
            ts = tss[i]
            if ts is not None:
                if self.split is not None:
                    self._maybe_split(ts)
                if cpu is not None:
                    self._cpu_last[cpu] = ts
                    if self._lost_open:
                        self._cpu_seen(cpu, ts)
            if kind == CALL:
                self._call(key, tr, cols, i)
            elif kind == MARKER and cols["event"][i] == "lost_events" and cpu is not None:
                self._lost(cpu, cols, i)
            elif kind == SAMPLE:
                self._sample(key, tr, cols, i)
            else:
                self._instant(key, tr, cols, i, kind)

    def _new_track(self, pid, tid, cpu, comm):
        """(track key, _Track) of a row's task, its names recorded (cached per task)."""
        p, tt, tname = track_of(pid, tid, cpu, comm)
        key = (p, tt)
        if key not in self._names:
            self._names[key] = tname
            if pid is not None and tid is not None and pid == tid and comm:
                self._pnames.setdefault(p, comm)
            elif comm and p not in self._pnames and p != 0:
                self._pnames[p] = comm
        got = self._track_of[(pid, tid, cpu, comm)] = (key, self.tracks[key])
        return got

    # lost events: a gap on that CPU ---------------------------------------
    def _lost(self, cpu, c, i):
        """"[LOST N EVENTS]" / "[EVENTS DROPPED]" on a CPU: events are missing between that
        CPU's last event before the marker and its next one. That span becomes a slice on the
        CPU's "lost events" track (an instant where one side is unknown)."""
        count = c["weight"][i]
        prev = self._lost_open.pop(cpu, None)
        if prev is not None:          # two markers in a row: one gap
            count = (prev[1] or 0) + (count or 0) if (prev[1] or count) else None
        self._lost_open[cpu] = (self._cpu_last.get(cpu), count, c["line"][i])

    def _cpu_seen(self, cpu, ts):
        self._cpu_last[cpu] = ts
        if self._lost_open:
            gap = self._lost_open.pop(cpu, None)
            if gap is not None:
                self._lost_slice(cpu, gap, ts)

    def _lost_slice(self, cpu, gap, end):
        start, count, line = gap
        key = (0, LOST_TID + cpu)
        self._names[key] = f"CPU {cpu} lost events"
        self._used_tracks.add(key)
        name = f"lost events ({count})" if count is not None else "lost events (count unknown)"
        args = {"count": count, "cpu": cpu, "line": line}
        at = start if start is not None else end
        if at is None:
            self.notes["lost-event markers without any time on their CPU (left out)"] += 1
            return
        self.notes["lost-event gaps marked on their CPU"] += 1
        if start is None or end is None or end <= start:
            self._event(f'"ph":"i","s":"t","cat":"lost","name":{_dumps(name)},"pid":0,'
                        f'"tid":{key[1]},"ts":{self._ts(at)},"args":{_dumps(args)}')
            return
        self._event(f'"ph":"X","cat":"lost","name":{_dumps(name)},"pid":0,"tid":{key[1]},'
                    f'"ts":{self._ts(start)},"dur":{self._dur(start, end - start)},'
                    f'"args":{_dumps(args)}')

    def _call(self, key, tr, c, i):
        ts, dur, status = c["ts_ns"][i], c["dur_ns"][i], c["status"][i]
        # no per-call "line" here: viewers such as speedscope name a frame by its args too,
        # and a unique arg per call would keep identical calls from merging
        a, r = c["args"][i], c["retval"][i]
        if a is None and r is None and not status:
            args = _NO_ARGS             # shared, never changed (copied where extended)
        else:
            args = {}
            if a is not None:
                args["args"] = a
            if r is not None:
                args["retval"] = r
            if status:
                args["status"] = status
        st = tr.stack
        parent = self._to_parent(key, tr, c["parent_line"][i], status)
        synthetic = ts is None
        if synthetic:
            ts = st[-1].cursor if st else tr.cursor
            if status == NO_ENTRY and dur is not None:
                ts -= dur
            if not self._synth:         # the note keeps its place among the others
                self.notes[SYNTH_NOTE] += 0
            self._synth += 1            # added to the notes when a file is closed
        if parent is None and status == NO_ENTRY:
            self._enclosing(key, tr, c["name"][i] or "?", ts, ts + (dur or 0), args,
                            line=c["line"][i])
            return
        if parent is None:
            while st and (st[-1].end is not None and st[-1].end <= ts):
                self._pop(key, tr)
            while st:                           # an earlier root still open: it ends here
                self._pop(key, tr, ts)
        end = None if dur is None else ts + dur
        if st:
            ts, end = self._within_parent(st, ts, end, synthetic)
        elif tr.last_root_end is not None and ts < tr.last_root_end and status != NO_ENTRY:
            if end is not None:
                end = max(end, tr.last_root_end)
            ts = tr.last_root_end
            self.notes["calls starting before the previous call ended moved"] += 1
        st.append(_Open(c["line"][i], ts, end, c["name"][i] or "?", args))

    def _to_parent(self, key, tr, parent, status):
        """Pop the track's stack down to the call's parent (usually near the top: finished
        siblings and their descendants go). Returns the parent line, or None when the parent
        is not open here (for a call seen only at its exit, the stack is emptied: its
        children came before it)."""
        st = tr.stack
        if parent is not None and st and st[-1].line == parent:
            return parent                   # the common case: the parent is on top
        j = len(st) - 1
        if parent is not None:
            while j >= 0 and st[j].line != parent:
                j -= 1
        if j >= 0 and parent is not None:
            while len(st) > j + 1:
                self._pop(key, tr)
            return parent
        if status == NO_ENTRY:
            while st:
                self._pop(key, tr)
        return None

    def _within_parent(self, st, ts, end, synthetic):
        """(start, end) of a call moved inside its parent (the top of ``st``): after the
        parent's start and its previous child, ending before the nearest enclosing end."""
        par = st[-1]
        lo = max(par.start, par.child_end)
        if ts < lo:
            if end is not None and synthetic:
                end = max(end, lo)
            ts = lo
            self.notes["calls starting before their parent or previous sibling moved"] += 1
        # the end the call must stay within: the nearest enclosing call with an end, less
        # 1 ns for each call still open in between (they end inside it, see _pop)
        if par.end is not None:
            limit = par.end
        else:
            limit = next((anc.end - dist for dist, anc in enumerate(reversed(st))
                          if anc.end is not None), None)
        if limit is not None and end is not None:
            if end > limit:
                end = limit
                self.notes["calls ending after their parent clipped"] += 1
            if end == limit and end > ts:
                # viewers that turn X events into begin/end pairs order equal end times
                # parent first (speedscope: "Tried to end …"): end the child 1 ns earlier
                end -= 1
                self.notes["calls ending with their parent shortened by 1 ns"] += 1
        if end is not None and end < ts:
            end = ts
        return ts, end

    def _enclosing(self, key, tr, name, start, end, args, line=None):
        """A call whose entry the trace does not have: its callees came before it. It
        contains every earlier slice of its track that it overlaps."""
        widened = False
        while tr.roots and tr.roots[-1][1] > start:
            s0, e0 = tr.roots.pop()
            if s0 < start or e0 > end:
                widened = True
            start, end = min(start, s0), max(end, e0)
        if widened:
            self.notes["calls seen only at their exit widened to contain their callees"] += 1
        self._x(key, name, start, end - start, args, line=line)
        self._root_done(tr, start, end)

    def _root_done(self, tr, start, end):
        tr.roots.append((start, end))
        if len(tr.roots) > RECENT_ROOTS:
            del tr.roots[:RECENT_ROOTS // 2]
        tr.last_root_end = max(tr.last_root_end or end, end)
        tr.cursor = max(tr.cursor, end)

    def _pop(self, key, tr, at=None):
        o = tr.stack.pop()
        end = o.end
        if end is None:
            # never closed: until the last thing seen on the track (or the cut point), and
            # after its last child
            last_child = o.child_end + 1 if o.child_end > o.start else o.start
            end = max(last_child, o.cursor, at if at is not None else (tr.end or o.start))
            # inside a closed call (lost events): end within it, 1 ns per open level between
            for dist, anc in enumerate(reversed(tr.stack), 1):
                if anc.end is not None:
                    end = min(end, anc.end - dist)
                    break
            self.notes["unclosed calls closed at the last event of their track"] += 1
        if end < o.start:
            end = o.start
        if end == o.start:
            # zero-length slices confuse viewers that sort X events (speedscope ends them
            # before a slice starting at the same time): an instant says the same
            self._zero(key, o)
        else:
            self._x(key, o.name, o.start, end - o.start, o.args, line=o.line)
        if tr.stack:
            par = tr.stack[-1]
            if end > par.child_end:
                par.child_end = end
            if end > par.cursor:
                par.cursor = end
        else:
            self._root_done(tr, o.start, end)

    def _zero(self, key, o):
        self._used_tracks.add(key)
        self.notes["calls of zero duration written as instants"] += 1
        args = dict(o.args, dur_ns=0)
        self._event(f'"ph":"i","s":"t","cat":"call","name":{_dumps(o.name)},"pid":{key[0]},'
                    f'"tid":{key[1]},"ts":{self._ts(o.start)},"line":{o.line},'
                    f'"args":{_dumps(args)}')

    def _close_all(self, key, tr):
        while tr.stack:
            self._pop(key, tr)
        self._flush_frames(key, tr, None)

    def _x(self, key, name, start, dur, args, cat="call", line=None):
        """A complete event; ``line`` (the input line of the call) goes in a key of its own,
        which viewers ignore: in ``args`` it would make speedscope name every call apart."""
        self._used_tracks.add(key)
        ln = f',"line":{line}' if line is not None else ""
        body = f',"args":{_dumps(args)}' if args else ""
        head = self._jnames.get((cat, name))
        if head is None:                 # names repeat: their JSON text is made once
            head = f'"ph":"X","cat":"{cat}","name":{_dumps(name)},'
            if len(self._jnames) < NAME_CACHE:
                self._jnames[(cat, name)] = head
        track = self._track_text.get(key)
        if track is None:
            track = self._track_text[key] = f'"pid":{key[0]},"tid":{key[1]},'
        if self._grid is None and start >= self.base and dur >= 0:
            # the common case, once per call: _ts / _dur (exact µs) without their calls
            q, r = divmod(start - self.base, 1000)
            dq, dr = divmod(dur, 1000)
            times = f'"ts":{q}.{r:03d},"dur":{dq}.{dr:03d}'
        else:
            times = f'"ts":{self._ts(start)},"dur":{self._dur(start, dur)}'
        self._event(f"{head}{track}{times}{ln}{body}")

    def _instant(self, key, tr, c, i, kind):
        ts = c["ts_ns"][i]
        if ts is None:
            ts = tr.stack[-1].cursor if tr.stack else tr.cursor
        if c["event"][i] in ATRACE_EVENTS and c["fields"][i] and \
                self._atrace(key, dict(c["fields"][i]), ts, c["line"][i]):
            return
        name = c["name"][i] or c["event"][i] or kind
        args = {}
        if c["event"][i] and c["event"][i] != name:
            args["event"] = c["event"][i]
        if c["fields"][i]:
            args.update({k: v for k, v in c["fields"][i]})
        if c["text"][i] is not None:
            args["text"] = c["text"][i]
        if c["caller"][i]:
            args["caller"] = c["caller"][i]
        self._used_tracks.add(key)
        scope = "g" if kind == MARKER else "t"
        self._event(f'"ph":"i","s":"{scope}","cat":"{kind}","name":{_dumps(name)},'
                    f'"pid":{key[0]},"tid":{key[1]},"ts":{self._ts(ts)},'
                    f'"line":{c["line"][i]},"args":{_dumps(args)}')

    # samples: a flame chart per thread -----------------------------------
    def _atrace(self, key, f, ts, line) -> bool:
        """An Android / atrace marker (``B|pid|name``, ``E|pid``, ``C|pid|name|value``,
        ``S|pid|name|cookie``, ``F|pid|name|cookie``) drawn as Perfetto draws it: B/E as
        slices on the thread's atrace track, C as a counter of the process, S/F as async
        slices. False for a marker of another form (it stays an instant)."""
        ph, name = f.get("phase"), f.get("name")
        pid = int(f["pid"]) if f.get("pid") not in (None, "") else key[0]
        tk = (key[0], ATRACE_TID + key[1])
        if ph == "B" and name is not None:
            self._atrace_open[tk].append((name, ts, line))
            self._names.setdefault(tk, f"{self._names.get(key, key[1])} (atrace)")
            return True
        if ph == "E":
            opened = self._atrace_open.get(tk)
            if not opened:
                self.notes["atrace end markers without a begin (left as instants)"] += 1
                return False
            name, start, bline = opened.pop()
            self._x(tk, name, start, ts - start, None, cat="atrace", line=bline)
            return True
        if ph == "C" and name is not None:
            try:
                value = float(f.get("value", ""))
            except ValueError:
                return False
            value = int(value) if value.is_integer() else value
            self._used_tracks.add((pid, pid))
            self._event(f'"ph":"C","cat":"atrace","name":{_dumps(name)},"pid":{pid},'
                        f'"ts":{self._ts(ts)},"args":{{{_dumps(name)}:{_dumps(value)}}}')
            return True
        if ph in ("S", "F") and name is not None:
            cookie = (f.get("value") or "0").strip()
            self._used_tracks.add((pid, pid))
            self._event(f'"ph":"{"b" if ph == "S" else "e"}","cat":"atrace",'
                        f'"name":{_dumps(name)},"id":{_dumps(cookie)},"pid":{pid},'
                        f'"tid":{pid},"ts":{self._ts(ts)}')
            return True
        return False

    def _sample(self, key, tr, c, i):
        ts = c["ts_ns"][i]
        w = c["weight"][i] or 1
        if ts is None:
            # no times: samples side by side, 1 µs per unit of weight (frames closing together
            # end 1 ns apart, which needs room)
            ts = tr.cursor
            tr.cursor += w * 1000
            cap = w * 1000
        else:
            cap = tr.cap or w
        stack = c["stack"][i] or []
        dsos = c["stack_dso"][i] or [None] * len(stack)
        names = [_frame_name(s, d) for s, d in zip(stack, dsos)]
        if not names:
            names = [c["comm"][i] or "?"]
        if tr.prev_end is not None and ts > tr.prev_end:
            self._flush_frames(key, tr, tr.prev_end)        # a gap: close everything
        elif tr.prev_ts is not None and ts < tr.prev_ts:
            ts = tr.prev_ts
        common = 0
        for (fname, _), n in zip(tr.frames, names):
            if fname != n:
                break
            common += 1
        self._flush_frames(key, tr, ts, keep=common)
        for n in names[common:]:
            tr.frames.append([n, ts])
        tr.prev_ts = ts
        tr.prev_end = ts + cap

    def _flush_frames(self, key, tr, at, keep=0):
        if at is None:
            at = tr.prev_end
        # frames closing together: the inner ones end 1 ns before the one around them (viewers
        # that sort X events by end time need distinct ends to nest them right)
        while len(tr.frames) > keep:
            inner = len(tr.frames) - 1 - keep
            n, start = tr.frames.pop()
            end = max(at - inner, start)
            if end > start:
                self._x(key, n, start, end - start, {}, cat="sample")


def _frame_name(sym, dso):
    if sym in ("", "[unknown]") and dso and dso != "[unknown]":
        return f"[{dso.rsplit('/', 1)[-1]}]"
    return sym or "[unknown]"
