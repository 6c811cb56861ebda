#!/usr/bin/env python3
"""Write <trace>.expected.json (the per-syscall summary of `tracefold fs --json`) for every
trace in this folder. Run it only when the rules change on purpose, review the diff, and say
why in the commit."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
import tracefold  # noqa: E402
from tracefold.analysis.fs import summarize  # noqa: E402

HERE = Path(__file__).resolve().parent


def golden(path):
    res = tracefold.fs(path)
    return {"kind": res.kind, "figure": res.figure, "syscalls": summarize(res),
            "outside_syscalls": res.outside}


if __name__ == "__main__":
    for p in sorted(HERE.iterdir()):
        if p.name.endswith((".txt", ".txt.gz")):
            out = HERE / (p.name.split(".txt")[0] + ".expected.json")
            out.write_text(json.dumps(golden(p), indent=1, sort_keys=True) + "\n")
            print(out.name)
