"""Distributions: exact moments vs samples, sampler == sample, and validation of tables."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from snatsim.distributions import (
    Distribution,
    Exponential,
    Fixed,
    Lognormal,
    Uniform,
    as_distribution,
)

N = 200_000

CASES: list[Distribution] = [
    Exponential(mean=1.5),
    Uniform(low=0.5, high=2.0),
    Lognormal(mean=1.0, sigma=0.5),
    Lognormal(mean=0.2, sigma=0.8),
]


def fourth_central_moment(d: Distribution) -> float:
    """Exact E[(X - mean)^4], for the standard error of the sample variance."""
    if isinstance(d, Exponential):
        return 9 * d.mean**4
    if isinstance(d, Uniform):
        return (d.high - d.low) ** 4 / 80
    if isinstance(d, Lognormal):
        s2 = d.sigma**2
        excess = math.exp(4 * s2) + 2 * math.exp(3 * s2) + 3 * math.exp(2 * s2) - 6
        return (excess + 3) * d.variance**2
    return 0.0


@pytest.mark.parametrize("dist", CASES, ids=lambda d: d.describe())
def test_sample_mean_and_variance_match_theory(dist: Distribution) -> None:
    x = dist.sample(np.random.default_rng(20240601), N)
    assert x.shape == (N,)
    assert x.min() >= 0
    se_mean = math.sqrt(dist.variance / N)
    assert abs(x.mean() - dist.mean) <= 4 * se_mean
    mu4 = fourth_central_moment(dist)
    se_var = math.sqrt((mu4 - dist.variance**2 * (N - 3) / (N - 1)) / N)
    assert abs(x.var(ddof=1) - dist.variance) <= 4 * se_var


def test_analytic_moments_by_hand() -> None:
    assert Fixed(value=2.0).mean == 2.0 and Fixed(value=2.0).variance == 0.0
    assert Exponential(mean=3.0).variance == 9.0
    assert Uniform(low=1.0, high=4.0).mean == 2.5
    assert Uniform(low=1.0, high=4.0).variance == pytest.approx(0.75)
    ln = Lognormal(mean=2.0, sigma=0.5)
    assert ln.mu == pytest.approx(math.log(2.0) - 0.125)
    assert ln.variance == pytest.approx((math.exp(0.25) - 1) * 4.0)
    assert Lognormal(mean=2.0, sigma=0.0).variance == 0.0


def test_fixed_samples_constant_and_draws_nothing() -> None:
    rng = np.random.default_rng(1)
    before = rng.bit_generator.state
    d = Fixed(value=2.5)
    assert np.array_equal(d.sample(rng, 4), [2.5] * 4)
    draw = d.sampler(rng)
    assert [draw() for _ in range(3)] == [2.5, 2.5, 2.5]
    assert rng.bit_generator.state == before


@pytest.mark.parametrize("block", [1, 7, 1024])
@pytest.mark.parametrize("dist", CASES, ids=lambda d: d.describe())
def test_sampler_equals_sample_whatever_the_block(dist: Distribution, block: int) -> None:
    n = 2 * 1024 + 5  # spans several refills for every block size
    draw = dist.sampler(np.random.default_rng(99), block=block)
    scalar = np.array([draw() for _ in range(n)])
    vector = dist.sample(np.random.default_rng(99), n)
    assert np.array_equal(scalar, vector)
    assert all(isinstance(draw(), float) for _ in range(3))


@pytest.mark.parametrize("dist", [*CASES, Fixed(value=2.5)], ids=lambda d: d.describe())
def test_scaled_sampler_is_the_sample_times_the_scale(dist: Distribution) -> None:
    draw = dist.sampler(np.random.default_rng(5), block=7, scale=1e-6)
    scalar = [draw() for _ in range(20)]
    vector = dist.sample(np.random.default_rng(5), 20)
    assert scalar == [v * 1e-6 for v in vector.tolist()]  # bit for bit, as Python would scale


def test_sampler_rejects_empty_block() -> None:
    with pytest.raises(ValueError, match="block"):
        Exponential(mean=1.0).sampler(np.random.default_rng(0), block=0)


def test_global_numpy_state_untouched() -> None:
    np.random.seed(123)
    before = np.random.get_state()[1].copy()  # type: ignore[index]
    for dist in CASES:
        dist.sample(np.random.default_rng(0), 100)
        dist.sampler(np.random.default_rng(0))()
    assert np.array_equal(np.random.get_state()[1], before)  # type: ignore[index]


def test_describe() -> None:
    assert Fixed(value=2.0).describe() == "fixed(2)"
    assert Exponential(mean=1.0).describe() == "exponential(mean=1)"
    assert Uniform(low=0.0, high=1.0).describe() == "uniform(low=0, high=1)"
    assert Lognormal(mean=1.0, sigma=0.5).describe() == "lognormal(mean=1, sigma=0.5)"


@pytest.mark.parametrize("value", [2, 2.0, 0])
def test_bare_number_means_fixed(value: float) -> None:
    d = as_distribution(value)
    assert isinstance(d, Fixed) and d.value == value


def test_tables_select_the_model() -> None:
    d = as_distribution({"distribution": "lognormal", "mean": 1.0, "sigma": 0.5})
    assert d == Lognormal(mean=1.0, sigma=0.5)
    assert as_distribution({"distribution": "uniform", "low": 1, "high": 1}).variance == 0.0
    assert as_distribution(Exponential(mean=2.0)) == Exponential(mean=2.0)


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ({"distribution": "gamma", "mean": 1.0}, "gamma"),
        ({"mean": 1.0}, "'distribution' key"),
        ({"distribution": "fixed", "value": -1.0}, "greater than or equal to 0"),
        ({"distribution": "exponential", "mean": 0.0}, "greater than 0"),
        ({"distribution": "lognormal", "mean": 1.0, "sigma": -0.1}, "greater than or equal to 0"),
        ({"distribution": "lognormal", "mean": 1.0}, "sigma"),
        ({"distribution": "uniform", "low": 2.0, "high": 1.0}, "swap"),
        ({"distribution": "fixed", "value": 1.0, "scale": 2.0}, "scale"),
        ({"distribution": "fixed", "value": float("nan")}, "finite"),
        (True, "number or a distribution table"),
        ("fast", "number or a distribution table"),
    ],
)
def test_bad_tables_are_validation_errors(table: object, needle: str) -> None:
    with pytest.raises(ValidationError) as info:
        as_distribution(table)
    assert needle in str(info.value)


def test_models_are_frozen() -> None:
    d = Exponential(mean=1.0)
    with pytest.raises(ValidationError):
        d.mean = 2.0
