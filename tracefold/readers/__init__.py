"""One reader per input format. Content sniffing happens here, in one place."""
from __future__ import annotations

from ..registry import READERS as _REGISTRY, load
from ..source import InputError, check_text, read_head

READERS = {name: load(spec) for name, spec in _REGISTRY.items()}
MIN_SCORE = 0.2        # below this fit no reader claims the file (not a recognized trace)
HEAD_BYTES = 65536     # the start of a file that format detection reads
HEAD_LINES = 400       # lines of it each reader scores


def formats():
    return sorted(_REGISTRY)


def guess_format(path, head: bytes | None = None) -> str:
    """Pick the reader whose ``is_applicable`` scores the file's first lines highest."""
    if head is None:
        head = read_head(path)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if not head.strip():
        raise InputError(path, "empty file (no trace lines)")
    check_text(path, head)
    text = head.decode("utf-8", errors="replace").replace("\r\n", "\n")
    lines = text.split("\n")
    if len(head) >= HEAD_BYTES:
        lines = lines[:-1]          # last line may be cut
    scores = {name: r.is_applicable(lines[:HEAD_LINES]) for name, r in READERS.items()}
    best = max(scores, key=scores.get)
    if scores[best] < MIN_SCORE:
        raise InputError(path, "not a recognized trace (expected one of: "
                               + ", ".join(formats()) + "); use --from to force a format")
    return best


def get_reader(fmt: str):
    try:
        return READERS[fmt]
    except KeyError:
        raise InputError("--from", f"unknown format {fmt!r} (known: {', '.join(formats())})") \
            from None
