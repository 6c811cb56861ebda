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


def check_events(events) -> dict:
    problems = []
    counts = Counter()

    def bad(i, msg):
        counts["problems"] += 1
        if len(problems) < MAX_REPORTED:
            problems.append(f"event {i}: {msg}")

    slices = defaultdict(list)          # (pid, tid) -> [(start, end, index)]
    open_b = defaultdict(list)
    for i, e in enumerate(events):
        if not isinstance(e, dict):
            bad(i, "not an object")
            continue
        ph = e.get("ph")
        if ph not in REQUIRED:
            bad(i, f"unknown or missing phase {ph!r}")
            continue
        counts[f"ph {ph}"] += 1
        missing = [k for k in REQUIRED[ph] if k not in e]
        if ph in ("i", "I", "n") and e.get("s", "t") == "t" and "tid" not in e:
            missing.append("tid")
        if ph == "M" and not isinstance(e.get("args"), dict):
            missing.append("args object")
        if missing:
            bad(i, f"{ph} event without {', '.join(missing)}")
            continue
        ts = _ns(e["ts"]) if "ts" in e else 0
        if ts is None:
            bad(i, f"ts is not a finite number: {e['ts']!r}")
            continue
        track = (e.get("pid"), e.get("tid"))
        if ph == "X":
            dur = _ns(e["dur"])
            if dur is None:
                bad(i, f"dur is not a finite number: {e['dur']!r}")
            elif dur < 0:
                bad(i, f"negative duration {e['dur']}")
            else:
                slices[track].append((ts, ts + dur, i))
        elif ph == "B":
            open_b[track].append((ts, i))
        elif ph == "E":
            if not open_b[track]:
                bad(i, "E without a matching B on its track")
            else:
                start, j = open_b[track].pop()
                if ts < start:
                    bad(i, f"E before its B (event {j})")
                else:
                    slices[track].append((start, ts, j))
    for _track, st in open_b.items():
        for _, j in st:
            bad(j, "B never ended (no matching E)")
    # strict nesting per track
    for track, sl in slices.items():
        sl.sort(key=lambda s: (s[0], -s[1], s[2]))
        stack = []
        for start, end, i in sl:
            while stack and stack[-1][1] <= start:
                stack.pop()
            if stack and end > stack[-1][1]:
                p = stack[-1]
                bad(i, f"slice [{start}, {end}) ns on track pid={track[0]} tid={track[1]} "
                       f"overlaps slice of event {p[2]} [{p[0]}, {p[1]}) without nesting")
                continue
            stack.append((start, end, i))
    counts["events"] = len(events)
    counts["tracks"] = len(slices)
    counts["slices"] = sum(len(v) for v in slices.values())
    return {"ok": counts["problems"] == 0, "problems": problems, "counts": dict(counts)}


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
