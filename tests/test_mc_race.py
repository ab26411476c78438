"""snatsim.mc.race: k concurrent searches against the closed form and exact enumeration."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from snatsim.analytic.collision import pair_collision_probability
from snatsim.mc.alloc import search_rounds
from snatsim.mc.race import any_clash, estimate_race


@pytest.mark.parametrize("rover", [False, True])
@pytest.mark.parametrize("size", [100, 1000])
def test_pair_on_empty_window_matches_closed_form(size: int, rover: bool) -> None:
    """k=2, empty window: P(clash) = pair_collision_probability(size) (spec §4.4), within 4 SE."""
    est = estimate_race(np.zeros((1, size), dtype=bool), 2, 400_000,
                        np.random.default_rng(size + rover), rover=rover)
    truth = float(pair_collision_probability(size))
    assert est.clashes > 0 and est.gave_up == 0
    assert abs(est.p - truth) <= 4 * math.sqrt(truth * (1 - truth) / est.trials)


def _exact_clash(weights: list[Fraction], k: int) -> Fraction:
    """1 - P(k independent draws from ``weights`` are all distinct) = 1 - k! e_k(weights)."""
    distinct = sum((math.prod(c) for c in itertools.combinations(weights, k)), Fraction(0))
    return 1 - math.factorial(k) * distinct


@pytest.mark.parametrize("k", [2, 3])
def test_tiny_window_matches_enumeration(k: int) -> None:
    """Size 5 with slots 1, 3 busy: the slot law is enumerated over all 65,536 offsets."""
    busy = np.zeros((1, 5), dtype=bool)
    busy[0, [1, 3]] = True
    every = search_rounds(busy, np.arange(1 << 16, dtype=np.uint16).reshape(-1, 1))
    counts = np.bincount(every.slot, minlength=5)
    assert counts[1] == counts[3] == 0  # free ports exist: a busy one is never chosen
    weights = [Fraction(int(c), 1 << 16) for c in counts]
    truth = float(_exact_clash(weights, k))
    est = estimate_race(busy, k, 200_000, np.random.default_rng(k))
    assert abs(est.p - truth) <= 4 * math.sqrt(truth * (1 - truth) / est.trials)


def test_any_clash_equals_pairwise_comparison() -> None:
    slots = np.random.default_rng(0).integers(0, 12, size=(2000, 4))
    expected = [len(set(row)) < len(row) for row in slots.tolist()]
    assert any_clash(slots).tolist() == expected


@pytest.mark.parametrize("chunk", [997, 4096, 1 << 16])
def test_same_seed_same_result_for_any_chunk(chunk: int) -> None:
    busy = np.random.default_rng(1).random((1, 200)) < 0.5
    est = estimate_race(busy, 3, 20_000, np.random.default_rng(7), chunk=chunk)
    ref = estimate_race(busy, 3, 20_000, np.random.default_rng(7), chunk=20_000)
    assert est == ref


def test_race_needs_two() -> None:
    with pytest.raises(ValueError, match="k >= 2"):
        estimate_race(np.zeros((1, 8), dtype=bool), 1, 10, np.random.default_rng(0))
