"""Rows in input-line order, with memory bounded by the open calls, not by the rows.

A call's row is known only when the call ends, and it must come before every row of the lines
after its entry (docs/schema.md: rows are in the order of their ``line``). So rows at or after
the entry line of a call still open wait. In a real trace some call is nearly always open
(an idle loop, a kworker, the first calls of a wrapped buffer), so waiting rows would grow
with the input: past ``BUDGET`` bytes they wait on disk, as Arrow IPC files in a temporary
directory, and come back in order when the calls before them have ended.

Waiting rows come in two kinds. Rows of lines after every row queued so far ("in range") are
appended to a queue of segments, which stays sorted. Rows of calls that end after rows of later
lines were queued ("late": the long-open calls themselves) are few — at most the calls open at
a chunk's boundary — and are kept in memory and merged in when their turn comes.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections import deque
from typing import Iterator

import numpy as np
import pyarrow as pa

BUDGET = 16 << 20     # bytes of waiting rows kept in memory; the rest waits on disk


class InputOrder:
    def __init__(self, budget: int = BUDGET):
        self.budget = budget
        self.queue: deque = deque()     # [first line, last line, table or IPC path, bytes]
        self.mem = 0
        self.late: pa.Table | None = None
        self.high = None                # last line queued
        self._dir = None
        self.spilled = 0                # segments that waited on disk (for tests / info)

    def push(self, t: pa.Table | None, open_min: int | None) -> Iterator[pa.Table]:
        """Queue a chunk's rows; yield every row that no open call (entry line ``open_min``,
        None when no call is open) holds back, in line order."""
        if t is not None and t.num_rows:
            line = t.column("line").to_numpy()
            if len(line) > 1 and (line[1:] < line[:-1]).any():
                order = np.argsort(line, kind="stable")
                t, line = t.take(pa.array(order)), line[order]
            k = 0 if self.high is None else int(np.searchsorted(line, self.high, side="right"))
            if k:
                self._late(t.slice(0, k))
            if k < len(line):
                self._queue(t.slice(k), int(line[k]), int(line[-1]))
                self.high = int(line[-1])
        yield from self._emit(open_min)

    def close(self):
        self.queue.clear()
        self.late = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    # ------------------------------------------------------------------ internals
    def _late(self, t: pa.Table):
        t = t if self.late is None else pa.concat_tables([self.late, t])
        line = t.column("line").to_numpy()
        if len(line) > 1 and (line[1:] < line[:-1]).any():
            t = t.take(pa.array(np.argsort(line, kind="stable")))
        self.late = t

    def _queue(self, t: pa.Table, first: int, last: int):
        size = t.nbytes
        if self.mem + size <= self.budget or not self.queue:
            self.queue.append([first, last, t, size])
            self.mem += size
            return
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="tracefold-order-")
        path = os.path.join(self._dir, f"{self.spilled:06d}.arrow")
        with pa.OSFile(path, "wb") as f, pa.ipc.new_file(f, t.schema) as w:
            w.write_table(t)
        self.spilled += 1
        self.queue.append([first, last, path, 0])

    def _load(self, seg) -> pa.Table:
        data = seg[2]
        if isinstance(data, pa.Table):
            self.mem -= seg[3]
            return data
        with pa.memory_map(data) as m:
            t = pa.ipc.open_file(m).read_all()
        os.unlink(data)
        return t

    def _take_late(self, upto: int | None) -> pa.Table | None:
        """Late rows of lines below ``upto`` (all when None), removed from the waiting set."""
        if self.late is None:
            return None
        line = self.late.column("line").to_numpy()
        k = len(line) if upto is None else int(np.searchsorted(line, upto, side="left"))
        if not k:
            return None
        out = self.late.slice(0, k)
        self.late = self.late.slice(k) if k < len(line) else None
        return out

    def _emit(self, limit: int | None) -> Iterator[pa.Table]:
        while self.queue and (limit is None or self.queue[0][0] < limit):
            seg = self.queue.popleft()
            t = self._load(seg)
            if limit is not None and seg[1] >= limit:
                line = t.column("line").to_numpy()
                k = int(np.searchsorted(line, limit, side="left"))
                rest = t.slice(k)
                self.queue.appendleft([int(line[k]), seg[1], rest, rest.nbytes])
                self.mem += rest.nbytes
                t = t.slice(0, k)
            # late rows up to this segment's last line go in with it
            upto = int(t.column("line")[-1].as_py()) + 1 if t.num_rows else None
            if upto is not None and limit is not None:
                upto = min(upto, limit)
            late = self._take_late(upto) if upto is not None else None
            if late is not None:
                t = pa.concat_tables([late, t])
                t = t.take(pa.array(np.argsort(t.column("line").to_numpy(), kind="stable")))
            if t.num_rows:
                yield t
        late = self._take_late(limit)
        if late is not None:
            yield late
