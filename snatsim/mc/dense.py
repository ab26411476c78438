"""The port search of :mod:`snatsim.mc.alloc` for a few allocations on nearly full windows.

:func:`snatsim.mc.alloc.search_rounds` and :func:`~snatsim.mc.alloc.search_rover` loop over probe
steps on the still-searching allocations: the right shape for millions of allocations on a
mostly free window, and hundreds of numpy calls each time for the exhaustion simulation
(:mod:`snatsim.mc.exhaustion`), which searches a few hundred nearly full windows at a time. Here
every probe of a round is made at once, an (allocations × probes) matrix: a few numpy calls per
round. Same rules (spec §4.4, §5.3: u16 offsets, ``off % size``, rounds of 128/64/32/16/8, the
eviction zone of the last 32 probes, A1's unchecked last probe), same draws, same results:
``tests/test_mc_dense.py`` holds them equal to :mod:`snatsim.mc.alloc` on random bitmaps.
Memory is allocations × probes (``size`` probes for A1): :data:`DENSE_MAX_PORTS` bounds the
windows it is used for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from snatsim.kernel.nat import EVICT_THRESHOLD, NF_NAT_MAX_ATTEMPTS

DENSE_MAX_PORTS = 4096  # larger windows: the A1 matrix would be allocations × size


@dataclass(frozen=True)
class DenseResult:
    """Per allocation: chosen ``slot``, ``gave_up`` (a busy port kept), ``found`` (busy probes
    the used-check counted, as :class:`snatsim.mc.alloc.SearchResult`), ``offset`` (the
    returned port's 16-bit offset: A1's new rover), ``refused`` (an eviction-zone probe met a
    ``refusable`` port: the kernel's refused eviction, spec §16.1; None when not asked)."""

    slot: NDArray[np.int64]
    gave_up: NDArray[np.bool_]
    found: NDArray[np.int64]
    offset: NDArray[np.int64]
    refused: NDArray[np.bool_] | None = None


def dense_rounds(busy: NDArray[np.bool_], offsets: NDArray[np.integer],
                 evictable: NDArray[np.bool_] | None = None,
                 refusable: NDArray[np.bool_] | None = None) -> DenseResult:
    """A2-A4 search (spec §4.4): row ``i`` searches ``busy[i]`` from ``offsets[i, r]`` in round
    ``r``; ``evictable[i]`` marks ports a SYN may evict in the last 32 probes (A3+, spec §5.3),
    ``refusable[i]`` closing ports whose eviction the sequence test refuses."""
    n, size = busy.shape
    rows = np.arange(n)
    slot = np.zeros(n, dtype=np.int64)
    offset = np.zeros(n, dtype=np.int64)
    found = np.zeros(n, dtype=np.int64)
    open_ = np.ones(n, dtype=bool)  # still searching
    refused = None if refusable is None else np.zeros(n, dtype=bool)
    attempts, r = min(size, NF_NAT_MAX_ATTEMPTS), 0
    while True:
        idx = rows[open_]
        off = (offsets[idx, r].astype(np.int64)[:, None] + np.arange(attempts)) & 0xFFFF
        probe = off % size
        taken = busy[idx[:, None], probe]
        counted = np.ones(attempts, dtype=bool)
        if evictable is not None:
            zone = attempts - np.arange(attempts) <= EVICT_THRESHOLD
            taken &= ~(evictable[idx[:, None], probe] & zone)
            counted = ~zone
        free = ~taken
        hit = free.any(axis=1)
        first = np.where(hit, np.argmax(free, axis=1), attempts - 1)
        pick = np.arange(attempts) < first[:, None]  # the busy probes before the chosen one
        found[idx] += (pick & counted).sum(axis=1)
        if refused is not None and refusable is not None:
            met = refusable[idx[:, None], probe] & ~counted & (np.arange(attempts) <= first[:, None])
            refused[idx] |= met.any(axis=1)
        slot[idx] = probe[np.arange(idx.size), first]
        offset[idx] = off[np.arange(idx.size), first]
        found[idx[~hit]] += int(counted[-1])  # a round's last probe, busy, was checked too
        last = not (attempts < size and attempts >= 16)
        open_[idx[hit]] = False
        if last or not open_.any():
            break
        attempts //= 2
        r += 1
    return DenseResult(slot, open_, found, offset, refused)


def dense_rover(busy: NDArray[np.bool_], start: NDArray[np.integer]) -> DenseResult:
    """A1 search (spec §4.4): +1 steps from ``start`` over the whole window; the ``size``-th
    probe is returned unchecked (``gave_up`` when it is busy, not counted in ``found``)."""
    n, size = busy.shape
    off = (start.astype(np.int64)[:, None] + np.arange(size)) & 0xFFFF
    probe = off % size
    taken = busy[np.arange(n)[:, None], probe]
    free = ~taken[:, :-1]
    hit = free.any(axis=1)
    first = np.where(hit, np.argmax(free, axis=1) if size > 1 else 0, size - 1)
    rows = np.arange(n)
    slot = probe[rows, first]
    return DenseResult(slot, ~hit & taken[rows, size - 1], first.astype(np.int64),
                       off[rows, first])
