"""The allocator settings an analysis runs with (glibc: read back with mallinfo2)."""

from __future__ import annotations

import ctypes

import numpy as np

from kpinb import heap

BIG = 96 << 20  # bytes: above glibc's usual mmap threshold (32 MiB), below the reuse one


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _mapped() -> int:
    """Bytes glibc holds in mmapped chunks (``hblkhd``), not in its heap."""
    info = heap._libc().mallinfo2
    info.restype = _MallInfo2
    return int(info().hblkhd)


def _mapped_for_a_big_array() -> int:
    before = _mapped()
    block = np.ones(BIG, dtype=np.uint8)
    grown = _mapped() - before
    del block
    return grown


def test_a_big_array_comes_from_the_heap_only_while_reusing() -> None:
    assert _mapped_for_a_big_array() >= BIG  # glibc's usual: mapped apart
    with heap.reusing():
        assert _mapped_for_a_big_array() == 0  # from the heap, reused by the next
    assert _mapped_for_a_big_array() >= BIG  # the usual threshold is back
