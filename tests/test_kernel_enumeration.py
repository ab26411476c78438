"""Exact enumeration of the SNAT port search on tiny windows (spec §4.4, §5.1).

The real :class:`SnatAllocator` is run for every 16-bit offset (or every rover value that matters)
and the result is compared, exactly and with :class:`~fractions.Fraction`, with expectations
computed here by separate pure-Python functions from the spec's probe rule
``port = lo + off % size``, ``off = (off + 1) & 0xFFFF``.

Note on the 16-bit wrap (spec §4.4: ``off`` is a u16 in every era): when ``size`` does not divide
65,536, an offset within ``size - 1`` of 65,535 wraps to 0 and probes slot 0 again instead of the
next slot, so such a probe sequence can repeat a slot and skip another. The search can then give
up although a free port exists; the tests below pin that behaviour instead of ignoring it.
"""

from __future__ import annotations

import itertools
from collections import Counter
from fractions import Fraction

import pytest
from conftest import NODE_IP, ScriptedDraws, occupy, tcp

from snatsim.analytic.collision import offset_port_weights, pair_collision_probability
from snatsim.kernel.conntrack import ConntrackTable, Entry
from snatsim.kernel.eras import NatEra
from snatsim.kernel.nat import NatOutcome, NatRange, NatResult, SnatAllocator

LO = 20000
POD_OUTSIDE = 40000  # pod port outside every window used here: preservation is not tried
OFFSETS = 1 << 16
CHUNK = 1024  # ScriptedDraws pops from the front of a list: keep each script short


def _window(n: int, **flags: bool) -> NatRange:
    return NatRange(ips=(NODE_IP,), ports=(LO, LO + n - 1), **flags)


def _table_with_busy(n: int, busy: frozenset[int]) -> ConntrackTable:
    """A table in which the window slots ``busy`` (0-based) hold confirmed ESTABLISHED entries."""
    table = ConntrackTable()
    for slot in sorted(busy):
        assert 0 <= slot < n
        occupy(table, LO + slot)
    return table


def _every_offset(nat: SnatAllocator, table: ConntrackTable, ct: Entry) -> list[NatResult]:
    """``get_unique_tuple`` once per 16-bit offset value 0..65535, in order."""
    results: list[NatResult] = []
    for start in range(0, OFFSETS, CHUNK):
        draws = ScriptedDraws(range(start, start + CHUNK))
        results.extend(nat.get_unique_tuple(ct, table, 0.0, draws) for _ in range(CHUNK))
        assert draws.left == 0  # exactly one u16 per allocation: one round, since n <= 128
    return results


# ---------------------------------------------------------------- independent expectations
def _probe_slots(off: int, n: int, probes: int | None = None) -> list[int]:
    """Window slots probed from offset ``off``: ``((off + i) & 0xFFFF) % n`` (spec §4.4)."""
    return [((off + i) & 0xFFFF) % n for i in range(n if probes is None else probes)]


def _first_free_weights(n: int, busy: frozenset[int]) -> tuple[list[Fraction], Fraction]:
    """Closed form of the A2 chosen-slot distribution on an ``n``-slot window, by hand.

    An offset ``off <= 65536 - n`` never wraps, so its probes are the cyclic run
    ``r, r+1, ...`` from ``r = off % n``: it picks the first free slot at or after ``r``. There
    are ``ceil((65537 - n - r) / n)`` such offsets with residue ``r``. The ``n - 1`` offsets
    above ``65536 - n`` wrap to 0 and are followed one by one. Returns (weight of each slot,
    probability of giving up).
    """
    free = [s for s in range(n) if s not in busy]
    counts = [0] * n
    gave_up = 0
    non_wrapping = OFFSETS - n + 1  # offsets 0 .. 65536 - n
    for r in range(n):
        offsets_with_residue = -(-(non_wrapping - r) // n)  # ceil
        target = next((s for s in (*range(r, n), *range(r)) if s in free), None)
        if target is None:
            gave_up += offsets_with_residue
        else:
            counts[target] += offsets_with_residue
    for off in range(non_wrapping, OFFSETS):
        target = next((s for s in _probe_slots(off, n) if s in free), None)
        if target is None:
            gave_up += 1
        else:
            counts[target] += 1
    assert sum(counts) + gave_up == OFFSETS
    return [Fraction(c, OFFSETS) for c in counts], Fraction(gave_up, OFFSETS)


def _a1_expected(rover: int, n: int, busy: frozenset[int]) -> tuple[int, int, bool]:
    """A1 search from ``rover`` (spec §4.4): (slot returned, rover after, gave up).

    The first ``n - 1`` probes are checked; the ``n``-th is returned unchecked.
    """
    for i in range(n):
        off = (rover + i) & 0xFFFF
        slot = off % n
        if i == n - 1 or slot not in busy:
            return slot, off, slot in busy
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- empty window: offset weights
EMPTY_CASES = [(NatEra.A2, "outside", n) for n in range(1, 9)] + [
    (NatEra.A4, "random_fully", 3),
    (NatEra.A1, "random_fully", 5),
]


@pytest.mark.slow
@pytest.mark.parametrize(("era", "how", "n"), EMPTY_CASES)
def test_empty_window_port_distribution_is_the_offset_weights(
    era: NatEra, how: str, n: int
) -> None:
    """Every offset on an empty window: the port law is ``offset_port_weights(n)`` exactly."""
    if how == "outside":
        nat = SnatAllocator(era, _window(n))
        ct = Entry(tcp("10.244.0.1", POD_OUTSIDE))
    else:  # --random-fully skips preservation even for a pod port inside the window
        nat = SnatAllocator(era, _window(n, random_fully=True))
        ct = Entry(tcp("10.244.0.1", LO))
    table = ConntrackTable()
    results = _every_offset(nat, table, ct)

    assert {r.outcome for r in results} == {NatOutcome.SEARCHED}
    assert all(r.probes == 1 and r.busy_probes == 0 for r in results)
    assert all(r.port == LO + off % n for off, r in enumerate(results))
    counts = Counter(r.port - LO for r in results)
    law = [Fraction(counts[s], OFFSETS) for s in range(n)]
    assert law == offset_port_weights(n)
    # two independent --random-fully allocations racing on two CPUs collide with prob sum p^2
    collide = sum(p * p for p in law)
    assert collide == pair_collision_probability(n)
    if OFFSETS % n == 0:
        assert collide == Fraction(1, n)
    else:
        assert collide > Fraction(1, n)  # the slight non-uniformity only raises it
    assert table.stats.found == 0 and len(table) == 0


@pytest.mark.parametrize("n", [1, 2, 4, 8])
def test_pair_collision_is_one_over_n_for_powers_of_two(n: int) -> None:
    assert pair_collision_probability(n) == Fraction(1, n)
    assert offset_port_weights(n) == [Fraction(1, n)] * n


# ---------------------------------------------------------------- busy subsets, every offset (A2)
FULL_ENUMERATION = [
    (3, frozenset({0, 1})),
    (5, frozenset({1, 2, 4})),
    (6, frozenset({5})),
    (8, frozenset({2, 3, 4})),
    (8, frozenset(range(7))),
]


@pytest.mark.slow
@pytest.mark.parametrize(("n", "busy"), FULL_ENUMERATION)
def test_a2_busy_subset_distribution_matches_first_free_weights(
    n: int, busy: frozenset[int]
) -> None:
    """k of n ports busy, every offset: the chosen-port law equals the hand-derived closed form."""
    table = _table_with_busy(n, busy)
    nat = SnatAllocator(NatEra.A2, _window(n))
    results = _every_offset(nat, table, Entry(tcp("10.244.0.1", POD_OUTSIDE)))

    weights, p_give_up = _first_free_weights(n, busy)
    counts = Counter(r.port - LO for r in results if r.outcome is NatOutcome.SEARCHED)
    assert [Fraction(counts[s], OFFSETS) for s in range(n)] == weights
    gave_up = [off for off, r in enumerate(results) if r.outcome is NatOutcome.GAVE_UP]
    assert Fraction(len(gave_up), OFFSETS) == p_give_up
    # a free port is never handed out busy, and a busy one is never handed out as SEARCHED
    assert all((r.port - LO in busy) == (r.outcome is NatOutcome.GAVE_UP) for r in results)
    # never gives up while a free port exists, except at the n-1 wrapping offsets (module doc)
    assert all(off > OFFSETS - n for off in gave_up)
    if OFFSETS % n == 0:
        assert gave_up == []
    # found counts every busy probe of the non-destructive used-check (spec §5.1, §7)
    assert table.stats.found == sum(r.busy_probes for r in results)


def _proper_subsets(n: int) -> list[frozenset[int]]:
    return [frozenset(c) for k in range(n) for c in itertools.combinations(range(n), k)]


ALL_SUBSETS = [(n, busy) for n in range(1, 9) for busy in _proper_subsets(n)]


def test_a2_every_busy_subset_at_every_residue_and_wrap_offset() -> None:
    """All 2^n - 1 proper busy subsets for n <= 8, at offsets covering every residue twice and
    every wrapping offset: the allocator's choice equals the first free slot of the probe run."""
    checked = 0
    for n, busy in ALL_SUBSETS:
        table = _table_with_busy(n, busy)
        nat = SnatAllocator(NatEra.A2, _window(n))
        ct = Entry(tcp("10.244.0.1", POD_OUTSIDE))
        offsets = [*range(2 * n), *range(OFFSETS - 2 * n, OFFSETS)]
        draws = ScriptedDraws(offsets)
        for off in offsets:
            res = nat.get_unique_tuple(ct, table, 0.0, draws)
            slots = _probe_slots(off, n)
            first_free = next((i for i, s in enumerate(slots) if s not in busy), None)
            if first_free is None:
                assert res.outcome is NatOutcome.GAVE_UP
                assert (res.port, res.probes, res.busy_probes) == (LO + slots[-1], n, n)
            else:
                assert res.outcome is NatOutcome.SEARCHED
                assert (res.port, res.probes) == (LO + slots[first_free], first_free + 1)
                assert res.busy_probes == first_free
            if off <= OFFSETS - n:  # no wrap: the run is cyclic from off % n, so a free port wins
                assert (res.outcome is NatOutcome.GAVE_UP) == (len(busy) == n)
            checked += 1
        assert draws.left == 0
    assert checked == sum(4 * n for n, _ in ALL_SUBSETS)


def test_a2_wrap_can_give_up_with_a_free_port() -> None:
    """n=3, slots 0 and 1 busy, offset 65535: probes slots 0, 0, 1 (65535 % 3 == 0 and the u16
    wraps to 0), so the free slot 2 is never probed and the search gives up (spec §4.4)."""
    table = _table_with_busy(3, frozenset({0, 1}))
    nat = SnatAllocator(NatEra.A2, _window(3))
    res = nat.get_unique_tuple(
        Entry(tcp("10.244.0.1", POD_OUTSIDE)), table, 0.0, ScriptedDraws([65535])
    )
    assert res.outcome is NatOutcome.GAVE_UP
    assert (res.port, res.probes, res.busy_probes) == (LO + 1, 3, 3)
    res = nat.get_unique_tuple(
        Entry(tcp("10.244.0.1", POD_OUTSIDE)), table, 0.0, ScriptedDraws([65532])
    )
    assert res.outcome is NatOutcome.SEARCHED and res.port == LO + 2  # no wrap: 0, 1, 2


def test_a2_full_window_gives_up_on_the_last_probe_for_every_offset_class() -> None:
    for n in range(1, 9):
        table = _table_with_busy(n, frozenset(range(n)))
        nat = SnatAllocator(NatEra.A2, _window(n))
        offsets = [*range(n), *range(OFFSETS - n, OFFSETS)]
        draws = ScriptedDraws(offsets)
        for off in offsets:
            res = nat.get_unique_tuple(Entry(tcp("10.244.0.1", POD_OUTSIDE)), table, 0.0, draws)
            assert res.outcome is NatOutcome.GAVE_UP and res.rounds == 1
            assert res.port == LO + ((off + n - 1) & 0xFFFF) % n
        assert table.stats.found == n * len(offsets)


# ---------------------------------------------------------------- A1 rover (spec §4.4, §13.3)
def _rovers(n: int) -> list[int]:
    """Every residue twice away from the wrap, and every rover value near it."""
    return [*range(2 * n), *range(OFFSETS - 2 * n, OFFSETS)]


def test_a1_rover_picks_first_free_port_at_or_after_rover() -> None:
    checked = 0
    for n in range(1, 9):
        for busy in [*_proper_subsets(n), frozenset(range(n))]:
            table = _table_with_busy(n, busy)
            nat = SnatAllocator(NatEra.A1, _window(n))
            ct = Entry(tcp("10.244.0.1", POD_OUTSIDE))
            for rover in _rovers(n):
                nat.rover[6] = rover
                found_before = table.stats.found
                res = nat.get_unique_tuple(ct, table, 0.0, ScriptedDraws([]))
                slot, rover_after, gave_up = _a1_expected(rover, n, busy)
                assert res.port == LO + slot
                assert nat.rover[6] == rover_after  # points at the port just handed out
                assert (res.outcome is NatOutcome.GAVE_UP) == gave_up
                assert res.probes <= n and res.rounds == 1
                assert table.stats.found - found_before == res.busy_probes
                if len(busy) == n:  # all busy: the unchecked n-th probe, rover + n - 1
                    assert res.port == LO + ((rover + n - 1) & 0xFFFF) % n
                    assert (res.probes, res.busy_probes) == (n, n - 1)
                elif rover <= OFFSETS - n:  # no wrap: first free slot cyclically from rover
                    start = rover % n
                    cyclic = [s for s in (*range(start, n), *range(start)) if s not in busy]
                    assert res.port == LO + cyclic[0]
                    assert res.outcome is NatOutcome.SEARCHED
                    assert nat.rover[6] % n == res.port - LO
                checked += 1
    assert checked == sum(2**n * 4 * n for n in range(1, 9))


def test_a1_rover_wrap_skips_a_slot() -> None:
    """n=3, rover 65535: probes slots 0, 0 and (unchecked) 1; slot 2 is never reached."""
    table = _table_with_busy(3, frozenset({0, 1}))
    nat = SnatAllocator(NatEra.A1, _window(3))
    nat.rover[6] = 65535
    res = nat.get_unique_tuple(Entry(tcp("10.244.0.1", POD_OUTSIDE)), table, 0.0, ScriptedDraws([]))
    assert res.port == LO + 1 and res.outcome is NatOutcome.GAVE_UP
    assert nat.rover[6] == 1  # offsets 65535, 0, 1: the rover keeps the last (u16) offset
