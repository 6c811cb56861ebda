"""Allocator settings for streaming conversions.

tracefold converts a trace chunk by chunk: every chunk allocates and frees the same few
hundred MB of Arrow buffers. Arrow's default mimalloc pool hands those pages back to the
kernel after each chunk and faults them in again on the next (up to a fifth of a conversion
went to page faults); jemalloc keeps them for reuse and its resident memory stays flat over
gigabytes of input (bench/README.md). So, unless the user chose a pool
(``ARROW_DEFAULT_MEMORY_POOL``) or ``TRACEFOLD_ALLOCATOR=default``, Arrow uses jemalloc when
this pyarrow has it. (glibc's malloc tuned to keep freed memory was faster still by 2-3 %, but
its heap fragments: resident memory grew ~40 MB per GB of input.)
"""
from __future__ import annotations

import os


def tune() -> bool:
    env = os.environ
    if env.get("TRACEFOLD_ALLOCATOR") == "default" or "ARROW_DEFAULT_MEMORY_POOL" in env:
        return False
    import pyarrow as pa
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except (NotImplementedError, AttributeError):   # a pyarrow built without jemalloc
        return False
    return True
