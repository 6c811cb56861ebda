"""Row filters shared by every output (--pid, --tid, --comm, --function, --time, --max-depth,
--min-duration), applied chunk by chunk to the normalized table.

Calls dropped by a filter simply disappear: their time stays in the parent's duration, so
self times and folded weights of the kept calls include it (as a cut-off flame graph shows).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import CALL, kind_is

_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "": None}


def parse_duration(text: str, default_unit: str = "ns") -> int:
    """'1.5ms' → 1500000 (ns); a bare number is in ``default_unit``."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|µs|ms|s)?\s*", text)
    if not m:
        raise ValueError(f"not a duration: {text!r} (e.g. 250us, 1.5ms, 2s)")
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
        raise ValueError(f"--time wants START..END (e.g. 52.3..52.9 or 100ms..), not {text!r}")
    a, b = text.split("..", 1)
    return (parse_duration(a, "s") if a.strip() else None,
            parse_duration(b, "s") if b.strip() else None)


def _ints(text):
    try:
        return [int(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"expected a number or a comma-separated list of numbers: {text!r}")


@dataclass
class Filters:
    pid: list = field(default_factory=list)
    tid: list = field(default_factory=list)
    comm: list = field(default_factory=list)
    function: str | None = None
    time: tuple | None = None
    max_depth: int | None = None
    min_duration: int | None = None

    @classmethod
    def from_options(cls, pid=None, tid=None, comm=None, function=None, time=None,
                     max_depth=None, min_duration=None):
        return cls(pid=_ints(pid) if pid else [], tid=_ints(tid) if tid else [],
                   comm=[c for c in (comm or "").split(",") if c] if isinstance(comm, str)
                   else list(comm or []),
                   function=function,
                   time=parse_time_range(time) if isinstance(time, str) else time,
                   max_depth=max_depth,
                   min_duration=parse_duration(min_duration) if isinstance(min_duration, str)
                   else min_duration)

    def active(self) -> bool:
        return bool(self.pid or self.tid or self.comm or self.function or self.time
                    or self.max_depth is not None or self.min_duration is not None)


class RowFilter:
    """Apply Filters to successive chunks (rows in input-line order)."""

    def __init__(self, f: Filters):
        self.f = f
        self._kept_calls: set = set()      # lines of kept calls under --function

    def __call__(self, t: pa.Table) -> pa.Table:
        f = self.f
        if not f.active() or not t.num_rows:
            return t
        keep = pa.array(np.ones(t.num_rows, bool))
        if f.pid:
            keep = pc.and_(keep, pc.fill_null(pc.is_in(t.column("pid"), pa.array(f.pid, pa.int64())), False))
        if f.tid:
            keep = pc.and_(keep, pc.fill_null(pc.is_in(t.column("tid"), pa.array(f.tid, pa.int64())), False))
        if f.comm:
            keep = pc.and_(keep, pc.fill_null(pc.is_in(t.column("comm"), pa.array(f.comm)), False))
        if f.time:
            lo, hi = f.time
            ts = t.column("ts_ns")
            if lo is not None:
                keep = pc.and_(keep, pc.fill_null(pc.greater_equal(ts, lo), False))
            if hi is not None:
                keep = pc.and_(keep, pc.fill_null(pc.less_equal(ts, hi), False))
        is_call = kind_is(t, CALL)
        if f.min_duration is not None:
            short = pc.and_(is_call, pc.fill_null(pc.less(t.column("dur_ns"), f.min_duration), False))
            keep = pc.and_(keep, pc.invert(short))
        if f.max_depth is not None:
            deep = pc.and_(is_call, pc.fill_null(pc.greater_equal(t.column("depth"), f.max_depth), False))
            keep = pc.and_(keep, pc.invert(deep))
        t = t.filter(keep)
        if f.function:
            t = self._function(t)
        if f.max_depth is not None and t.num_rows:
            stack = t.column("stack")
            if pc.any(pc.greater(pc.fill_null(pc.list_value_length(stack), 0), f.max_depth)).as_py():
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
