"""One writer per output format (tracefold/registry.py lists them); the format comes from --to
or the output's extension. Writer modules are imported when used."""
from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..registry import WRITERS as _REGISTRY, load


def formats():
    return sorted(_REGISTRY)


def format_for(output: str, to: str | None = None) -> str:
    """The writer name for ``--to`` or, without it, for the output's extension."""
    if to:
        if to not in _REGISTRY:
            raise UsageError(f"unknown output format {to!r} (known: {', '.join(formats())})")
        return to
    if output == "-":
        return "parquet"
    suffixes = [s.lower() for s in Path(output).suffixes]
    for ext in reversed(suffixes):
        for name, (_, exts) in _REGISTRY.items():
            if ext in exts:
                return name
    raise UsageError(f"cannot tell the output format from {output!r}; use --to "
                     f"({', '.join(formats())})")


def get_writer(name: str):
    return load(_REGISTRY[name][0])


def __getattr__(name):
    if name == "WRITERS":
        return {n: get_writer(n) for n in _REGISTRY}
    raise AttributeError(name)
