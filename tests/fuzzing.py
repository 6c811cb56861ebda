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


def corpus_seeds(step: int = 4):
    """Small real traces of the shared corpus (../shared/samples, MANIFEST kinds clean and
    edited; every ``step``-th one), or [] when it is absent."""
    from conftest import manifest
    out = [p for _, p in manifest(("clean", "edited"))
           if p.suffix == ".txt" and p.exists() and 2_000 < p.stat().st_size < 40_000]
    return sorted(out)[::step]


def mutate(data: bytes, rng: random.Random, others: list) -> bytes:
    lines = data.split(b"\n")
    kind = rng.randrange(12)
    if kind in _WHOLE:
        return _WHOLE[kind](data, rng)
    _LINES[kind](lines, rng, others)
    return b"\n".join(lines)


def _flip(data, rng):                               # byte flips
    b = bytearray(data)
    for _ in range(rng.randint(1, 20)):
        if b:
            b[rng.randrange(len(b))] = rng.randrange(256)
    return bytes(b)


def _truncate(data, rng):
    return data[:rng.randrange(len(data) + 1)]


def _bad_bytes(data, rng):                          # NUL / invalid UTF-8
    i = rng.randrange(len(data) + 1)
    return data[:i] + rng.choice([b"\x00", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80"]) + data[i:]


def _numbers(data, rng):                            # huge and negative numbers
    def num(m):
        return rng.choice([b"99999999999999999999", b"-1", b"4294967296", b"0" * 40,
                           b"18446744073709551616", m.group(0)])
    return NUM.sub(num, data, count=rng.randint(1, 50))


def _crlf(data, rng):                               # CRLF and blank lines
    return data.replace(b"\n", b"\r\n").replace(b"\r\n\r\n", b"\r\n\n\n")


def _delete(lines, rng, others):
    if len(lines) > 2:
        for _ in range(rng.randint(1, 10)):
            del lines[rng.randrange(len(lines))]


def _duplicate(lines, rng, others):
    for _ in range(rng.randint(1, 10)):
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])


def _swap(lines, rng, others):
    if len(lines) > 2:
        for _ in range(rng.randint(1, 10)):
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]


def _mix(lines, rng, others):                       # mixed formats
    other = rng.choice(others).split(b"\n")
    i = rng.randrange(len(lines) + 1)
    lines[i:i] = other[:rng.randint(1, 40)]


def _deep(lines, rng, others):                      # deep nesting (function_graph / uftrace)
    i = rng.randrange(len(lines))
    lines[i:i] = [b" 0)               | " + b"  " * k + b"f() {" for k in range(400)]


def _long(lines, rng, others):                      # a long line
    i = rng.randrange(len(lines))
    lines[i] = lines[i] + b"x" * rng.choice([10_000, 300_000])


def _cut(lines, rng, others):                       # a line cut in its middle
    i = rng.randrange(len(lines))
    lines[i] = lines[i][:rng.randrange(len(lines[i]) + 1)]


_WHOLE = {0: _flip, 4: _truncate, 5: _bad_bytes, 6: _numbers, 10: _crlf}
_LINES = {1: _delete, 2: _duplicate, 3: _swap, 7: _mix, 8: _deep, 9: _long, 11: _cut}


def cases(n: int, seed: int, paths: list):
    """(k, seed trace name, mutated bytes, gzipped?) of ``n`` fuzz cases, deterministic for a
    seed: a mutated real trace, one in ten of them as corrupt gzip."""
    rng = random.Random(seed)
    datas = [p.read_bytes() for p in paths]
    for k in range(n):
        i = rng.randrange(len(datas))
        data = mutate(datas[i], rng, datas)
        gz = rng.random() < 0.1
        yield k, paths[i].name, (corrupt_gzip(data, rng) if gz else data), gz


def corrupt_gzip(data: bytes, rng: random.Random) -> bytes:
    z = bytearray(gzip.compress(data))
    for _ in range(rng.randint(1, 5)):
        z[rng.randrange(10, len(z))] ^= 1 << rng.randrange(8)
    return bytes(z)
