"""Mutations of real traces for fuzzing (tests/test_fuzz.py, bench/fuzz_table.py): no
tracefold import here, so the bench can test another checkout's tracefold."""
import gzip
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"

SEEDS = [p for p in sorted(GOLDEN.glob("*/*.txt")) if p.stat().st_size < 40_000
         and not p.name.endswith(".report.txt")] + \
    [ROOT / "samples" / n for n in ("ftrace-graph-hello.txt", "perf-script-cpuloop.txt",
                                     "uftrace-threads-replay.txt", "trace-cmd-graph-hello.txt",
                                     "ftrace-function-stack.txt")]
NUM = re.compile(rb"\d+")


def mutate(data: bytes, rng: random.Random, others: list) -> bytes:
    lines = data.split(b"\n")
    kind = rng.randrange(12)
    if kind == 0:                                   # byte flips
        b = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            if b:
                b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    if kind == 1 and len(lines) > 2:                # delete lines
        for _ in range(rng.randint(1, 10)):
            del lines[rng.randrange(len(lines))]
    elif kind == 2:                                 # duplicate lines
        for _ in range(rng.randint(1, 10)):
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
    elif kind == 3 and len(lines) > 2:              # swap lines
        for _ in range(rng.randint(1, 10)):
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
    elif kind == 4:                                 # truncation
        return data[:rng.randrange(len(data) + 1)]
    elif kind == 5:                                 # NUL / invalid UTF-8
        i = rng.randrange(len(data) + 1)
        return data[:i] + rng.choice([b"\x00", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80"]) + data[i:]
    elif kind == 6:                                 # huge and negative numbers
        def num(m):
            return rng.choice([b"99999999999999999999", b"-1", b"4294967296", b"0" * 40,
                               b"18446744073709551616", m.group(0)])
        return NUM.sub(num, data, count=rng.randint(1, 50))
    elif kind == 7:                                 # mixed formats
        other = rng.choice(others).split(b"\n")
        i = rng.randrange(len(lines) + 1)
        lines[i:i] = other[:rng.randint(1, 40)]
    elif kind == 8:                                 # deep nesting (function_graph / uftrace)
        i = rng.randrange(len(lines))
        lines[i:i] = [b" 0)               | " + b"  " * k + b"f() {" for k in range(400)]
    elif kind == 9:                                 # a long line
        i = rng.randrange(len(lines))
        lines[i] = lines[i] + b"x" * rng.choice([10_000, 300_000])
    elif kind == 10:                                # CRLF and blank lines
        return data.replace(b"\n", b"\r\n").replace(b"\r\n\r\n", b"\r\n\n\n")
    else:                                           # a line cut in its middle
        i = rng.randrange(len(lines))
        lines[i] = lines[i][:rng.randrange(len(lines[i]) + 1)]
    return b"\n".join(lines)


def corrupt_gzip(data: bytes, rng: random.Random) -> bytes:
    z = bytearray(gzip.compress(data))
    for _ in range(rng.randint(1, 5)):
        z[rng.randrange(10, len(z))] ^= 1 << rng.randrange(8)
    return bytes(z)
