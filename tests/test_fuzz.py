"""Fuzzing harness (deterministic seed, bounded time): real traces from tests/golden and
samples/, mutated as a hostile user or a broken pipe would (byte flips, deleted / duplicated /
swapped lines, truncation, NUL and invalid UTF-8, huge and negative numbers, mixed formats,
deep nesting, long lines, corrupt gzip), through the API and the CLI. Allowed outcomes: a
result, or tracefold's own input / output error; never another exception, never a traceback,
never a file left at -o after a failure."""

import tracefold
from conftest import run_cli
from fuzzing import SEEDS, cases, corpus_seeds
from tracefold.source import InputError
from tracefold.writers.atomic import OutputError


# the repository's real traces, and small ones of the shared corpus where it is present
PATHS = SEEDS + corpus_seeds()


def _cases(n, seed):
    return cases(n, seed, PATHS)


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
