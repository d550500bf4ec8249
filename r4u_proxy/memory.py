"""Give big buffers back to the operating system once they are freed (glibc only; elsewhere a no-op).

glibc serves large allocations with mmap and unmaps them on free, but after the first such free it
raises its threshold to that size, and later buffers up to it come from the heap and stay in the
process when freed. A proxy that once carried a 10 MB body then keeps 10 MB more resident for good
(measured: a second 10 MB bytearray, built and freed, left RSS 10 MB higher). A fixed threshold
keeps the behaviour of the first time: bodies of 128 KB and more go back when freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # mallopt() parameter, glibc's malloc.h
THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value


def return_big_buffers() -> bool:
    """Fix glibc's mmap threshold for this process; False where there is no glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False
