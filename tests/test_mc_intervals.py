"""The Monte Carlo estimate's 95 % intervals cover what they claim to (snatsim.estimates; issue #9).

At the floor of :data:`~snatsim.mc.engine.MIN_BLOCKS` blocks per stream (``trials=1``: 8 blocks
of the smallest size, 8 batch-means groups, a t quantile of 2.36), ``SEEDS`` estimates each give
an interval on the >= 1 s delayed fraction; the truth is the same engine's estimate with 2^23
trials (its own half-width under 5 % of the figure, ~2.7 % on legacy-rover: an order of magnitude
below the floor's ~40 %, so its error moves few intervals' verdicts). The share of
intervals that hold the truth is a binomial count: it must be within 4 standard errors of 0.95.
Their half-widths must match the spread of the estimates themselves (so they are neither too
narrow nor padded): the mean half-width over 1.96 standard deviations of the estimates lies in
[0.8, 1.6] (the t quantile and the spread's own noise make it ~1.2).

Cases: ``configs/legacy-rover.toml``, three streams (two Poisson destinations and the aligned
ticks that make nearly all of the delayed connects: with fewer blocks than groups, the ticks
once got a 6.4e-8 wide interval on 0.0013); ``configs/default.toml``, one Poisson destination.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import snatsim

SEEDS = 300


@pytest.mark.slow
@pytest.mark.parametrize("config", ["legacy-rover", "default"])
def test_intervals_at_the_floor_cover_the_truth_95_percent_of_the_time(config: str) -> None:
    scenario = snatsim.load_scenario(f"configs/{config}.toml")
    ref = snatsim.estimate(scenario, rng=10**6, trials=1 << 23).summary()
    truth = ref["delayed_fraction"]["ge_1s"]
    lo, hi = ref["delayed_fraction_ci95"]["ge_1s"]
    assert (hi - lo) / 2 < 0.05 * truth
    estimates, halves, hits = [], [], 0
    for seed in range(SEEDS):
        s = snatsim.estimate(scenario, rng=seed, trials=1).summary()
        est = s["delayed_fraction"]["ge_1s"]
        lo, hi = s["delayed_fraction_ci95"]["ge_1s"]
        estimates.append(est)
        halves.append((hi - lo) / 2)
        hits += lo <= truth <= hi
    assert s["trials"] < 20_000  # the floor, not more
    coverage = hits / SEEDS
    assert abs(coverage - 0.95) <= 4 * math.sqrt(0.95 * 0.05 / SEEDS), coverage
    ratio = float(np.mean(halves)) / (1.96 * float(np.std(estimates, ddof=1)))
    assert 0.8 <= ratio <= 1.6, ratio
