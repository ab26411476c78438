"""A window's ports in the Monte Carlo engine: pod-port candidates and uniformly random busy sets
(snatsim.mc.ports; spec §4.4, §8)."""

from __future__ import annotations

from itertools import combinations
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from snatsim.mc.ports import busy_row, pod_candidates


@pytest.mark.parametrize(("lo", "size", "pod_lo", "step", "choices"), [
    (1024, 64_512, 32_768, 2, 14_116),  # P1+: even ports of 32768-60999 in the 1024-65535 window
    (1024, 64_512, 32_768, 1, 28_232),  # P0: every port
    (40_000, 1_000, 32_768, 2, 14_116),  # a --to-ports window inside the pod range
    (30_000, 5_000, 32_768, 2, 14_116),  # the pod range starts inside the window
])
def test_pod_candidates_are_the_pod_ports_inside_the_window(lo: int, size: int, pod_lo: int,
                                                             step: int, choices: int) -> None:
    """Slot ``s`` (port ``lo + s``) is a candidate when ``lo + s = pod_lo + step k``, ``0 <= k <
    choices`` (spec §8)."""
    port = lo + np.arange(size)
    k, rest = np.divmod(port - pod_lo, step)
    expected = (rest == 0) & (k >= 0) & (k < choices)
    dest = SimpleNamespace(lo=lo, size=size, pod_lo=pod_lo, pod_step=step, pod_choices=choices)
    got = pod_candidates(dest)  # type: ignore[arg-type]
    assert got.shape == (size,) and np.array_equal(got, expected)


@pytest.mark.parametrize(("size", "count"), [(6, 2), (6, 3), (6, 5), (7, 4)])
def test_every_busy_set_of_a_tiny_window_is_equally_likely(size: int, count: int) -> None:
    """All C(size, count) sets by exact enumeration, 30 draws expected each: a chi-square test
    (p > 1e-4 with a fixed generator), and exactly ``count`` busy slots every time (sets over
    half the window are drawn through their free slots)."""
    sets = {s: i for i, s in enumerate(combinations(range(size), count))}
    rng = np.random.default_rng(size * 10 + count)
    seen = np.zeros(len(sets))
    for _ in range(30 * len(sets)):
        row = busy_row(rng, size, count)
        assert row.shape == (1, size) and row.sum() == count
        seen[sets[tuple(np.flatnonzero(row[0]))]] += 1
    assert stats.chisquare(seen).pvalue > 1e-4


def test_busy_rows_of_a_wide_window_are_uniform_over_the_slots() -> None:
    """5,768 of 64,512 ports (legacy-rover's occupancy): each slot busy with probability
    count / size, within 4 SE over 400 rows; empty and full windows exactly."""
    rng = np.random.default_rng(1)
    size, count, rows = 64_512, 5_768, 400
    hits = sum(busy_row(rng, size, count)[0].astype(np.int64) for _ in range(rows))
    p = count / size
    per_eighth = hits.reshape(8, -1).sum(axis=1) / (rows * size / 8)
    assert np.all(np.abs(per_eighth - p) <= 4 * np.sqrt(p * (1 - p) / (rows * size / 8)))
    assert abs(hits.mean() / rows - p) < 1e-12
    assert not busy_row(rng, size, 0).any() and busy_row(rng, size, size).all()
    assert busy_row(rng, 70_000, 10).sum() == 10  # beyond u16 slots
