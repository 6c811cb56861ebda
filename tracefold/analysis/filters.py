"""Row filters shared by every output (--pid, --tid, --comm, --function, --time, --max-depth,
--min-duration), applied chunk by chunk to the normalized table.

Calls dropped by a filter simply disappear: their time stays in the parent's duration, so
self times and folded weights of the kept calls include it (as a cut-off flame graph shows).

``--on-cpu`` is the exception: off-CPU calls (``linux:schedule`` …, see schema.is_off_cpu) are
dropped *and* their time is taken out of every enclosing call's duration, so totals and self
times are on-CPU time. For a timeline (Chrome JSON) the enclosing calls keep their wall-clock
durations (``wall=True``): only the off-CPU slices go.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import UsageError
from ..schema import CALL, is_off_cpu, kind_is

_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "": None}


def parse_duration(text: str, default_unit: str = "ns") -> int:
    """'1.5ms' → 1500000 (ns); a bare number is in ``default_unit``."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|µs|ms|s)?\s*", text)
    if not m:
        raise UsageError(f"not a duration: {text!r} (e.g. 250us, 1.5ms, 2s)")
    unit = _UNITS[m.group(2) or default_unit]
    num = m.group(1)
    ip, _, fp = num.partition(".")
    scale = len(str(unit)) - 1
    fp = (fp + "0" * scale)[:scale]
    return int(ip or 0) * unit + (int(fp) if fp else 0)


def parse_time_range(text: str) -> tuple[int | None, int | None]:
    """'START..END' with times as printed in the trace (seconds by default, or with a unit);
    either side may be empty."""
    if ".." not in text:
        raise UsageError(f"--time wants START..END (e.g. 52.3..52.9 or 100ms..), not {text!r}")
    a, b = text.split("..", 1)
    return (parse_duration(a, "s") if a.strip() else None,
            parse_duration(b, "s") if b.strip() else None)


def _ints(text):
    try:
        return [int(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"expected a number or a comma-separated list of numbers: {text!r}") \
            from None


@dataclass
class Filters:
    pid: list = field(default_factory=list)
    tid: list = field(default_factory=list)
    comm: list = field(default_factory=list)
    function: str | None = None
    time: tuple | None = None
    max_depth: int | None = None
    min_duration: int | None = None
    on_cpu: bool = False
    event: list = field(default_factory=list)

    @classmethod
    def from_options(cls, pid=None, tid=None, comm=None, function=None, time=None,
                     max_depth=None, min_duration=None, on_cpu=False, event=None):
        return cls(pid=_ints(pid) if pid else [], tid=_ints(tid) if tid else [],
                   comm=[c for c in (comm or "").split(",") if c] if isinstance(comm, str)
                   else list(comm or []),
                   function=function,
                   time=parse_time_range(time) if isinstance(time, str) else time,
                   max_depth=max_depth,
                   min_duration=parse_duration(min_duration) if isinstance(min_duration, str)
                   else min_duration, on_cpu=bool(on_cpu),
                   event=[e for e in event.split(",") if e] if isinstance(event, str)
                   else list(event or []))

    def active(self) -> bool:
        return bool(self.pid or self.tid or self.comm or self.function or self.time
                    or self.max_depth is not None or self.min_duration is not None
                    or self.on_cpu or self.event)


class RowFilter:
    """Apply Filters to successive chunks (rows in input-line order)."""

    def __init__(self, f: Filters, wall: bool = False):
        self.f = f
        self._kept_calls: set = set()      # lines of kept calls under --function
        self._off = OnCpu(wall) if f.on_cpu else None

    def __call__(self, t: pa.Table) -> pa.Table:
        f = self.f
        if not f.active() or not t.num_rows:
            return t
        if self._off is not None:
            t = self._off(t)
        keep = pa.array(np.ones(t.num_rows, bool))
        if f.pid:
            keep = pc.and_(keep, pc.fill_null(
                pc.is_in(t.column("pid"), pa.array(f.pid, pa.int64())), False))
        if f.tid:
            keep = pc.and_(keep, pc.fill_null(
                pc.is_in(t.column("tid"), pa.array(f.tid, pa.int64())), False))
        if f.comm:
            keep = pc.and_(keep, pc.fill_null(pc.is_in(t.column("comm"), pa.array(f.comm)), False))
        if f.event:
            keep = pc.and_(keep, pc.fill_null(
                pc.is_in(t.column("event"), pa.array(f.event, pa.string())), False))
        if f.time:
            lo, hi = f.time
            ts = t.column("ts_ns")
            if lo is not None:
                keep = pc.and_(keep, pc.fill_null(pc.greater_equal(ts, lo), False))
            if hi is not None:
                keep = pc.and_(keep, pc.fill_null(pc.less_equal(ts, hi), False))
        is_call = kind_is(t, CALL)
        if f.min_duration is not None:
            short = pc.and_(is_call, pc.fill_null(
                pc.less(t.column("dur_ns"), f.min_duration), False))
            keep = pc.and_(keep, pc.invert(short))
        if f.max_depth is not None:
            deep = pc.and_(is_call, pc.fill_null(
                pc.greater_equal(t.column("depth"), f.max_depth), False))
            keep = pc.and_(keep, pc.invert(deep))
        t = t.filter(keep)
        if f.function:
            t = self._function(t)
        if f.max_depth is not None and t.num_rows:
            stack = t.column("stack")
            depth = pc.fill_null(pc.list_value_length(stack), 0)
            if pc.any(pc.greater(depth, f.max_depth)).as_py():
                t = _trim_stacks(t, 0, f.max_depth)
        return t

    def _function(self, t):
        """Calls named NAME and everything under them; stacks through NAME, cut to start
        there; nothing else."""
        name = self.f.function
        kind = t.column("kind").cast(pa.string()).to_pylist()
        names = t.column("name").to_pylist()
        lines = t.column("line").to_pylist()
        parents = t.column("parent_line").to_pylist()
        stacks = t.column("stack").to_pylist()
        keep = np.zeros(t.num_rows, bool)
        start = np.zeros(t.num_rows, np.int64)
        kept = self._kept_calls
        for i, k in enumerate(kind):
            if k == CALL:
                if names[i] == name or parents[i] in kept:
                    kept.add(lines[i])
                    keep[i] = True
            elif stacks[i] and name in stacks[i]:
                keep[i] = True
                start[i] = stacks[i].index(name)
        t = t.filter(pa.array(keep))
        start = start[keep]
        if start.any():
            t = _trim_stacks(t, start, None)
        return t


def _trim_stacks(t, start, length):
    """Stacks cut to [start, start + length) (start: int or per-row array)."""
    cols = {}
    n = t.num_rows
    st = np.broadcast_to(np.asarray(start, np.int64), (n,))
    for c in ("stack", "stack_addr", "stack_dso"):
        vals = t.column(c).to_pylist()
        out = []
        for i, v in enumerate(vals):
            if v is None:
                out.append(None)
            else:
                e = None if length is None else st[i] + length
                out.append(v[st[i]:e])
        cols[c] = pa.array(out, t.schema.field(c).type)
    for c, a in cols.items():
        t = t.set_column(t.schema.get_field_index(c), c, a)
    return t


class OnCpu:
    """Drop off-CPU calls; unless ``wall``, subtract their time from every enclosing call.

    Chunks come in input-line order except that a call spanning chunks comes with the chunk
    where it closes, so its descendants always come before it or with it: the time to take
    out of a call not yet seen waits in ``pending`` (keyed by its line) until it arrives."""

    def __init__(self, wall: bool = False):
        self.wall = wall
        self.pending: dict = {}          # line of a call not seen yet -> ns to subtract

    def __call__(self, t: pa.Table) -> pa.Table:
        off = is_off_cpu(t)
        has_off = pc.any(off).as_py()
        if self.wall:
            return t.filter(pc.invert(off)) if has_off else t
        if not has_off and not self.pending:
            return t
        line = t.column("line").to_numpy()
        order = np.argsort(line, kind="stable")
        sline = line[order]
        parent = pc.fill_null(t.column("parent_line"), -1).to_numpy()[order]
        dur_col = t.column("dur_ns")
        dur_ok = pc.is_valid(dur_col).to_numpy(zero_copy_only=False)[order]
        dur = pc.fill_null(dur_col, 0).to_numpy()[order].astype(np.int64)
        offs = off.to_numpy(zero_copy_only=False)[order]
        minus = np.zeros(len(sline), np.int64)
        # seeds: (position, ns) — off-CPU calls take themselves out of their parent; calls
        # with pending time take it out of themselves and their ancestors
        seeds = [(int(i), int(dur[i]), True) for i in np.flatnonzero(offs & dur_ok)]
        if self.pending:
            pos = np.searchsorted(sline, np.fromiter(self.pending, np.int64))
            for ln, p in zip(list(self.pending), pos.tolist()):
                if p < len(sline) and sline[p] == ln:
                    seeds.append((p, self.pending.pop(ln), False))
        for p, ns, skip_self in seeds:
            if not skip_self:
                minus[p] += ns
            while True:
                q = parent[p]
                if q < 0:
                    break
                j = int(np.searchsorted(sline, q))
                if j >= len(sline) or sline[j] != q:
                    self.pending[int(q)] = self.pending.get(int(q), 0) + ns
                    break
                minus[j] += ns
                p = j
        if minus.any():
            new = np.empty_like(minus)
            new[order] = np.where(dur_ok, dur - minus, 0)
            ok = np.empty_like(dur_ok)
            ok[order] = dur_ok
            i = t.schema.get_field_index("dur_ns")
            t = t.set_column(i, "dur_ns", pa.array(new, pa.int64(), mask=~ok))
        return t.filter(pc.invert(off)) if has_off else t
