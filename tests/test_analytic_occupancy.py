"""snatsim.analytic.occupancy: Erlang-style exhaustion, against enumeration, mc and a simulation."""

from __future__ import annotations

import heapq
import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from snatsim.analytic.occupancy import (
    _distinct_probed,
    carried_ports,
    erlang_b,
    exhaustion_probability,
    give_up_probability,
    occupancy_distribution,
    offered_ports,
)
from snatsim.analytic.probing import Search, chosen_slot_fractions
from snatsim.mc.alloc import search_rounds


def _erlang_recursion(size: int, offered: Fraction | float) -> Fraction | float:
    """The textbook recursion B(0) = 1, B(n) = a B(n-1) / (n + a B(n-1))."""
    b: Fraction | float = 1
    for n in range(1, size + 1):
        b = offered * b / (n + offered * b)
    return b


@pytest.mark.parametrize(("size", "offered"), [(1, Fraction(1, 2)), (4, Fraction(3)),
                                               (12, Fraction(25, 2)), (8, Fraction(0))])
def test_erlang_b_equals_the_exact_recursion(size: int, offered: Fraction) -> None:
    assert erlang_b(size, float(offered)) == pytest.approx(
        float(_erlang_recursion(size, offered)), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("offered", [30_000.0, 60_000.0, 64_512.0, 70_000.0])
def test_erlang_b_is_stable_for_64k_ports(offered: float) -> None:
    """Log space: no overflow at 64,512 ports; the float recursion agrees."""
    assert erlang_b(64512, offered) == pytest.approx(
        float(_erlang_recursion(64512, offered)), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("size", [5, 12, 200, 1000])
def test_distinct_probed_equals_brute_force(size: int) -> None:
    """The interval form of the 16-bit wrap (spec §4.4) against every offset probed by hand."""
    for attempts in {min(size, 128), min(size, 8)}:
        brute = [len({((o + i) & 0xFFFF) % size for i in range(attempts)})
                 for o in range(65536 - attempts - 2, 65536)]
        assert _distinct_probed(size, attempts)[-attempts - 2:].tolist() == brute


@pytest.mark.parametrize(("size", "search", "busy"), [
    (5, "rounds", (1, 2, 3, 4, 5)), (7, "a1", (4, 5, 6)), (8, "a1", (6, 7, 8)),
    (12, "rounds", (9, 11)),  # 65,536 = 5,461 x 12 + 4: a wrapping run can miss 4 free ports
])
def test_one_round_give_up_equals_enumeration(size: int, search: Search,
                                              busy: tuple[int, ...]) -> None:
    """Every placement of m busy ports, the exact slot law (kernel-checked in test_analytic_probing):
    the give-up mass on busy slots, averaged, is g(m). The 16-bit wrap makes g(m) > 0 while a run
    shorter than the window exists."""
    g = give_up_probability(size, search)
    for m in busy:
        places = list(itertools.combinations(range(size), m))
        total = Fraction(0)
        for chosen in places:
            law = chosen_slot_fractions([s in chosen for s in range(size)], search)
            total += sum((law[s] for s in chosen), Fraction(0))
        assert g[m] == pytest.approx(float(total / len(places)), rel=1e-12, abs=1e-300)
    probes = np.sort(((np.arange(65536)[:, None] + np.arange(size)) & 0xFFFF) % size, axis=1)
    shortest = int((1 + (np.diff(probes, axis=1) != 0).sum(axis=1)).min())
    assert g[:shortest].max() == 0.0 and g[shortest] > 0


def _balance(size: int, offered: float, g: np.ndarray) -> np.ndarray:
    """Stationary law of the birth-death chain solved from its generator (no product form)."""
    q = np.zeros((size + 1, size + 1))
    for m in range(size):
        q[m, m + 1] = offered * (1 - g[m])  # hold time 1: rate offered, deaths m
        q[m + 1, m] = m + 1
    np.fill_diagonal(q, -q.sum(axis=1))
    a = np.vstack([q.T, np.ones(size + 1)])
    rhs = np.zeros(size + 2)
    rhs[-1] = 1
    pi, *_ = np.linalg.lstsq(a, rhs, rcond=None)
    return pi


@pytest.mark.parametrize(("size", "offered", "search"), [(6, 4.0, None), (12, 11.0, "a1"),
                                                         (200, 190.0, "rounds")])
def test_occupancy_equals_the_balance_equations(size: int, offered: float,
                                                search: Search | None) -> None:
    g = np.zeros(size + 1) if search is None else give_up_probability(size, search)
    g[-1] = 1.0
    pi = occupancy_distribution(size, offered, search)
    assert np.allclose(pi, _balance(size, offered, g), rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize(("size", "busy"), [(200, 198), (300, 296), (2048, 2030), (64512, 64300)])
def test_a2_give_up_agrees_with_mc(size: int, busy: int) -> None:
    """Busy ports at random: the 248-probe give-up sampled by mc (4 SE over placements). 200 and
    300 ports: the exact run-union law (runs overlap a lot there); 2,048 and 64,512: first order."""
    truth = give_up_probability(size)[busy]
    est = _mc_give_up(size, busy, placements=30, searches=4000)
    assert abs(est.mean() - truth) <= 4 * est.std(ddof=1) / math.sqrt(est.size)
    assert truth > 0.01


def _mc_give_up(size: int, busy: int, placements: int, searches: int) -> np.ndarray:
    rng = np.random.default_rng(size)
    out = np.empty(placements)
    for i in range(placements):
        bitmap = np.zeros((1, size), dtype=bool)
        bitmap[0, rng.choice(size, busy, replace=False)] = True
        offsets = rng.integers(0, 1 << 16, size=(searches, 5), dtype=np.uint16)
        out[i] = search_rounds(bitmap, offsets).gave_up.mean()
    return out


@pytest.mark.parametrize(("size", "offered", "search"), [(20, 15.0, "a1"), (200, 196.0, "rounds")])
def test_loss_agrees_with_a_simulation_with_fixed_holds(size: int, offered: float,
                                                        search: Search) -> None:
    """Poisson arrivals, *constant* holds (insensitivity), a search that gives up with g(m):
    the blocked fraction within 4 SE (batch means)."""
    g = give_up_probability(size, search)
    g[-1] = 1.0
    rng = np.random.default_rng(3)
    n, batches = 200_000, 40
    gaps = rng.exponential(1.0 / offered, n)  # hold = 1 s, rate = offered / s
    coins = rng.random(n)
    ends: list[float] = []
    now = 0.0
    blocked = np.zeros(n, dtype=bool)
    for i in range(n):
        now += gaps[i]
        while ends and ends[0] <= now:
            heapq.heappop(ends)
        if coins[i] < g[len(ends)]:
            blocked[i] = True
        else:
            heapq.heappush(ends, now + 1.0)
    means = blocked[n // 10:].reshape(batches, -1).mean(axis=1)  # 10 % warm-up, 40 batches
    truth = exhaustion_probability(size, offered, search)
    assert abs(means.mean() - truth) <= 4 * means.std(ddof=1) / math.sqrt(batches)


def test_little_and_carried() -> None:
    assert offered_ports(300.0, 120.5) == pytest.approx(36150.0)
    assert carried_ports(64512, 1000.0) == pytest.approx(1000.0, rel=1e-12)
    assert carried_ports(10, 50.0, "a1") < 10


def test_a2_exhausts_long_before_erlang() -> None:
    """At 97.7 % offered occupancy the 248-probe cap loses ~0.2 %; the whole-window A1 ~1e-11."""
    a2 = exhaustion_probability(64512, 63000.0, "rounds")
    a1 = exhaustion_probability(64512, 63000.0, "a1")
    assert 1e-3 < a2 < 1e-2
    assert a1 == pytest.approx(erlang_b(64512, 63000.0), rel=1e-2)
    assert a1 < 1e-10
