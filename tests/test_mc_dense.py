"""The dense search (snatsim.mc.dense) equals snatsim.mc.alloc's on the same bitmaps and draws
(spec §4.4, §5.3): chosen slot, give-up, found and, for A1, the new rover."""

from __future__ import annotations

import numpy as np
import pytest

from snatsim.mc.alloc import max_rounds, search_rounds, search_rover
from snatsim.mc.dense import dense_rounds, dense_rover


def _bitmaps(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Rows from empty to full: each row's busy share uniform in [0, 1], some rows full."""
    share = rng.random(n)
    share[::7] = 1.0
    return rng.random((n, size)) < share[:, None]


@pytest.mark.parametrize("size", [1, 5, 64, 128, 129, 256, 300, 1000, 4096])
@pytest.mark.parametrize("evict", [False, True])
def test_dense_rounds_equal_search_rounds(size: int, evict: bool) -> None:
    rng = np.random.default_rng(size)
    n = 400
    busy = _bitmaps(rng, n, size)
    evictable = busy & (rng.random((n, size)) < 0.005) if evict else None
    offsets = rng.integers(0, 1 << 16, size=(n, max_rounds(size)), dtype=np.uint16)
    ref = search_rounds(busy, offsets[:, None, :], evictable=evictable)
    got = dense_rounds(busy, offsets, evictable)
    np.testing.assert_array_equal(got.slot, ref.slot[:, 0])
    np.testing.assert_array_equal(got.gave_up, ref.gave_up[:, 0])
    np.testing.assert_array_equal(got.found, ref.found[:, 0])
    assert got.gave_up.any() and (~got.gave_up).any()  # both outcomes are compared


@pytest.mark.parametrize("size", [1, 2, 5, 256, 1000])
def test_dense_rover_equals_search_rover(size: int) -> None:
    rng = np.random.default_rng(size)
    n = 300
    busy = _bitmaps(rng, n, size)
    start = rng.integers(0, 1 << 16, size=n, dtype=np.uint16)
    ref = search_rover(busy, start[:, None])
    got = dense_rover(busy, start)
    np.testing.assert_array_equal(got.slot, ref.slot[:, 0])
    np.testing.assert_array_equal(got.gave_up, ref.gave_up[:, 0])
    np.testing.assert_array_equal(got.found, ref.found[:, 0])
    np.testing.assert_array_equal(got.offset, ref.offset[:, 0])
