"""Allocator settings for streaming conversions.

tracefold converts a trace chunk by chunk: every chunk allocates and frees the same few
hundred MB of Arrow and numpy buffers. With the defaults, Arrow's mimalloc / jemalloc pools
and glibc's malloc (which serves blocks over 128 KB with fresh mmap()s) hand those pages back
to the kernel after each chunk and fault them in again on the next: up to 20 % of a
conversion went to page faults (bench/README.md). So, unless the user chose an allocator
(``ARROW_DEFAULT_MEMORY_POOL`` or any ``MALLOC_*`` variable), Arrow uses the system allocator
and glibc keeps up to 256 MB of freed memory and serves blocks up to 32 MB from its heap.
Peak RSS does not grow: the same memory is reused. ``TRACEFOLD_ALLOCATOR=default`` keeps
the defaults.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune() -> bool:
    env = os.environ
    if env.get("TRACEFOLD_ALLOCATOR") == "default" or "ARROW_DEFAULT_MEMORY_POOL" in env \
            or any(k.startswith("MALLOC_") for k in env):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):      # not glibc: leave everything as it is
        return False
    if not (mallopt(_M_TRIM_THRESHOLD, 256 << 20) and mallopt(_M_MMAP_THRESHOLD, 32 << 20)):
        return False
    import pyarrow as pa
    pa.set_memory_pool(pa.system_memory_pool())
    return True
