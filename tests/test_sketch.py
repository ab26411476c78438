"""The latency quantile sketch against numpy: within its documented relative error, bounded size."""

from __future__ import annotations

import numpy as np
import pytest

from snatsim.sketch import REL_ERROR, QuantileSketch

QS = [0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0]
BOUND = REL_ERROR * (1 + 1e-9)  # the documented error, plus floating-point rounding


def sketch_of(values: np.ndarray) -> QuantileSketch:
    sketch = QuantileSketch()
    for x in values.tolist():
        sketch.add(x)
    return sketch


def samples(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Latency-like data: smooth, heavy-tailed, discrete retransmit steps, with zeros."""
    if kind == "lognormal":
        return rng.lognormal(-6.0, 1.5, n)
    if kind == "retransmits":  # an RTT of ~2 ms, plus 1, 3, 7 s for lost SYNs
        base = 0.002 + rng.exponential(1e-5, n)
        return base + rng.choice([0.0, 1.0, 3.0, 7.0], size=n, p=[0.9, 0.06, 0.03, 0.01])
    if kind == "with-zeros":
        x = rng.exponential(1.0, n)
        x[rng.random(n) < 0.2] = 0.0
        return x
    assert kind == "wide"  # 1 µs to 1,000 s
    return 10 ** rng.uniform(-6, 3, n)


@pytest.mark.parametrize("kind", ["lognormal", "retransmits", "with-zeros", "wide"])
@pytest.mark.parametrize("n", [1, 2, 3, 10, 1001, 50_000])
def test_quantiles_are_within_the_documented_relative_error_of_numpy(kind: str, n: int) -> None:
    rng = np.random.default_rng([n, len(kind)])
    values = samples(kind, n, rng)
    got = sketch_of(values).quantiles(QS)
    want = np.quantile(values, QS)  # numpy's default: linear interpolation
    for q, g, w in zip(QS, got, want, strict=True):
        assert abs(g - w) <= BOUND * abs(w), (q, g, w)


def test_the_error_bound_is_nearly_reached_so_the_test_above_is_not_vacuous() -> None:
    """A sketch that represented a bucket by its upper edge (2 α off) or kept exact values would
    not show errors near α: on smooth data the worst error is between α/2 and α."""
    values = samples("lognormal", 50_000, np.random.default_rng(1))
    qs = np.linspace(0.01, 0.99, 99)
    got = np.array(sketch_of(values).quantiles(qs.tolist()))
    worst = np.max(np.abs(got - np.quantile(values, qs)) / np.quantile(values, qs))
    assert REL_ERROR / 2 < worst <= BOUND


def test_min_max_and_count_are_exact() -> None:
    values = samples("wide", 1000, np.random.default_rng(2))
    sketch = sketch_of(values)
    assert sketch.count == 1000
    assert sketch.quantile(0.0) == sketch.min == values.min()
    assert sketch.quantile(1.0) == sketch.max == values.max()


def test_memory_depends_on_the_range_not_on_the_number_of_values() -> None:
    """Buckets: at most log(max/min) / log γ + 1, whatever the count (1 ms to 10 s: ~4,600)."""
    rng = np.random.default_rng(3)
    sketch = QuantileSketch()
    for x in (10 ** rng.uniform(-3, 1, 200_000)).tolist():
        sketch.add(x)
    limit = np.log(1e4) / np.log(sketch.gamma) + 1
    assert len(sketch.buckets) <= limit
    assert len(sketch.buckets) > 0.9 * limit  # guard: the data does span the range


def test_bad_input_is_refused_with_the_reason() -> None:
    sketch = QuantileSketch()
    with pytest.raises(ValueError, match="no values"):
        sketch.quantile(0.5)
    with pytest.raises(ValueError, match=">= 0"):
        sketch.add(-1.0)
    sketch.add(1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        sketch.quantile(1.5)
    with pytest.raises(ValueError, match="rel_error"):
        QuantileSketch(0.0)
