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
Every allocation's first probe is made in cache-sized blocks; the loop then runs over probe steps
on the shrinking set of still-searching allocations, so the cost is about (allocations x mean
probes) vector element operations plus a per-step overhead. Search in chunks of at most about a
million allocations (:data:`ONE_BUFFER_MAX`): beyond that, mapping fresh memory for the results
costs more than the search (``benchmarks/mc_alloc.py``, ``benchmarks/README.md``). ``found``
equals the scalar table's ``stats.found`` increase of the search (A1's unchecked last probe and
A3+ eviction-path probes are not counted, spec §5.3, §16.3).
"""

from __future__ import annotations

import math
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


BLOCK = 1 << 15
"""Allocations whose first probe is made together: their slices of the working arrays and the
temporaries stay in the CPU cache (the whole batch at once would stream them through memory)."""


ONE_BUFFER_MAX = 32 << 20
"""Largest search (bytes of output) whose arrays share one buffer. glibc reuses a freed block up
to 32 MiB without returning it to the kernel, so a search that follows another of about the same
size writes into memory already mapped: no page faults, which cost more than the search itself
(~1.4 us per 4 KiB page here, measured). Larger searches, and several live blocks freed together
(which glibc trims), are mapped fresh each time. MC loops should therefore search in chunks."""


def _outputs(n: int) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.int32],
                              NDArray[np.uint16], NDArray[np.uint16], NDArray[np.uint8],
                              NDArray[np.bool_]]:
    """Working (and output) arrays for ``n`` allocations: probes, busy_probes, found (int32),
    slot, offset (u16), rounds (u8), gave_up; views of one buffer up to :data:`ONE_BUFFER_MAX`."""
    if 18 * n > ONE_BUFFER_MAX:
        return (np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.int32),
                np.empty(n, np.uint16), np.empty(n, np.uint16), np.empty(n, np.uint8),
                np.empty(n, np.bool_))
    buffer = np.empty(18 * n, dtype=np.uint8)
    probes, busy_probes, found = (buffer[4 * n * k: 4 * n * (k + 1)].view(np.int32)
                                  for k in range(3))
    slot, offset = (buffer[12 * n + 2 * n * k: 12 * n + 2 * n * (k + 1)].view(np.uint16)
                    for k in range(2))
    return probes, busy_probes, found, slot, offset, buffer[16 * n: 17 * n], \
        buffer[17 * n:].view(np.bool_)


class _Batch:
    """Flat working arrays of one search batch.

    The first probe of round 0 is made block by block (:data:`BLOCK`); later probes touch only
    the still-searching allocations, a minority unless the window is nearly full. Counters are
    written when an allocation leaves a round (its busy probes in a round are all its probes but
    a free last one).
    """

    def __init__(self, busy: NDArray[np.bool_], shape: tuple[int, ...],
                 evictable: NDArray[np.bool_] | None) -> None:
        trials, self.size = busy.shape
        self.busy = np.ascontiguousarray(busy).ravel()
        self.evict = None if evictable is None else np.ascontiguousarray(evictable).ravel()
        n = int(np.prod(shape, dtype=np.int64))
        # allocations per occupancy row; 0: one shared row, no row offset at all
        self.per_row = 0
        if trials > 1:
            if shape[0] != trials:
                raise ValueError(f"busy has {trials} rows but the batch has {shape[0]} trials")
            self.per_row = n // trials
        self.size16 = np.uint16(self.size)  # windows hold at most 65,535 ports
        # small dtypes, one buffer: page faults, not arithmetic, dominate here
        self.probes, self.busy_probes, self.found, self.slot, self.offset, self.rounds, \
            self.gave_up = _outputs(n)
        self.probes.fill(1)  # every allocation makes a first probe
        self.rounds.fill(1)
        self.gave_up.fill(False)
        # busy probes the used-check did not count (A3+ eviction zone, spec §5.3); found is
        # then busy_probes less these (see result)
        self.uncounted = None if evictable is None else np.zeros(n, dtype=np.int32)
        self.unchecked = np.zeros(0, dtype=np.int64)  # allocations given A1's unchecked probe

    def window_slot(self, off: NDArray[np.uint16], out: NDArray[np.uint16] | None = None
                    ) -> NDArray[np.uint16]:
        """``off % size`` (spec §4.4), computed as ``off - off // size * size``: numpy divides by
        a scalar with a multiply and a shift, many times faster than its remainder loop."""
        q = off // self.size16
        q *= self.size16
        slot: NDArray[np.uint16] = np.subtract(off, q, out=out)
        return slot

    def busy_at(self, idx: NDArray[np.int64] | slice, slot: NDArray[np.uint16],
                table: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """``table`` (busy or evictable) at ``slot`` in the rows of allocations ``idx``."""
        if self.per_row:
            if isinstance(idx, slice):
                idx = np.arange(idx.start, idx.stop, dtype=np.int64)
            slot = slot + idx // self.per_row * self.size
        out: NDArray[np.bool_] = np.take(table, slot)
        return out

    def run(self, idx: NDArray[np.int64] | None, off: NDArray[np.uint16], attempts: int,
            *, check_last: bool = True) -> NDArray[np.int64]:
        """Probe up to ``attempts`` ports for allocations ``idx`` (None: all) from offsets ``off``.

        Allocations that find a free port are finished; returns the indices of those that saw
        every probe busy. ``check_last=False`` is A1's unchecked ``size``-th probe (those
        allocations are kept in ``unchecked``). The eviction zone (``evictable`` given) is the
        last 32 probes of the round (spec §5.3).
        """
        if idx is not None:
            return self._steps(idx, off, self.probes[idx], 0, attempts, check_last)
        if attempts == 1 and not check_last:  # a 1-port A1 window: the unchecked probe only
            return self._steps(np.arange(off.size, dtype=np.int64), off, None, 0, 1, False)
        hits = []
        for lo in range(0, off.size, BLOCK):
            sel = slice(lo, min(lo + BLOCK, off.size))
            hit = self._first_probe(sel, off[sel], attempts)
            if hit.size:
                hits.append(hit + lo)
        idx = np.concatenate(hits) if hits else np.zeros(0, dtype=np.int64)
        return self._steps(idx, self.offset[idx], None, 1, attempts, check_last)

    def _first_probe(self, sel: slice, off: NDArray[np.uint16], attempts: int
                     ) -> NDArray[np.int64]:
        """First probe of allocations ``sel`` from their offsets ``off``: (block) indices of those
        that found it busy. The offsets are copied first: a column of the draws is strided."""
        o = self.offset[sel]
        o[:] = off
        slot = self.window_slot(o, out=self.slot[sel])
        taken = self.busy_at(sel, slot, self.busy)
        if self.evict is not None and attempts <= EVICT_THRESHOLD:
            taken &= ~self.busy_at(sel, slot, self.evict)
        return np.flatnonzero(taken)

    def _steps(self, idx: NDArray[np.int64], off: NDArray[np.uint16],
               prior: NDArray[np.int32] | None, first: int, attempts: int,
               check_last: bool) -> NDArray[np.int64]:
        """Probes ``first`` .. ``attempts - 1`` of a round for allocations ``idx`` from offsets
        ``off`` (see :meth:`run`); ``prior``: their probes in earlier rounds (None: round 0)."""
        cap = attempts if self.evict is None else max(attempts - EVICT_THRESHOLD, 0)
        for i in range(first, attempts):
            if idx.size == 0:
                return idx
            o = off + np.uint16(i)  # u16 arithmetic: wraps at 65,536 (spec §4.4)
            slot = self.window_slot(o)
            self.slot[idx], self.offset[idx] = slot, o
            if i == attempts - 1 and not check_last:
                self.probes[idx] = attempts if prior is None else prior + attempts
                self.unchecked = idx
                return np.zeros(0, dtype=np.int64)
            taken = self.busy_at(idx, slot, self.busy)
            if self.evict is not None and attempts - i <= EVICT_THRESHOLD:
                taken &= ~self.busy_at(idx, slot, self.evict)
            free = ~taken
            fin = idx[free]
            self.probes[fin] = i + 1 if prior is None else prior[free] + (i + 1)
            if self.uncounted is not None and i > cap:
                self.uncounted[fin] += i - cap
            idx, off = idx[taken], off[taken]
            if prior is not None:
                prior = prior[taken]
        self.probes[idx] = attempts if prior is None else prior + attempts
        if self.uncounted is not None:
            self.uncounted[idx] += attempts - cap
        return idx

    def result(self, shape: tuple[int, ...], *, last_counts: bool) -> SearchResult:
        """The search's outcome. Every probe is busy but an allocation's last one, which is
        busy only when it gave up and counts only when checked (``last_counts``: A2+)."""
        busy_probes = np.subtract(self.probes, 1, out=self.busy_probes)
        if last_counts:
            busy_probes += self.gave_up
        if self.uncounted is None:
            self.found[:] = busy_probes
        else:
            np.subtract(busy_probes, self.uncounted, out=self.found)
        return SearchResult(
            slot=self.slot.reshape(shape), probes=self.probes.reshape(shape),
            busy_probes=busy_probes.reshape(shape), found=self.found.reshape(shape),
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
            idx = b.run(None, draws[:, 0].astype(np.uint16, copy=False), attempts)
        else:
            b.rounds[idx] += 1
            idx = b.run(idx, draws[idx, r].astype(np.uint16), attempts)
        if not (attempts < size and attempts >= 16):
            b.gave_up[idx] = True  # keeps the last (busy) candidate
            break
        attempts //= 2
        r += 1
    return b.result(shape, last_counts=True)


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
    last = b.unchecked
    b.gave_up[last] = b.busy_at(last, b.slot[last], b.busy)
    return b.result(shape, last_counts=False)


OFFSETS = 1 << 16


def u16_offsets(rng: np.random.Generator, shape: tuple[int, ...]) -> NDArray[np.uint16]:
    """Uniform 16-bit search offsets of ``shape``, four to each raw 64-bit draw (``integers``
    over the whole uint64 range), in little-endian order so that every machine reads the same:
    half the cost of ``integers(0, 65536, dtype=uint16)``, which takes two to a 32-bit draw.
    The Monte Carlo engine's streams use it; the scalar-equality contract above is for that
    one-u16-per-call form."""
    count = math.prod(shape)
    words = rng.integers(0, np.iinfo(np.uint64).max, size=-(-count // 4), dtype=np.uint64,
                         endpoint=True)
    out: NDArray[np.uint16] = words.astype("<u8", copy=False).view("<u2")[:count].reshape(shape)
    return out


def free_virtual(busy: NDArray[np.bool_]) -> tuple[NDArray[np.intp], list[NDArray[np.intp]]]:
    """The free virtual ports ``o`` (sorted; slot ``o % size``) of one occupancy row, and the free
    slots seen on each lap of the 16-bit circle."""
    size = busy.shape[-1]
    free = np.flatnonzero(~busy.reshape(size))
    laps = [free[:np.searchsorted(free, OFFSETS - k)] for k in range(0, OFFSETS, size)]
    return np.concatenate([f + k * size for k, f in enumerate(laps)]), laps


def free_distance(free_at: NDArray[np.intp]) -> NDArray[np.int32]:
    """``dist[o]``: +1 probes from virtual port ``o`` to the next free one (0: ``o`` is free;
    65,536 when none is), from :func:`free_virtual`'s ports."""
    if free_at.size == 0:
        return np.full(OFFSETS, OFFSETS, dtype=np.int32)
    first = int(free_at[-1]) - OFFSETS + 1  # the offsets handed to each free port, in turn
    nxt = np.repeat(free_at.astype(np.int32), np.diff(free_at, prepend=free_at[-1] - OFFSETS))
    nxt -= np.arange(first, first + OFFSETS, dtype=np.int32)
    out: NDArray[np.int32] = np.roll(nxt, first + OFFSETS)
    return out


def search_table(busy: NDArray[np.bool_], offsets: NDArray[np.integer],
                 dist: NDArray[np.int32], *, a1: bool) -> SearchResult:
    """:func:`search_rounds` (``a1``: :func:`search_rover` from column 0) on one occupancy row
    without eviction, read from :func:`free_distance` where the first round finds a port.

    An allocation whose first round finds a port takes ``o + dist[o]`` after ``dist[o]`` busy
    probes; the others (a long busy run) are searched. Every field equals the search's (tested):
    the same kernel probes (spec §4.4), looked up once per occupancy instead of walked per
    allocation.
    """
    offsets = np.asarray(offsets)
    shape, size = offsets.shape[:-1], busy.shape[-1]
    off = offsets[..., 0].reshape(-1)
    found = dist[off]  # int32: the busy probes before the free port (a fresh array)
    ok = found < (size - 1 if a1 else min(size, NF_NAT_MAX_ATTEMPTS))
    offset = found.astype(np.uint16)
    offset += off  # (off + d) mod 2^16, in uint16
    q = offset // np.uint16(size)  # offset % size without numpy's slow remainder loop
    q *= np.uint16(size)
    slot = offset - q
    probes = found + 1
    rounds, gave_up = np.ones(off.size, dtype=np.uint8), np.zeros(off.size, dtype=bool)
    rest = np.flatnonzero(~ok)
    if rest.size:
        flat = offsets.reshape(off.size, -1)[rest]
        res = search_rover(busy, flat[:, 0]) if a1 else search_rounds(busy, flat)
        slot[rest], probes[rest], found[rest] = res.slot, res.probes, res.found
        rounds[rest], gave_up[rest], offset[rest] = res.rounds, res.gave_up, res.offset
    return SearchResult(slot=slot.reshape(shape), probes=probes.reshape(shape),
                        busy_probes=found.reshape(shape), found=found.reshape(shape),
                        rounds=rounds.reshape(shape), gave_up=gave_up.reshape(shape),
                        offset=offset.reshape(shape))


def slot_law(busy: NDArray[np.bool_], *, a1: bool, evictable: NDArray[np.bool_] | None = None,
             out: NDArray[np.float64] | None = None,
             free: tuple[NDArray[np.intp], list[NDArray[np.intp]]] | None = None
             ) -> NDArray[np.float64]:
    """Exact law of the window slot one search returns from a uniform u16 offset (spec §4.4).

    ``busy`` (and ``evictable``, A3+) is one occupancy row of ``size`` slots. ``a1``: the A1
    ``--random-fully`` search (one round of ``size`` probes, the last unchecked: a busy last probe
    is a give-up on that same slot); else the A2-A4 rounds (:func:`max_rounds`), round ``r``
    reached with the product of the earlier rounds' all-busy fractions; the last round's
    give-ups keep their last (busy) candidate. The probes walk the virtual ports ``o`` of the
    16-bit circle, slot ``o % size``. Without eviction a round is counted from the gaps between
    free virtual ports (a busy run of length L hands ``min(L + 1, attempts)`` offsets to the free
    port after it), as :func:`snatsim.analytic.probing.chosen_slot_probabilities` does with a
    search per offset (equal, tested); with eviction every offset's round is searched
    (:class:`_Batch`, the probes of :func:`search_rounds`). ``out``: a ``size`` float64 array to
    fill, reused by a caller that asks again and again (the ~30 small arrays here stay in the
    heap below glibc's mmap threshold; a fresh 512 KiB law each time was mapped and faulted in,
    which cost more than the counting, see :data:`ONE_BUFFER_MAX`); ``free``: the row's
    :func:`free_virtual`, when the caller has it.
    """
    size = busy.shape[-1]
    row = np.ascontiguousarray(busy).reshape(1, size)
    evict = None if evictable is None or not evictable.any() else \
        np.ascontiguousarray(evictable).reshape(1, size)
    rounds = [size] if a1 else [min(size, NF_NAT_MAX_ATTEMPTS) >> r for r in range(max_rounds(size))]
    law = np.zeros(size) if out is None else out
    law.fill(0.0)
    laps: list[NDArray[np.intp]] = []  # free slots seen on each lap of the 16-bit circle
    if evict is None:
        free_at, laps = free_virtual(row) if free is None else free
    reach = 1.0 / OFFSETS
    for r, attempts in enumerate(rounds):
        last = r == len(rounds) - 1
        if not laps:
            landed, failed = _searched_round(row, evict, attempts)
            virtual = np.zeros(-(-OFFSETS // size) * size)
            virtual[:OFFSETS] = landed
            law += reach * virtual.reshape(-1, size).sum(axis=0)
        else:
            counts, failed = _gap_round(free_at, attempts, with_failed=last)
            lap0 = reach * counts[:laps[0].size]  # each free slot once per lap
            if r == 0:
                law[laps[0]] = lap0
            else:
                law[laps[0]] += lap0
            start = laps[0].size
            for slots in laps[1:]:
                law[slots] += reach * counts[start:start + slots.size]
                start += slots.size
        if last:
            np.add.at(law, failed % size, reach)
            break
        reach *= failed.size / OFFSETS
        if reach == 0.0:
            break
    return law


def _gap_round(free_at: NDArray[np.intp], attempts: int, *, with_failed: bool
               ) -> tuple[NDArray[np.intp], NDArray[np.int32]]:
    """One round without eviction over all offsets: (offsets ending on each free virtual port,
    the virtual ports of the last probes of the offsets that saw every probe busy, one per
    offset; when not ``with_failed`` only their number is right)."""
    if free_at.size == 0:
        return free_at, (np.arange(OFFSETS, dtype=np.int32) + attempts - 1) % OFFSETS
    gap = np.diff(free_at, prepend=free_at[-1] - OFFSETS)  # offsets in (previous free, this one]
    over = gap - attempts  # offsets o <= free - attempts see only busy probes
    many = np.flatnonzero(over > 0)
    counts = over[many]
    if not with_failed:
        return np.minimum(gap, attempts), np.empty(int(counts.sum()), dtype=np.int32)
    first = free_at[many] - gap[many] + 1  # the first offset after the previous free port
    o = np.repeat(first - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    return np.minimum(gap, attempts), ((o + attempts - 1) % OFFSETS).astype(np.int32)


def _searched_round(row: NDArray[np.bool_], evict: NDArray[np.bool_] | None, attempts: int
                    ) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """One round searched from every offset (eviction included): (offsets ending on each virtual
    port, the virtual ports of the failed offsets' last probes)."""
    b = _Batch(row, (OFFSETS,), evict)
    failed_idx = b.run(None, np.arange(OFFSETS, dtype=np.uint16), attempts)
    ends = b.offset.astype(np.int32)  # the virtual port of each offset's last probe
    ok = np.ones(OFFSETS, dtype=bool)
    ok[failed_idx] = False
    return np.bincount(ends[ok], minlength=OFFSETS), ends[failed_idx]
