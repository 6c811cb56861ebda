"""One writer per output format (tracefold/registry.py lists them); the format comes from --to
or the output's extension. Writer modules are imported when used."""
from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..registry import OUTPUTS, WRITERS as _REGISTRY, load


def formats():
    return sorted(_REGISTRY)


def format_for(output: str, to: str | None = None, accepted=None) -> str:
    """The output format for ``--to`` or, without it, for the output's extension (one table:
    registry.OUTPUTS); ``accepted``: the formats the command writes (default: the writers
    of the event table)."""
    accepted = tuple(accepted or _REGISTRY)
    if to:
        if to not in accepted:
            raise UsageError(f"cannot write {to!r} here (formats: {', '.join(accepted)})")
        return to
    if output == "-":
        return accepted[0]
    for ext in reversed([s.lower() for s in Path(output).suffixes]):
        for name, exts in OUTPUTS.items():
            if ext in exts:
                if name not in accepted:
                    raise UsageError(f"{output}: {ext} is {name}, which this command does not "
                                     f"write (formats: {', '.join(accepted)}; --to chooses)")
                return name
    raise UsageError(f"cannot tell the output format from {output!r}; use --to "
                     f"({', '.join(accepted)})")


def get_writer(name: str):
    return load(_REGISTRY[name])


def __getattr__(name):
    if name == "WRITERS":
        return {n: get_writer(n) for n in _REGISTRY}
    raise AttributeError(name)
