"""Vectorized SNAT port search (spec §4.4, §5.1) over a batch of independent allocations.

This mirrors step 4 of :meth:`snatsim.kernel.nat.SnatAllocator.get_unique_tuple` (the search;
steps 1-3, preservation and by-source reuse, are not modelled: the caller asks for a search).
Each allocation sees a *confirmed occupancy*: ``busy[row, slot]`` is True when window port
``lo + slot`` is held by a confirmed entry towards the same destination (spec §5.1).

Draw order (the same u16 values the scalar code takes from :class:`snatsim.rng.Draws`):
``offsets[..., r]`` is the value of the allocation's ``r``-th ``draws.u16()`` call.

* A2-A4 (5.0+, spec §4.4): one u16 per search round, in round order. A window of ``size`` ports
  has at most :func:`max_rounds` rounds (1 when ``size <= 128``, 5 for the default 64,512-port
  window); columns past the rounds an allocation used are ignored (``rounds`` says how many it
  took). A window of <= 128 ports has one round, one u16 per allocation: a one-column batch
  drawn with ``rng.integers(0, 65536, size=n, dtype=uint16)`` then equals the scalar allocator
  fed one sequential ``Draws`` on an identically seeded Generator (tested).
* A1 ``--random-fully`` (spec §4.4): one u16, the single start offset (column 0).
* A1 default (rover) and ``--random`` (keyed hash) draw nothing: the start offset is given.

The probe rule is the kernel's in every era: ``slot = off % size``, ``off = (off + 1) & 0xFFFF``.
The loop runs over probe steps on the shrinking set of still-searching allocations, so the cost is
about (allocations x mean probes) vector element operations plus a per-step overhead. ``found``
equals the scalar table's ``stats.found`` increase of the search (A1's unchecked last probe and
A3+ eviction-path probes are not counted, spec §5.3, §16.3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from snatsim.kernel.nat import EVICT_THRESHOLD, NF_NAT_MAX_ATTEMPTS


@dataclass(frozen=True)
class SearchResult:
    """Per-allocation outcome of a batched search (shapes = the batch shape).

    ``slot`` is the chosen window slot (port ``lo + slot``); ``probes`` the candidates tried;
    ``busy_probes`` those found busy (``NatResult.busy_probes``); ``found`` the busy probes that
    went through the counting used-check (spec §5.1, §5.3: A3+ eviction probes do not count);
    ``rounds`` the u16 draws consumed (A2+); ``gave_up`` True when a busy port was returned;
    ``offset`` the 16-bit offset of the returned port (A1 default: the new rover value).
    """

    slot: NDArray[np.uint16]
    probes: NDArray[np.int32]
    busy_probes: NDArray[np.int32]
    found: NDArray[np.int32]
    rounds: NDArray[np.uint8]
    gave_up: NDArray[np.bool_]
    offset: NDArray[np.uint16]


def max_rounds(size: int) -> int:
    """Number of A2+ rounds a search of a ``size``-port window can take (spec §4.4)."""
    attempts, rounds = min(size, NF_NAT_MAX_ATTEMPTS), 1
    while attempts < size and attempts >= 16:
        attempts //= 2
        rounds += 1
    return rounds


def _flat_rows(busy: NDArray[np.bool_], shape: tuple[int, ...]) -> NDArray[np.int64]:
    """Flat index of the start of each allocation's occupancy row (``busy`` row per trial).

    ``busy`` is (trials, size) or (1, size) (shared); allocations are (trials, ...).
    """
    trials, size = busy.shape
    if trials == 1:
        return np.zeros(shape, dtype=np.int64)
    if shape[0] != trials:
        raise ValueError(f"busy has {trials} rows but the batch has {shape[0]} trials")
    rows = np.arange(trials, dtype=np.int64) * size
    return np.broadcast_to(rows.reshape((trials,) + (1,) * (len(shape) - 1)), shape).copy()


class _Batch:
    """Flat working arrays of one search batch.

    Per step only the still-searching allocations are touched; counters are written when an
    allocation leaves a round (its busy probes in a round are all its probes but a free last one).
    """

    def __init__(self, busy: NDArray[np.bool_], shape: tuple[int, ...],
                 evictable: NDArray[np.bool_] | None) -> None:
        self.size = size = busy.shape[1]
        self.busy = np.ascontiguousarray(busy).ravel()
        self.evict = None if evictable is None else np.ascontiguousarray(evictable).ravel()
        # shared occupancy row: no per-allocation row offset at all
        self.base = None if busy.shape[0] == 1 else _flat_rows(busy, shape).ravel()
        self.size16 = np.uint16(size)  # windows hold at most 65,535 ports
        n = int(np.prod(shape, dtype=np.int64))
        # small dtypes and no needless first writes: page faults, not arithmetic, dominate here
        self.slot = np.empty(n, dtype=np.uint16)
        self.offset = np.empty(n, dtype=np.uint16)
        self.probes = np.ones(n, dtype=np.int32)  # every allocation makes a first probe
        self.busy_probes = np.zeros(n, dtype=np.int32)
        self.found = np.zeros(n, dtype=np.int32)
        self.rounds = np.ones(n, dtype=np.uint8)
        self.gave_up = np.zeros(n, dtype=bool)

    def _busy_at(self, idx: NDArray[np.int64] | None, slot: NDArray[np.uint16],
                 table: NDArray[np.bool_]) -> NDArray[np.bool_]:
        where = slot if self.base is None else slot + (self.base if idx is None else self.base[idx])
        out: NDArray[np.bool_] = table[where]
        return out

    def run(self, idx: NDArray[np.int64] | None, off: NDArray[np.uint16], attempts: int,
            *, check_last: bool = True) -> NDArray[np.int64]:
        """Probe up to ``attempts`` ports for allocations ``idx`` (None: all) from offsets ``off``.

        Allocations that find a free port are finished; returns the indices of those that saw
        every probe busy. ``check_last=False`` is A1's unchecked ``size``-th probe. The eviction
        zone (``evictable`` given) is the last 32 probes of the round (spec §5.3).
        """
        cap = attempts if self.evict is None else max(attempts - EVICT_THRESHOLD, 0)
        prior = None if idx is None else self.probes[idx]  # probes of earlier rounds
        for i in range(attempts):
            o = off + np.uint16(i) if i else off  # u16 arithmetic: wraps at 65,536 (spec §4.4)
            if idx is None:
                self.offset[:] = o
                slot = np.remainder(o, self.size16, out=self.slot)
            else:
                slot = o % self.size16
                self.slot[idx], self.offset[idx] = slot, o
            if i == attempts - 1 and not check_last:
                sel: slice | NDArray[np.int64] = slice(None) if idx is None else idx
                self.probes[sel] = attempts if prior is None else prior + attempts
                self.busy_probes[sel] += attempts - 1
                self.found[sel] += min(attempts - 1, cap)
                return np.zeros(0, dtype=np.int64)
            taken = self._busy_at(idx, slot, self.busy)
            if self.evict is not None and attempts - i <= EVICT_THRESHOLD:
                taken &= ~self._busy_at(idx, slot, self.evict)
            if idx is None or prior is None:  # the batch's first probe: probes is already 1
                idx = np.flatnonzero(taken)
                prior = np.zeros(idx.size, dtype=np.int32)
            else:
                free = ~taken
                fin = idx[free]
                self.probes[fin] = prior[free] + (i + 1)
                if i:
                    self.busy_probes[fin] += i
                    self.found[fin] += min(i, cap)
                idx, prior = idx[taken], prior[taken]
            off = off[taken]
            if idx.size == 0:
                return idx
        assert prior is not None and idx is not None
        self.probes[idx] = prior + attempts
        self.busy_probes[idx] += attempts
        self.found[idx] += cap
        return idx

    def result(self, shape: tuple[int, ...]) -> SearchResult:
        return SearchResult(
            slot=self.slot.reshape(shape), probes=self.probes.reshape(shape),
            busy_probes=self.busy_probes.reshape(shape), found=self.found.reshape(shape),
            rounds=self.rounds.reshape(shape), gave_up=self.gave_up.reshape(shape),
            offset=self.offset.reshape(shape))

def search_rounds(busy: NDArray[np.bool_], offsets: NDArray[np.integer],
                  *, evictable: NDArray[np.bool_] | None = None) -> SearchResult:
    """A2-A4 (5.0+) search, spec §4.4: PRNG offset, rounds of 128/64/32/16/8 probes.

    ``offsets`` has shape ``batch + (R,)`` with ``R >= 1`` u16 draws per allocation (see the
    module docstring; an allocation needing more rounds than columns raises). ``evictable``
    (same shape as ``busy``) marks busy ports whose holder a TCP SYN would evict when at most 32
    probes are left in the round (A3/A4, spec §5.3: a closing SNAT entry whose sequence is
    behind); None is A2. Eviction frees only that allocation's view, as for one scalar search.
    """
    offsets = np.asarray(offsets)
    shape = offsets.shape[:-1]
    b = _Batch(busy, shape, evictable)
    draws = offsets.reshape(-1, offsets.shape[-1])
    size = b.size
    attempts = min(size, NF_NAT_MAX_ATTEMPTS)
    idx: NDArray[np.int64] | None = None
    r = 0
    while idx is None or idx.size:
        if r >= draws.shape[1]:
            raise ValueError(f"round {r + 1} needs a u16 column; pass max_rounds(size) columns")
        if idx is None:
            idx = b.run(None, np.ascontiguousarray(draws[:, 0], dtype=np.uint16), attempts)
        else:
            b.rounds[idx] += 1
            idx = b.run(idx, draws[idx, r].astype(np.uint16), attempts)
        if not (attempts < size and attempts >= 16):
            b.gave_up[idx] = True  # keeps the last (busy) candidate
            break
        attempts //= 2
        r += 1
    return b.result(shape)


def search_rover(busy: NDArray[np.bool_], start: NDArray[np.integer]) -> SearchResult:
    """A1 (<= 4.20) search, spec §4.4: +1 steps from ``start`` over the whole window.

    ``start`` is the 16-bit start offset per allocation: the u16 draw for ``--random-fully``, the
    keyed hash for ``--random``, the rover for the default. The ``size``-th probe is returned
    unchecked (``gave_up`` when it is busy). ``offset`` is the new rover value.
    """
    start = np.asarray(start)
    shape = start.shape
    b = _Batch(busy, shape, None)
    b.run(None, start.ravel().astype(np.uint16, copy=False), b.size, check_last=False)
    last = np.flatnonzero(b.probes == b.size)
    b.gave_up[last] = b._busy_at(last, b.slot[last], b.busy)
    return b.result(shape)
