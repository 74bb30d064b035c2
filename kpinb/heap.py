"""Freed memory kept for reuse while an analysis runs, handed back to the OS after.

glibc's allocator keeps the memory of freed arrays below its mmap threshold (32 MB at
most) for reuse instead of returning it: an analysis in parts frees one part's working
frames before the next part allocates its own, and without a trim the process's
resident size would grow by every part's frees (``benchmarks/analytics.py`` reports the
peak). ``malloc_trim(0)`` returns those pages (:func:`give_back`).

Arrays larger than the threshold (a column of a few million points) are mapped fresh
and unmapped on every pass, and each of their pages faults in: at scale a third of an
analysis' CPU time. :func:`reusing` raises the threshold while a block runs, so those
arrays come from (and go back to) the heap, then gives the heap back and sets the
thresholds glibc's dynamic ones end at in a numeric process. Elsewhere (macOS, Windows,
musl) there is nothing to call and both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# mallopt's parameters (malloc.h) and the values a block runs with and ends with
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
REUSE_MMAP = 1 << 30  # arrays up to 1 GiB from the heap
REUSE_TRIM = (1 << 31) - 1  # no trim while the block runs (mallopt takes a C int)
# glibc's own: its dynamic threshold's ceiling (where a numeric process's threshold
# ends up) and the trim threshold it pairs with it (twice that)
USUAL_MMAP = 32 << 20
USUAL_TRIM = 64 << 20


@functools.cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def _call(name: str) -> Callable[..., int] | None:
    found: Callable[..., int] | None = getattr(_libc(), name, None)
    return found


def give_back() -> None:
    """Return the freed heap memory of this process to the operating system (glibc)."""
    trim = _call("malloc_trim")
    if trim is not None:
        trim(0)


@contextmanager
def reusing() -> Iterator[None]:
    """Run a block with large freed arrays kept in the heap for the next pass' arrays
    (no fresh pages to fault in), then give the heap back and set the usual
    thresholds (:data:`USUAL_MMAP`, :data:`USUAL_TRIM`)."""
    mallopt = _call("mallopt")
    if mallopt is None:
        yield
        return
    mallopt(M_MMAP_THRESHOLD, REUSE_MMAP)
    mallopt(M_TRIM_THRESHOLD, REUSE_TRIM)
    try:
        yield
    finally:
        mallopt(M_MMAP_THRESHOLD, USUAL_MMAP)
        mallopt(M_TRIM_THRESHOLD, USUAL_TRIM)
        give_back()
