"""snatsim.mc.window: the race term averaged over the leader's NAT -> confirm time.

The quadrature against scipy's adaptive integration, the grid against the quadrature, and the
averaged term against the mean of the drawn one it replaced (4 SE, fixed seed).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from snatsim.distributions import Distribution, Exponential, Fixed, Lognormal, Uniform
from snatsim.mc.engine import nat_to_confirm_s
from snatsim.mc.window import FIRST_STEPS, RaceOdds, race_given_rate, unconfirmed_share

DISTRIBUTIONS = {
    "fixed": Fixed(value=2.0),
    "exponential": Exponential(mean=3.0),
    "uniform": Uniform(low=0.5, high=40.0),
    "lognormal-0.5": Lognormal(mean=1.0, sigma=0.5),
    "lognormal-1.5": Lognormal(mean=100.0, sigma=1.5),
    "lognormal-2.5": Lognormal(mean=10.0, sigma=2.5),
    "lognormal-4": Lognormal(mean=5.0, sigma=4.0),
}


def _adaptive(dist: Distribution, c: float) -> float:
    """E[1 - exp(-c delta)] by scipy.integrate.quad (delta in seconds)."""
    if isinstance(dist, Fixed):
        return -math.expm1(-c * dist.value * 1e-6)
    if isinstance(dist, Exponential):  # over u = delta / mean: the integrand's own scale
        scale = dist.mean * 1e-6
        return integrate.quad(lambda u: -math.expm1(-c * scale * u) * math.exp(-u), 0, math.inf,
                              epsabs=0, epsrel=1e-12, limit=400)[0]
    if isinstance(dist, Uniform):
        lo, hi = dist.low * 1e-6, dist.high * 1e-6
        return integrate.quad(lambda x: -math.expm1(-c * x), lo, hi, epsabs=0, epsrel=1e-12,
                              limit=400)[0] / (hi - lo)
    else:
        assert isinstance(dist, Lognormal)
        # over the normal z: -expm1(-c exp(mu + sigma z)) phi(z), split where c delta = 1
        mu = dist.mu + math.log(1e-6)
        knee = (-math.log(c) - mu) / dist.sigma
        f = lambda z: -math.expm1(-c * math.exp(mu + dist.sigma * z)) * stats.norm.pdf(z)  # noqa: E731
        return sum(integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-12, limit=400)[0]
                   for lo, hi in ((-40, knee), (knee, 40)))


@pytest.mark.parametrize("name", DISTRIBUTIONS)
@pytest.mark.parametrize("c_mean", [1e-6, 1e-2, 1.0, 100.0])
def test_quadrature_equals_adaptive_integration(name: str, c_mean: float) -> None:
    dist = DISTRIBUTIONS[name]
    c = c_mean / (dist.mean * 1e-6)  # c E[delta] = c_mean
    got = float(unconfirmed_share(dist, np.array([c]))[0])
    assert got == pytest.approx(_adaptive(dist, c), rel=2e-8)


@pytest.mark.parametrize("name", DISTRIBUTIONS)
@pytest.mark.parametrize("c_max_mean", [1e-4, 0.3, 20.0])
def test_grid_reads_the_quadrature_within_1e_6(name: str, c_max_mean: float) -> None:
    dist = DISTRIBUTIONS[name]
    c_max = c_max_mean / (2.0 * dist.mean * 1e-6)  # c_max E[delta + m]
    odds = RaceOdds(dist, c_max)
    if name in ("fixed", "exponential", "uniform", "lognormal-0.5"):
        assert not odds.octaves
    if c_max_mean < 1.0 and name == "lognormal-0.5":  # the default window: the first grid
        assert odds.table.size == FIRST_STEPS + 2
    if name == "lognormal-4":  # the heavy tail bends G near 0 beyond any uniform grid
        assert odds.octaves
    rng = np.random.default_rng(5)
    c = np.concatenate([[0.0, c_max, odds.step, 0.5 * odds.step],
                        c_max * rng.random(2000), c_max * 10.0 ** rng.uniform(-9, 0, 2000)])
    exact = race_given_rate(dist, c)
    got = odds(c.copy())
    assert got[0] == 0.0
    np.testing.assert_allclose(got[1:], exact[1:], rtol=1e-6, atol=0)


def test_small_rates_are_linear_in_the_mean_window() -> None:
    # g(c) = c E[delta + m] for c -> 0: no cancellation in 1 - E[exp(-c D)]
    dist = DISTRIBUTIONS["lognormal-0.5"]
    c = np.array([1e-3, 1e-1])
    np.testing.assert_allclose(race_given_rate(dist, c), c * 2e-6, rtol=1e-5)


@pytest.mark.parametrize("name", ["fixed", "exponential", "uniform", "lognormal-0.5",
                                  "lognormal-1.5"])
def test_averaged_term_is_the_mean_of_the_drawn_one(name: str) -> None:
    # what the engine drew until 2026-12-06: 1 - exp(-c (delta + m)) with delta drawn
    dist = DISTRIBUTIONS[name]
    m = dist.mean * 1e-6
    c = 0.8 / m  # c E[D] = 1.6: the exponential's curvature shows
    delta = nat_to_confirm_s(dist, np.random.default_rng(11), 400_000)
    drawn = -np.expm1(-c * (delta + m))
    se = drawn.std(ddof=1) / math.sqrt(drawn.size)
    exact = float(race_given_rate(dist, np.array([c]))[0])
    assert abs(drawn.mean() - exact) <= 4 * se + 1e-6 * exact  # float32 draws: ~1e-6 relative
    assert se > 0 or name == "fixed"


def test_a_plan_builds_each_race_grid_once_for_all_its_samplers() -> None:
    """Both destinations of legacy-rover race at the same rate: one grid, shared (and again by a
    later rel_error round's samplers); another c_max gets its own, built for that c_max."""
    import snatsim
    from snatsim.mc.engine import DestinationSampler
    from snatsim.mc.steady import plan

    steady = plan(snatsim.load_scenario("configs/legacy-rover.toml"))
    first, second = DestinationSampler(steady, 0), DestinationSampler(steady, 1)
    assert first.race_c_max == second.race_c_max
    assert first.race_odds is second.race_odds is DestinationSampler(steady, 0).race_odds
    other = steady.race_odds(2 * first.race_c_max)
    assert other is not first.race_odds and other.c_max == 2 * first.race_c_max
