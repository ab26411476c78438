"""Race of k concurrent SNAT allocations inside one NAT->confirm window (spec §3.2, §4.4, §6.1).

k new flows (SYNs on different CPUs) to the same destination search while none of them is
confirmed: each sees the same confirmed occupancy but not the others (spec §3.2). Two of them that
choose the same port clash at confirm (spec §6.1). Eviction (A3+) is not modelled here: one search
evicting an entry would change what the others see, so the allocations would not be independent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from snatsim.mc.alloc import max_rounds, search_rounds, search_rover


def any_clash(slots: NDArray[np.integer]) -> NDArray[np.bool_]:
    """Per trial (row of ``slots``, shape (trials, k)): did two allocations choose the same port?"""
    ordered = np.sort(slots, axis=1)
    out: NDArray[np.bool_] = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
    return out


@dataclass(frozen=True)
class RaceEstimate:
    """P(at least one clash among k) with its binomial standard error, over ``trials``."""

    p: float
    se: float
    trials: int
    clashes: int
    gave_up: int  # allocations that returned a port already busy (they clash with it at confirm)


def estimate_race(busy: NDArray[np.bool_], k: int, trials: int, rng: np.random.Generator,
                  *, rover: bool = False, chunk: int = 1 << 16) -> RaceEstimate:
    """Estimate the clash probability of ``k`` concurrent ``--random-fully`` (or A2+) searches.

    ``busy`` is one shared occupancy row (1, size). ``rover=False`` is the A2+ search (one u16 per
    round; ``max_rounds(size)`` columns drawn per allocation, spec §4.4), ``rover=True`` the A1
    ``--random-fully`` search (one u16 each). Draws per chunk: ``rng.integers(0, 65536,
    size=(n, k, R), dtype=uint16)``; results do not depend on ``chunk`` (tested). numpy draws
    u16 values in pairs from 32-bit words and drops the spare half of an odd-sized call, so
    ``chunk`` is rounded down to an even number (every call but the last is then even-sized).
    """
    if k < 2:
        raise ValueError(f"a race needs k >= 2 allocations, got {k}")
    chunk = max(2, chunk - chunk % 2)
    columns = 1 if rover else max_rounds(busy.shape[1])
    clashes = gave_up = 0
    done = 0
    while done < trials:
        n = min(chunk, trials - done)
        offsets = rng.integers(0, 1 << 16, size=(n, k, columns), dtype=np.uint16)
        res = search_rover(busy, offsets[..., 0]) if rover else search_rounds(busy, offsets)
        clashes += int(any_clash(res.slot).sum())
        gave_up += int(res.gave_up.sum())
        done += n
    p = clashes / trials
    return RaceEstimate(p, math.sqrt(p * (1 - p) / trials), trials, clashes, gave_up)
