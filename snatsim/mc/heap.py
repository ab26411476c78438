"""Keep freed block arrays in the process's heap (glibc only; a measured cost, not a model).

A Monte Carlo block allocates and frees tens of MB of numpy temporaries. With glibc's default
malloc settings those pages go back to the kernel at each block's end (trimmed from the heap top,
or unmapped above the mmap threshold) and come back zero-filled by page faults at the next one:
~100,000 minor faults and ~25 ns of a default.toml flow's ~75 ns in a fresh ``snatsim estimate``
process (`benchmarks/README.md`, "Monte Carlo estimate speed"). Whether it happens depended on
what else sat on the heap: after a SimPy run in the same process the faults were gone.

:func:`keep_freed_memory` raises the mmap threshold to glibc's maximum (32 MiB) and pads the heap
top by 64 MiB, so a block's arrays reuse the previous block's pages. It is called once, by the
first estimate (not at import); it changes that process's allocator for good: up to 64 MiB of
freed memory stays mapped. Elsewhere (musl, macOS, Windows) it does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import platform

M_TOP_PAD = -2  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's largest (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit)
TOP_PAD_BYTES = 64 << 20


def on_glibc() -> bool:
    """Is this process's C library glibc (on Linux), whose ``mallopt`` this module sets?"""
    return platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@functools.cache
def keep_freed_memory() -> bool:
    """Set glibc's heap top pad and mmap threshold once; ``True`` if glibc took both."""
    if not on_glibc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                and mallopt(M_TOP_PAD, TOP_PAD_BYTES))
