"""snatsim.analytic.rover: A1 rover races against the kernel enumerated and a direct simulation."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from conftest import NODE_IP, ScriptedDraws, occupy, tcp

from snatsim.analytic.probing import chosen_slot_probabilities
from snatsim.analytic.rover import (
    overlap_pmf,
    random_fully_drops,
    rover_drop_fraction,
    rover_drops,
)
from snatsim.kernel.confirm import ConfirmOutcome, confirm
from snatsim.kernel.conntrack import ConntrackTable, Entry
from snatsim.kernel.eras import ConfirmEra, NatEra
from snatsim.kernel.nat import NatRange, SnatAllocator

LO = 20000
POD_OUTSIDE = 40000  # outside the window: no preservation, the search runs
OFFSETS = 1 << 16


@functools.cache
def _offset_groups(size: int) -> list[tuple[int, int]]:
    """(an offset, how many offsets probe the same slots), spec §4.4 rule."""
    off = np.arange(OFFSETS)[:, None]
    probes = ((off + np.arange(size)) & 0xFFFF) % size
    _, first, counts = np.unique(probes, axis=0, return_index=True, return_counts=True)
    return list(zip(first.tolist(), counts.tolist(), strict=True))


def _race(size: int, busy: frozenset[int], starts: list[int], *, rover: bool) -> int:
    """NAT ``len(starts)`` flows with none confirmed (one window), then confirm them in NAT order:
    the kernel's drop count. ``rover``: the A1 rover starts at ``starts[0]`` and draws nothing;
    else each flow is ``--random-fully`` with its own u16."""
    table = ConntrackTable()
    for slot in sorted(busy):
        occupy(table, LO + slot)
    nat = SnatAllocator(NatEra.A1, NatRange(ips=(NODE_IP,), ports=(LO, LO + size - 1),
                                            random_fully=not rover))
    if rover:
        nat.rover[6] = starts[0]
    entries = []
    for i, start in enumerate(starts):
        ct = Entry(tcp(f"10.244.0.{i + 1}", POD_OUTSIDE))
        nat.setup(ct, table, 0.0, ScriptedDraws([] if rover else [start]))
        entries.append(ct)
    outcomes = [confirm(table, ct, 1e-6, ConfirmEra.C3) for ct in entries]
    return sum(o is ConfirmOutcome.DROPPED for o in outcomes)


@pytest.mark.parametrize(("size", "busy"), [(5, frozenset()), (8, frozenset({0, 1, 2, 6})),
                                            (12, frozenset(range(11)))])
@pytest.mark.parametrize("overlap", [0, 1, 3])
def test_rover_overlap_drops_exactly_j(size: int, busy: frozenset[int], overlap: int) -> None:
    """Every rover start (by probe sequence): the leader and j overlapping flows share a port."""
    checked = 0
    for start, _count in _offset_groups(size):
        if _race(size, busy, [start], rover=True):
            continue  # the 16-bit wrap skipped the free port: exhaustion, not a race (spec §4.4)
        assert _race(size, busy, [start] * (overlap + 1), rover=True) == rover_drops(overlap)
        checked += 1
    assert checked >= len(_offset_groups(size)) - size


@pytest.mark.parametrize(("size", "busy", "overlap"), [(5, frozenset({3}), 1),
                                                       (8, frozenset({2, 3, 4}), 2),
                                                       (6, frozenset(range(5)), 1)])
def test_random_fully_drops_equal_enumeration(size: int, busy: frozenset[int],
                                              overlap: int) -> None:
    """Every tuple of offsets (by probe sequence), the kernel's drop count, weighted."""
    groups = _offset_groups(size)
    total = 0
    for combo in np.ndindex(*([len(groups)] * (overlap + 1))):
        starts = [groups[g][0] for g in combo]
        weight = math.prod(groups[g][1] for g in combo)
        total += weight * _race(size, busy, starts, rover=False)
    bitmap = [s in busy for s in range(size)]
    law = chosen_slot_probabilities(bitmap, "a1")
    assert random_fully_drops(overlap, law, bitmap) == pytest.approx(
        total / OFFSETS ** (overlap + 1), rel=1e-12, abs=1e-15)


def _simulated_drops(rate_per_s: float, delta_s: float, cpus: int | None, n: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Poisson SYNs on random CPUs, each CPU busy for its NAT -> confirm window (FIFO); a NAT
    before the current group's leader confirms joins the group and is dropped (the rover rule)."""
    arrivals = np.cumsum(rng.exponential(1 / rate_per_s, n))
    if cpus is None:
        nat_at = arrivals
    else:
        cpu = rng.integers(0, cpus, n)
        nat_at = np.empty(n)
        free_at = np.zeros(cpus)
        for i in range(n):
            nat_at[i] = max(arrivals[i], free_at[cpu[i]])
            free_at[cpu[i]] = nat_at[i] + delta_s
    nat_at.sort()
    dropped = np.zeros(n, dtype=bool)
    leader_confirm = -math.inf
    for i, t in enumerate(nat_at.tolist()):
        if t < leader_confirm:
            dropped[i] = True
        else:
            leader_confirm = t + delta_s
    return dropped


@pytest.mark.parametrize(("rate", "cpus"), [(50_000.0, None), (300_000.0, None),
                                            (20_000.0, 4), (20_000.0, 1)])
def test_drop_fraction_agrees_with_a_direct_simulation(rate: float, cpus: int | None) -> None:
    """4 SE by batch means. ``cpus=4`` at rate x delta = 0.02: the queueing the Binomial law
    leaves out is below the noise there."""
    delta = 1e-6
    dropped = _simulated_drops(rate, delta, cpus, 200_000, np.random.default_rng(7))
    truth = rover_drop_fraction(rate, delta, cpus)
    means = dropped.reshape(50, -1).mean(axis=1)
    se = means.std(ddof=1) / math.sqrt(means.size)
    assert abs(means.mean() - truth) <= 4 * se + (1e-12 if cpus == 1 else 0)
    if cpus is None:
        assert truth == pytest.approx(rate * delta / (1 + rate * delta), rel=1e-12)


def test_queueing_bias_shows_at_high_load() -> None:
    """The Binomial overlap law leaves out NATs queued behind a busy CPU: at rate x delta = 2 on
    4 CPUs the simulation is off by far more than 4 SE (the documented boundary)."""
    rate, delta, cpus = 2e6, 1e-6, 4
    dropped = _simulated_drops(rate, delta, cpus, 100_000, np.random.default_rng(8))
    means = dropped.reshape(50, -1).mean(axis=1)
    se = means.std(ddof=1) / math.sqrt(means.size)
    assert abs(means.mean() - rover_drop_fraction(rate, delta, cpus)) > 4 * se


def test_rover_is_certain_where_random_fully_is_a_birthday() -> None:
    """Overlap 1 on an empty 64,512-port window: the rover drops 1, --random-fully ~1/64,512."""
    law = chosen_slot_probabilities(np.zeros(64512, dtype=bool), "a1")
    assert rover_drops(1) == 1
    assert random_fully_drops(1, law) == pytest.approx(1 / 64512, rel=0.02)


def test_overlap_law_sums_to_one() -> None:
    for cpus in (None, 1, 2, 16):
        assert overlap_pmf(1e5, 1e-6, cpus).sum() == pytest.approx(1.0, abs=1e-12)
    assert rover_drop_fraction(1e5, 1e-6, 1) == 0.0
