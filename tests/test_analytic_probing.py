"""snatsim.analytic.probing: k concurrent searches, against kernel enumeration and snatsim.mc."""

from __future__ import annotations

import functools
import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from conftest import NODE_IP, ScriptedDraws, occupy, tcp

from snatsim.analytic.collision import pair_collision_probability
from snatsim.analytic.probing import (
    birthday_clash,
    chosen_slot_fractions,
    chosen_slot_probabilities,
    clash_fraction,
    clash_probability,
    first_probe_clash,
    linear_probe_clash,
    random_occupancy_pair_clash,
    search_rounds,
)
from snatsim.kernel.conntrack import ConntrackTable, Entry
from snatsim.kernel.eras import NatEra
from snatsim.kernel.nat import NatRange, SnatAllocator
from snatsim.mc.race import estimate_race

LO = 20000
POD_OUTSIDE = 40000  # outside every window here: no preservation, the search runs
OFFSETS = 1 << 16


@functools.cache
def _offset_groups(size: int) -> list[tuple[int, int]]:
    """(an offset, how many offsets probe the same slots): every offset grouped by its probe
    sequence under the spec §4.4 rule, so the kernel runs once per distinct sequence."""
    off = np.arange(OFFSETS)[:, None]
    probes = ((off + np.arange(size)) & 0xFFFF) % size
    _, first, counts = np.unique(probes, axis=0, return_index=True, return_counts=True)
    return list(zip(first.tolist(), counts.tolist(), strict=True))


def _enumerated_clash(size: int, busy: frozenset[int], k: int, era: NatEra) -> Fraction:
    """P(some two of k concurrent searches return one port): every offset, the kernel allocator.

    None of the k is confirmed while the others search (spec §3.2): each sees the same table.
    """
    table = ConntrackTable()
    for slot in sorted(busy):
        occupy(table, LO + slot)
    nat = SnatAllocator(era, NatRange(ips=(NODE_IP,), ports=(LO, LO + size - 1),
                                      random_fully=True))
    port_weight: list[tuple[int, int]] = []
    for off, count in _offset_groups(size):
        draws = ScriptedDraws([off])
        port = nat.get_unique_tuple(Entry(tcp("10.244.0.1", POD_OUTSIDE)), table, 0.0, draws).port
        assert draws.left == 0
        port_weight.append((port, count))
    clash = 0
    for combo in itertools.product(port_weight, repeat=k):
        ports = [p for p, _ in combo]
        if len(set(ports)) < k:
            clash += math.prod(w for _, w in combo)
    return Fraction(clash, OFFSETS**k)


CASES = [
    (4, frozenset(), 2), (4, frozenset({1}), 3), (5, frozenset({0, 1, 2}), 2),
    (7, frozenset({6}), 3), (8, frozenset({2, 3, 4}), 2), (12, frozenset({0, 1, 5, 6, 7, 11}), 3),
    (12, frozenset(range(11)), 2), (6, frozenset(range(6)), 2),  # one free port; a full window
]


@pytest.mark.parametrize("era", [NatEra.A2, NatEra.A1])
@pytest.mark.parametrize(("size", "busy", "k"), CASES)
def test_equals_kernel_enumeration(size: int, busy: frozenset[int], k: int, era: NatEra) -> None:
    bitmap = [s in busy for s in range(size)]
    search = "a1" if era is NatEra.A1 else "rounds"
    law = chosen_slot_fractions(bitmap, search)
    exact = clash_fraction(law, k)
    assert exact == _enumerated_clash(size, busy, k, era)
    assert sum(law) == 1
    assert abs(linear_probe_clash(bitmap, k, search) - float(exact)) <= 1e-12


def test_float_law_equals_exact_law() -> None:
    bitmap = np.random.default_rng(4).random(300) < 0.7
    exact = chosen_slot_fractions(bitmap)
    assert np.allclose(chosen_slot_probabilities(bitmap), [float(x) for x in exact],
                       rtol=1e-12, atol=0)


def test_first_probe_pair_is_the_offset_collision() -> None:
    for size in (5, 64, 1000, 64512):
        assert first_probe_clash(size, 2) == pytest.approx(
            float(pair_collision_probability(size)), rel=1e-12)


@pytest.mark.parametrize(("n", "k"), [(1, 1), (5, 2), (12, 4), (14116, 3), (64512, 30), (3, 5)])
def test_birthday_equals_the_product(n: int, k: int) -> None:
    exact = 1 - math.prod((Fraction(n - i, n) for i in range(k)), start=Fraction(1))
    assert birthday_clash(n, k) == pytest.approx(float(exact), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("k", [2, 5, 40])
def test_series_and_recursion_agree(k: int) -> None:
    """The two float paths of clash_probability equal the exact rational value."""
    w = [Fraction(int(c), 1000) for c in np.random.default_rng(k).multinomial(1000, [1 / 50] * 50)]
    assert clash_probability([float(x) for x in w], k) == pytest.approx(
        float(clash_fraction(w, k)), rel=1e-12)


def test_clusters_make_clashes_likelier_than_birthday() -> None:
    """birthday(size) <= birthday(free) <= linear probing, for a clustered window."""
    size = 1000
    bitmap = np.zeros(size, dtype=bool)
    for start in range(0, size, 100):
        bitmap[start:start + 60] = True  # 10 clusters of 60 busy ports
    free = int((~bitmap).sum())
    for k in (2, 4):
        lp = linear_probe_clash(bitmap, k)
        assert birthday_clash(size, k) < birthday_clash(free, k) < lp
    assert linear_probe_clash(bitmap, 2) == pytest.approx(
        (10 * 61**2 + 390) / 1000**2, rel=2e-3)  # 1000 does not divide 65,536: wrap and offset weights


@pytest.mark.parametrize(("size", "density", "k", "rover"), [
    (200, 0.5, 3, False),  # A2 rounds, several rounds possible
    (64, 0.8, 4, True),  # A1 --random-fully, whole window
    (1000, 0.9, 2, False),
    (64512, 0.5, 8, False),  # the default window
    (64512, 0.0, 4, True),
    (100, 0.3, 16, False),  # a big clash probability: the recursion path
])
def test_agrees_with_mc_race(size: int, density: float, k: int, rover: bool) -> None:
    """snatsim.mc.race samples the same clash (4 SE, fixed seed)."""
    bitmap = np.random.default_rng(size).random(size) < density
    truth = linear_probe_clash(bitmap, k, "a1" if rover else "rounds")
    est = estimate_race(bitmap[None, :], k, 100_000, np.random.default_rng(k), rover=rover)
    assert abs(est.p - truth) <= 4 * math.sqrt(truth * (1 - truth) / est.trials)


def _placements_average(size: int, busy: int) -> Fraction:
    """E[pair clash] over every placement of ``busy`` busy slots (exact law per placement)."""
    total = Fraction(0)
    places = list(itertools.combinations(range(size), busy))
    for chosen in places:
        bitmap = [s in chosen for s in range(size)]
        total += clash_fraction(chosen_slot_fractions(bitmap), 2)
    return total / len(places)


@pytest.mark.parametrize(("size", "busy"), [(4, 0), (4, 2), (8, 3), (8, 7), (16, 2)])
def test_random_occupancy_equals_enumeration(size: int, busy: int) -> None:
    """Sizes dividing 65,536: the O(size) run-length form is the exact average over placements."""
    exact = _placements_average(size, busy)
    assert random_occupancy_pair_clash(size, busy) == pytest.approx(float(exact), rel=1e-12)


@pytest.mark.parametrize(("size", "busy"), [(5, 2), (12, 3), (12, 11)])
def test_random_occupancy_wrap_error_is_bounded(size: int, busy: int) -> None:
    """Other sizes: only offsets whose run crosses 65,535 -> 0 differ (~size/65,536)."""
    exact = float(_placements_average(size, busy))
    assert random_occupancy_pair_clash(size, busy) == pytest.approx(exact, rel=size / OFFSETS)


def test_random_occupancy_agrees_with_mc_on_a_large_window() -> None:
    """4,096 ports at 60 % occupancy: random placements sampled by mc (4 SE)."""
    size, busy, placements, pairs = 4096, 2458, 400, 2000
    rng = np.random.default_rng(11)
    truth = random_occupancy_pair_clash(size, busy)
    per_placement = np.empty(placements)
    for i in range(placements):
        bitmap = np.zeros((1, size), dtype=bool)
        bitmap[0, rng.choice(size, busy, replace=False)] = True
        per_placement[i] = estimate_race(bitmap, 2, pairs, rng).p
    se = per_placement.std(ddof=1) / math.sqrt(placements)  # placement and draw spread together
    assert abs(per_placement.mean() - truth) <= 4 * se


def test_search_rounds() -> None:
    assert search_rounds(8, "rounds") == [8]
    assert search_rounds(200, "rounds") == [128, 64, 32, 16, 8]
    assert search_rounds(64512, "a1") == [64512]


def test_multi_round_law_keeps_the_last_rounds_give_ups() -> None:
    """200 ports, 3 free: every round can fail; the law still sums to 1 and its busy mass is the
    product of the five rounds' all-busy fractions (spec §4.4: the last round keeps a busy port)."""
    bitmap = np.ones(200, dtype=bool)
    bitmap[[10, 11, 150]] = False
    law = chosen_slot_fractions(bitmap)
    assert sum(law) == 1
    gave_up = sum((law[s] for s in np.flatnonzero(bitmap)), Fraction(0))
    runs = [((np.arange(OFFSETS)[:, None] + np.arange(n)) & 0xFFFF) % 200 for n in
            search_rounds(200, "rounds")]
    all_busy = [Fraction(int(bitmap[r].all(axis=1).sum()), OFFSETS) for r in runs]
    assert gave_up == math.prod(all_busy, start=Fraction(1)) and gave_up > 0
    assert np.allclose(chosen_slot_probabilities(bitmap), [float(x) for x in law], rtol=1e-12)
