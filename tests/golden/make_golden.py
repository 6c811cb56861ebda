#!/usr/bin/env python3
"""Write <input>.expected.jsonl / .expected-info.json for every golden input.

Review the diff by hand before committing: goldens are a contract, not a snapshot."""
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

import tracefold  # noqa: E402

INFO_KEYS = ("format", "lines", "events", "event_lines", "unrecognized", "skipped",
             "lost_events", "tasks", "time_span_ns")


def rows(path):
    t = tracefold.read_arrow(path)
    out = []
    for r in t.to_pylist():
        out.append(json.dumps(r, sort_keys=False, ensure_ascii=False))
    return out


def info(path):
    d = tracefold.info(path)
    return {k: d[k] for k in INFO_KEYS}


def inputs():
    from tracefold.readers import READERS        # one folder per reader; fs/ etc. have their own
    for fmt_dir in sorted(p for p in HERE.iterdir() if p.is_dir() and p.name in READERS):
        for f in sorted(fmt_dir.glob("*.txt")):
            yield f


if __name__ == "__main__":
    for f in inputs():
        Path(str(f) + ".expected.jsonl").write_text("\n".join(rows(f)) + "\n")
        Path(str(f) + ".expected-info.json").write_text(json.dumps(info(f), indent=1) + "\n")
        print("wrote", f.relative_to(HERE))
