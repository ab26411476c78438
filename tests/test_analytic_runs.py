"""snatsim.analytic.runs: the number of distinct slots the A2+ rounds cover, against enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from snatsim.analytic.runs import (
    _exact_union_law,
    _first_order_union_law,
    run_union_law,
)


def _enumerated(size: int, lengths: tuple[int, ...]) -> np.ndarray:
    """Every start of every run but the first (fixed at 0 by rotation), covered slots counted."""
    law = np.zeros(sum(lengths) + 1)
    for starts in itertools.product(range(size), repeat=len(lengths) - 1):
        covered = set(range(lengths[0]))
        for start, n in zip(starts, lengths[1:], strict=True):
            covered |= {(start + i) % size for i in range(n)}
        law[len(covered)] += 1
    return law / size ** (len(lengths) - 1)


@pytest.mark.parametrize(("size", "lengths"), [(14, (6, 3, 2)), (9, (5, 4, 2, 1)), (20, (8, 8, 3)),
                                               (7, (7,)), (12, (5, 5, 5)), (16, (8, 4, 2, 1))])
def test_exact_law_equals_enumeration(size: int, lengths: tuple[int, ...]) -> None:
    assert np.allclose(_exact_union_law(size, lengths), _enumerated(size, lengths),
                       rtol=0, atol=1e-13)


@pytest.mark.parametrize("size", [200, 400, 800])
def test_first_order_error_is_second_order(size: int) -> None:
    """Total variation to the exact law <= (sum of pairwise overlap chances)^2."""
    lengths = (16, 8, 4, 2, 1)
    pairs = sum(a + b for i, a in enumerate(lengths) for b in lengths[i + 1:]) / size
    tv = np.abs(_exact_union_law(size, lengths) - _first_order_union_law(size, lengths)).sum() / 2
    assert 0 < tv <= pairs**2


def test_default_rounds_on_the_default_window() -> None:
    """64,512 ports: the five runs are disjoint (248 slots) with probability ~1 - 982/64,512."""
    law = run_union_law(64512, (128, 64, 32, 16, 8))
    assert law.sum() == pytest.approx(1.0, abs=1e-12)
    assert law[248] == pytest.approx(1 - 982 / 64512, rel=1e-12)


def test_longest_run_first() -> None:
    with pytest.raises(ValueError, match="longest first"):
        run_union_law(300, (64, 128))
