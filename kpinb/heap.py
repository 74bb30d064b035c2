"""Freed memory handed back to the operating system.

glibc's allocator keeps the memory of freed arrays below its mmap threshold (32 MB at
most) for reuse instead of returning it: an analysis in parts frees one part's working
frames before the next part allocates its own, and without a trim the process's
resident size would grow by every part's frees (``benchmarks/analytics.py`` reports the
peak). ``malloc_trim(0)`` returns those pages; elsewhere (macOS, Windows, musl) there is
nothing to call and :func:`give_back` does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        trim: Callable[[int], int] | None = getattr(libc, "malloc_trim", None)
    except OSError:
        return None
    return trim


def give_back() -> None:
    """Return the freed heap memory of this process to the operating system (glibc)."""
    trim = _trim()
    if trim is not None:
        trim(0)
