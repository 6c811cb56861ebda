"""One writer per output format; the format comes from --to or the output's extension."""
from __future__ import annotations

from pathlib import Path

from .chrome import ChromeWriter
from .folded import FoldedWriter
from .graph import DotWriter, GraphMLWriter
from .parquet import ParquetWriter
from .svg import SvgWriter

WRITERS = {w.name: w for w in (ParquetWriter, FoldedWriter, ChromeWriter, GraphMLWriter,
                               DotWriter, SvgWriter)}


def formats():
    return sorted(WRITERS)


def format_for(output: str, to: str | None = None) -> str:
    """The writer name for ``--to`` or, without it, for the output's extension."""
    if to:
        if to not in WRITERS:
            raise ValueError(f"unknown output format {to!r} (known: {', '.join(formats())})")
        return to
    if output == "-":
        return "parquet"
    suffixes = [s.lower() for s in Path(output).suffixes]
    for ext in reversed(suffixes):
        for w in WRITERS.values():
            if ext in w.extensions:
                return w.name
    raise ValueError(f"cannot tell the output format from {output!r}; use --to "
                     f"({', '.join(formats())})")


def get_writer(name: str):
    return WRITERS[name]
