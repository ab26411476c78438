"""snatsim.mc.alloc.slot_law: the exact law of a search's slot, and the race term built on it;
search_table: the search read from the distance to the next free port, field by field the search.

The engine no longer searches for a leader's race partners: it reads the chance that one partner
takes the leader's port from this law (spec §3.2, §4.4, §6.2). It is held against the analytic
module's per-offset enumeration (no eviction), against :func:`search_rounds` run from every one of
the 65,536 offsets (eviction, one round), and against partners actually drawn by the engine.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import snatsim
from snatsim.analytic.probing import chosen_slot_probabilities
from snatsim.mc import engine
from snatsim.mc.alloc import (
    free_distance,
    free_virtual,
    max_rounds,
    search_rounds,
    search_rover,
    search_table,
    slot_law,
)
from snatsim.mc.steady import plan

OFFSETS = 1 << 16


@pytest.mark.parametrize("size", [1, 2, 5, 128, 129, 1000, 30000, 64512, 65535])
@pytest.mark.parametrize("density", [0.0, 0.3, 0.97, 1.0])
@pytest.mark.parametrize("a1", [False, True])
def test_equals_the_analytic_enumeration(size: int, density: float, a1: bool) -> None:
    busy = np.random.default_rng(size).random(size) < density
    got = slot_law(busy, a1=a1)
    ref = chosen_slot_probabilities(busy, "a1" if a1 else "rounds")
    assert np.allclose(got, ref, rtol=1e-12, atol=1e-18)
    assert math.isclose(got.sum(), 1.0, rel_tol=1e-12)


@pytest.mark.parametrize("size", [1, 7, 100, 128])
@pytest.mark.parametrize("density", [0.3, 0.9, 1.0])
def test_eviction_equals_a_search_from_every_offset(size: int, density: float) -> None:
    rng = np.random.default_rng(size)
    busy = rng.random(size) < density
    evictable = busy & (rng.random(size) < 0.5)
    res = search_rounds(busy[None, :], np.arange(OFFSETS, dtype=np.uint16)[:, None],
                        evictable=evictable[None, :])  # <= 128 ports: one round
    ref = np.bincount(res.slot.astype(np.int64), minlength=size) / OFFSETS
    assert np.allclose(slot_law(busy, a1=False, evictable=evictable), ref, rtol=1e-12, atol=0)


def test_eviction_over_several_rounds_agrees_with_sampled_searches() -> None:
    rng = np.random.default_rng(3)
    size, n = 300, 400_000  # 300 ports: rounds of 128, 64, 32, 16, 8
    busy = np.ones(size, dtype=bool)
    busy[[40, 250]] = False  # two free ports ...
    evictable = np.zeros(size, dtype=bool)
    evictable[[100, 180]] = True  # ... and two evictable ones: many first rounds fail
    law = slot_law(busy, a1=False, evictable=evictable)
    offsets = rng.integers(0, OFFSETS, size=(n, 5), dtype=np.uint16)
    res = search_rounds(busy[None, :], offsets, evictable=evictable[None, :])
    freq = np.bincount(res.slot.astype(np.int64), minlength=size) / n
    se = np.sqrt(law * (1 - law) / n)
    assert (res.rounds > 1).mean() > 0.05  # later rounds do take part
    assert np.all(np.abs(freq - law) <= 4 * se + 1e-12)
    assert math.isclose(law.sum(), 1.0, rel_tol=1e-12)


@pytest.mark.parametrize("overrides", [
    ["nat.random_fully=true", "nat.to_ports=\"20000-20999\"", "workload.0.rate_per_s=5"],  # A2, no pod ports
    ['kernel.version="4.19"', "nat.random_fully=true"],  # A1 --random-fully
    ['kernel.version="4.19"'],  # A1 rover: a searching partner takes the rover's port
    [],  # 6.1 with port preservation: kept pod ports clash too
])
def test_clash_odds_are_what_partners_drawn_by_the_engine_take(overrides: list[str]) -> None:
    sc = snatsim.load_scenario("configs/default.toml", overrides)
    ds = engine.DestinationSampler(plan(sc), 0)
    rng = np.random.default_rng(8)
    d, n = ds.dest, 200_000
    busy = np.zeros((1, d.size), dtype=bool)
    busy[0, rng.choice(d.size, d.size // 2, replace=False)] = True
    held_p = 0.6 if d.preserve else 1.0
    leader, *_, rover = ds._take_ports(rng, busy, None, held_p, (64,))
    q = ds._clash_odds(busy, None, held_p, leader, rover)
    partner, searched, *_ = ds._take_ports(rng, busy, None, held_p, (n,))
    if ds.shared_start:  # the rover points at the leader's search slot
        partner = np.broadcast_to(np.where(searched, rover[:, None], partner), (64, n))
    freq = (partner == leader[:, None]).mean(axis=1)
    assert q.max() > 0
    assert np.all(np.abs(freq - q) <= 4 * np.sqrt(q * (1 - q) / n) + 1e-12)


@pytest.mark.parametrize("size", [1, 2, 5, 128, 200, 1000, 64512, 65535])
@pytest.mark.parametrize("density", [0.0, 0.5, 0.97, 0.999, 1.0])
@pytest.mark.parametrize("a1", [False, True])
def test_table_search_equals_the_search_field_by_field(size: int, density: float,
                                                      a1: bool) -> None:
    rng = np.random.default_rng(size)
    busy = (rng.random(size) < density)[None, :]
    offsets = rng.integers(0, OFFSETS, size=(3000, 1 if a1 else max_rounds(size)),
                           dtype=np.uint16)
    ref = search_rover(busy, offsets[:, 0]) if a1 else search_rounds(busy, offsets)
    got = search_table(busy, offsets, free_distance(free_virtual(busy)[0]), a1=a1)
    for name in ("slot", "probes", "busy_probes", "found", "rounds", "gave_up", "offset"):
        want, have = getattr(ref, name), getattr(got, name)
        assert have.dtype == want.dtype and np.array_equal(have, want), name


def test_free_distance_is_the_walk_to_the_next_free_port() -> None:
    busy = np.zeros(70_000 - OFFSETS + 3, dtype=bool)  # 3,467 ports: 18.9 laps of the circle
    busy[[0, 1, 2, 3466]] = True
    dist = free_distance(free_virtual(busy)[0])
    virtual = busy[np.arange(OFFSETS) % busy.size]
    walk = [next(i for i in range(8) if not virtual[(o + i) % OFFSETS]) for o in range(OFFSETS)]
    assert np.array_equal(dist, walk)
    assert np.all(free_distance(free_virtual(np.ones(9, dtype=bool))[0]) == OFFSETS)
