"""Fuzzing harness (deterministic seed, bounded time): real traces from tests/golden and
samples/, mutated as a hostile user or a broken pipe would (byte flips, deleted / duplicated /
swapped lines, truncation, NUL and invalid UTF-8, huge and negative numbers, mixed formats,
deep nesting, long lines, corrupt gzip), through the API and the CLI. Allowed outcomes: a
result, or tracefold's own input / output error; never another exception, never a traceback,
never a file left at -o after a failure."""
import gzip
import random
import re
from pathlib import Path

import pytest

import tracefold
from conftest import GOLDEN, ROOT, run_cli
from tracefold.source import InputError
from tracefold.writers.atomic import OutputError

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


def _cases(n, seed):
    rng = random.Random(seed)
    datas = [p.read_bytes() for p in SEEDS]
    for k in range(n):
        i = rng.randrange(len(datas))
        data = mutate(datas[i], rng, datas)
        gz = rng.random() < 0.1
        yield k, SEEDS[i].name, (corrupt_gzip(data, rng) if gz else data), gz


def test_fuzz_api(tmp_path):
    escaped = []
    for k, name, data, gz in _cases(200, 20261130):
        src = tmp_path / (f"in{k}.txt.gz" if gz else f"in{k}.txt")
        src.write_bytes(data)
        for ext in (".parquet", ".folded", ".json"):
            out = tmp_path / f"out{k}{ext}"
            try:
                tracefold.convert(src, out)
            except (InputError, OutputError):
                assert not out.exists(), (k, name, ext)
            except Exception as e:          # noqa: BLE001 - the point of the test
                escaped.append((k, name, ext, f"{type(e).__name__}: {str(e)[:120]}"))
            else:
                assert out.exists()
            out.unlink(missing_ok=True)
        src.unlink()
    assert not escaped, escaped[:10]


def test_fuzz_cli(tmp_path):
    bad = []
    for k, name, data, gz in _cases(20, 4242):
        src = tmp_path / (f"in{k}.txt.gz" if gz else f"in{k}.txt")
        src.write_bytes(data)
        for args, out in ((["convert", src, "-o", tmp_path / "o.json"], tmp_path / "o.json"),
                          (["info", "--json", src], None),
                          (["report", src], None)):
            p = run_cli(*args)
            err = p.stderr.decode(errors="replace")
            if "Traceback" in err or "internal error" in err or p.returncode not in (0, 1):
                bad.append((k, name, args[0], p.returncode, err[-200:]))
            if out is not None:
                if p.returncode != 0:
                    assert not out.exists(), (k, name)
                out.unlink(missing_ok=True)
            assert not [x for x in tmp_path.iterdir() if x.name.startswith(".tracefold-")]
    assert not bad, bad[:5]
