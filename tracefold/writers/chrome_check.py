"""Validator for Chrome trace JSON (``tracefold check``): every event has the keys its phase
needs, no slice has a negative duration, and on every track (pid, tid) the slices (X events
and matched B/E pairs) are strictly nested: two slices either do not overlap or one contains
the other. Times are compared in integer ns (µs with up to 3 decimals), so the check is exact
for files tracefold writes."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from decimal import Decimal, InvalidOperation

REQUIRED = {
    "X": ("name", "ts", "dur", "pid", "tid"),
    "B": ("name", "ts", "pid", "tid"),
    "E": ("ts", "pid", "tid"),
    "i": ("name", "ts", "pid"),
    "I": ("name", "ts", "pid"),
    "n": ("name", "ts", "pid"),
    "C": ("name", "ts", "pid", "args"),
    "M": ("name", "pid", "args"),
    "b": ("name", "ts", "pid", "id"), "e": ("ts", "pid", "id"),
    "s": ("ts", "pid", "id"), "t": ("ts", "pid", "id"), "f": ("ts", "pid", "id"),
    "P": ("ts", "pid"), "O": ("ts", "pid", "id"), "N": ("ts", "pid", "id"),
    "D": ("ts", "pid", "id"), "R": ("name", "ts", "pid"),
}
MAX_REPORTED = 20


def _ns(v):
    """A JSON number of µs as integer ns (exact for up to 3 decimals), or None."""
    if isinstance(v, bool) or not isinstance(v, (int, float, str, Decimal)):
        return None
    try:
        d = Decimal(str(v)) * 1000
    except InvalidOperation:
        return None
    if not d.is_finite():
        return None
    return int(d.to_integral_value())


def load_events(path):
    """Events of a Chrome JSON file (object with traceEvents, or a bare array)."""
    # numbers as Decimal, never doubles: absolute times in µs with 3 decimals have 17
    # significant digits after 10^7 s of uptime, more than a double holds (a 1 ns "overlap")
    with open(path, encoding="utf-8") as f:
        data = json.load(f, parse_float=Decimal)
    if isinstance(data, dict):
        if "parts" in data and "traceEvents" not in data:
            return None, data["parts"]
        ev = data.get("traceEvents")
        if not isinstance(ev, list):
            raise ValueError("no traceEvents array")
        return ev, None
    if isinstance(data, list):
        return data, None
    raise ValueError("not a JSON object or array")


class _Checker:
    def __init__(self):
        self.problems = []
        self.counts = Counter()
        self.slices = defaultdict(list)          # (pid, tid) -> [(start, end, index)]
        self.open_b = defaultdict(list)

    def bad(self, i, msg):
        self.counts["problems"] += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(f"event {i}: {msg}")

    def missing(self, e, ph):
        missing = [k for k in REQUIRED[ph] if k not in e]
        if ph in ("i", "I", "n") and e.get("s", "t") == "t" and "tid" not in e:
            missing.append("tid")
        if ph == "M" and not isinstance(e.get("args"), dict):
            missing.append("args object")
        return missing

    def event(self, i, e):
        if not isinstance(e, dict):
            return self.bad(i, "not an object")
        ph = e.get("ph")
        if ph not in REQUIRED:
            return self.bad(i, f"unknown or missing phase {ph!r}")
        self.counts[f"ph {ph}"] += 1
        missing = self.missing(e, ph)
        if missing:
            return self.bad(i, f"{ph} event without {', '.join(missing)}")
        ts = _ns(e["ts"]) if "ts" in e else 0
        if ts is None:
            return self.bad(i, f"ts is not a finite number: {e['ts']!r}")
        track = (e.get("pid"), e.get("tid"))
        if ph == "X":
            dur = _ns(e["dur"])
            if dur is None:
                self.bad(i, f"dur is not a finite number: {e['dur']!r}")
            elif dur < 0:
                self.bad(i, f"negative duration {e['dur']}")
            else:
                self.slices[track].append((ts, ts + dur, i))
        elif ph == "B":
            self.open_b[track].append((ts, i))
        elif ph == "E":
            self.end(i, track, ts)

    def end(self, i, track, ts):
        if not self.open_b[track]:
            return self.bad(i, "E without a matching B on its track")
        start, j = self.open_b[track].pop()
        if ts < start:
            self.bad(i, f"E before its B (event {j})")
        else:
            self.slices[track].append((start, ts, j))

    def nesting(self, track, sl):
        """Strict nesting of one track's slices."""
        sl.sort(key=lambda s: (s[0], -s[1], s[2]))
        stack = []
        for start, end, i in sl:
            while stack and stack[-1][1] <= start:
                stack.pop()
            if stack and end > stack[-1][1]:
                p = stack[-1]
                self.bad(i, f"slice [{start}, {end}) ns on track pid={track[0]} "
                            f"tid={track[1]} overlaps slice of event {p[2]} [{p[0]}, {p[1]}) "
                            "without nesting")
                continue
            stack.append((start, end, i))


def check_events(events) -> dict:
    c = _Checker()
    for i, e in enumerate(events):
        c.event(i, e)
    for st in c.open_b.values():
        for _, j in st:
            c.bad(j, "B never ended (no matching E)")
    for track, sl in c.slices.items():
        c.nesting(track, sl)
    counts = c.counts
    counts["events"] = len(events)
    counts["tracks"] = len(c.slices)
    counts["slices"] = sum(len(v) for v in c.slices.values())
    return {"ok": counts["problems"] == 0, "problems": c.problems, "counts": dict(counts)}


def check_file(path) -> dict:
    import os
    try:
        events, parts = load_events(path)
    except (OSError, ValueError) as e:
        return {"path": str(path), "ok": False, "problems": [f"not readable trace JSON: {e}"],
                "counts": {}}
    if parts is not None:
        # the index written by --split: check every part
        base = os.path.dirname(str(path))
        res = [check_file(os.path.join(base, p)) for p in parts]
        return {"path": str(path), "ok": all(r["ok"] for r in res),
                "problems": [f"{r['path']}: {p}" for r in res for p in r["problems"]],
                "counts": {"parts": len(parts)}}
    out = check_events(events)
    out["path"] = str(path)
    return out
