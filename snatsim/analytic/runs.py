"""How many distinct ports the A2+ search rounds probe: the law of a union of runs (spec §4.4).

A search of a window of ``size > 128`` ports that gives up has probed five runs of consecutive
ports, 128, 64, 32, 16 and 8 long, each from its own uniform offset (spec §4.4). With ``m`` of the
``size`` ports busy at random, P(every probe busy) is ``E[h(|U|)]`` where ``U`` is the union of the
runs and ``h(u) = prod_{i<u} (m-i)/(size-i)``. Runs overlap often on small windows (the sum of the
pairwise overlap probabilities is ~980 / size), so ``|U|`` is not simply 248.

:func:`run_union_law` gives the law of ``|U|``: exact up to :data:`EXACT_UP_TO` ports (a dynamic
programme over the window's positions), to first order in ``1 / size`` above it (at most one pair
of runs overlaps; the neglected terms are ~(980 / size)^2 / 2: ~1 % of the give-up at 2,048 ports,
nil at 64,512). Offsets are taken uniform over the window slots (the 16-bit offset map's
non-uniformity, < size / 65,536 per slot, is left out).
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import NDArray

EXACT_UP_TO = 1024


def _moves(rest: tuple[int, ...], size: int) -> list[tuple[int, int, int, float]]:
    """(placed set S, S after, longest run started here, weight) for every set of the other runs
    that may start at one position (each with probability 1 / size)."""
    count = len(rest)
    out = []
    for placed in range(1 << count):
        for start in range(1 << count):
            if start & placed:
                continue
            longest = max((rest[i] for i in range(count) if start >> i & 1), default=0)
            out.append((placed, placed | start, longest, float(size) ** -bin(start).count("1")))
    return out


def _step(state: NDArray[np.float64], moves: list[tuple[int, int, int, float]]
          ) -> NDArray[np.float64]:
    """Start runs at one position: ``state[S, c, ...]``, ``c`` the coverage still owed ahead.

    A run of length L starting here owes ``max(c, L)``: rows below L move to row L (cumsum).
    """
    cum = np.cumsum(state, axis=1)
    out = np.zeros_like(state)
    for placed, after, longest, weight in moves:
        if longest == 0:
            out[after] += state[placed]
        else:
            out[after, longest] += weight * cum[placed, longest]
            out[after, longest + 1:] += weight * state[placed, longest + 1:]
    return out


@functools.cache
def _exact_union_law(size: int, lengths: tuple[int, ...]) -> NDArray[np.float64]:
    """Exact law of ``|U|`` by scanning positions 0..size-1 (the first, longest run at 0).

    Runs that start near the end wrap onto positions below the first run's length, already
    covered, so the scan never revisits a position. The first run's positions are covered
    whatever happens: that prefix needs no union-size axis.
    """
    first, rest = lengths[0], lengths[1:]
    moves = _moves(rest, size)
    total = sum(lengths)
    owed = np.zeros((1 << len(rest), first + 1))
    owed[0, first] = 1.0
    for _ in range(first):  # every position covered; owed coverage shrinks by one
        owed = _step(owed[:, :, None], moves)[:, :, 0]
        owed = np.concatenate((owed[:, 1:], np.zeros((owed.shape[0], 1))), axis=1)
    longest_rest = max(rest, default=0)
    # from here on: state[S, owed c <= longest_rest, covered beyond the first run v]
    state = np.zeros((1 << len(rest), longest_rest + 1, total - first + 1))
    state[:, :, 0] = owed[:, : longest_rest + 1]
    for _ in range(first, size):
        pre = _step(state, moves)
        state = np.zeros_like(pre)
        state[:, 0] = pre[:, 0]
        state[:, :-1, 1:] += pre[:, 1:, :-1]
    law = np.zeros(total + 1)
    law[first:] = state[-1].sum(axis=0)
    return law


def _first_order_union_law(size: int, lengths: tuple[int, ...]) -> NDArray[np.float64]:
    """``|U| = sum - o`` when exactly one pair overlaps by ``o`` (2 offsets give each o below the
    shorter length, ``|La - Lb| + 1`` give the full one), else the sum."""
    total = sum(lengths)
    law = np.zeros(total + 1)
    for i, a in enumerate(lengths):
        for b in lengths[i + 1:]:
            short = min(a, b)
            for o in range(1, short + 1):
                law[total - o] += (2 if o < short else abs(a - b) + 1) / size
    law[total] = 1.0 - law.sum()
    return law


def run_union_law(size: int, lengths: tuple[int, ...]) -> NDArray[np.float64]:
    """Law of the number of distinct window slots covered by runs of ``lengths`` (longest first)
    with independent uniform starts on a ``size``-slot cycle: index u -> P(|U| = u)."""
    if not lengths or lengths[0] != max(lengths) or size < lengths[0]:
        raise ValueError(f"need runs longest first, none longer than the window: {lengths}, {size}")
    if size <= EXACT_UP_TO:
        return _exact_union_law(size, tuple(lengths))
    return _first_order_union_law(size, tuple(lengths))
