"""A1 rover collisions as a function of overlap (spec §3.2, §4.4 "A1", §13.3).

On A1 kernels (<= 4.20) without a random flag the search starts at one global per-protocol rover,
shared by every CPU and destination, which stores the offset of the port *just handed out* (spec
§4.4). Take an allocation (the *leader*) and the ``j`` allocations on other CPUs whose NAT falls
inside the leader's NAT -> confirm window (the *overlap*): each of them starts at the leader's
offset, finds its port free (the leader is not confirmed yet, spec §3.2) and takes it, and stores
the same offset again. So all ``j + 1`` get one port number. Towards one destination ``j`` of them
are dropped at confirm (TCP, spec §6.2): the collision is certain, not a birthday event. The first
allocation after the leader's confirm finds the port busy and moves on: it leads the next group.
A1 ``--random`` (a keyed hash constant per destination) behaves the same for one destination.

Assumptions: one destination; the rover's port is free at the leader's NAT (the rover sweeps
the window in ``size / rate`` seconds, longer than the hold time when ``rate × hold < size``: no
exhaustion); a constant NAT -> confirm time ``delta``, so the leader is the first to confirm; for
:func:`rover_drop_fraction`, Poisson NATs at ``rate_per_s`` (first SYNs and retransmits alike) on
CPUs chosen uniformly at random.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.stats import binom


def _expected_distinct(weights: NDArray[np.float64], n: int) -> float:
    """E[#distinct values among ``n`` independent draws from ``weights``]:
    ``sum_s 1 - (1 - w_s)^n``."""
    return float(np.sum(-np.expm1(n * np.log1p(-np.minimum(weights, 1.0)))))


def rover_drops(overlap: int) -> int:
    """Drops among a leader and the ``overlap`` allocations in its window, one destination (A1
    rover): all ``j + 1`` take one port and all but the first to confirm are dropped, so ``j``.

    With several destinations only those towards the same destination clash, but the rover then
    also hands the same port to the next group whenever it is free for that group's destination:
    not modelled here.
    """
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0, got {overlap}")
    return overlap


def random_fully_drops(overlap: int, slot_law: Sequence[float] | NDArray[np.float64],
                       busy: Sequence[bool] | NDArray[np.bool_] | None = None) -> float:
    """Expected drops among ``overlap + 1`` concurrent ``--random-fully`` searches to one
    destination: allocations minus distinct free ports chosen, ``(j+1) - sum_{s free} [1 - (1 -
    w_s)^(j+1)]`` for the slot law ``w`` (:func:`snatsim.analytic.probing.chosen_slot_probabilities`;
    a search that gave up on a busy port clashes with its holder).
    """
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0, got {overlap}")
    w = np.asarray(slot_law, dtype=float)
    if busy is not None:
        w = np.where(np.asarray(busy, dtype=bool), 0.0, w)
    return overlap + 1 - _expected_distinct(w, overlap + 1)


def overlap_pmf(rate_per_s: float, nat_to_confirm_s: float,
                cpus: int | None = None) -> NDArray[np.float64]:
    """Law of the overlap ``J`` of one leader: other-CPU NATs inside its window.

    ``cpus=None``: every NAT has a CPU of its own, ``J ~ Poisson(rate × delta)``, exact (truncated
    where the tail is below 1e-17). ``cpus = c``: at most one NAT per other CPU can start in the
    window (a CPU is busy for its own window), ``J ~ Binomial(c - 1, 1 - exp(-rate delta / c))``;
    this neglects NATs queued behind a busy CPU, an error of order ``(rate delta)^2 / c``.
    """
    if rate_per_s < 0 or nat_to_confirm_s < 0:
        raise ValueError(f"rate and window must be >= 0, got {rate_per_s}, {nat_to_confirm_s}")
    mu = rate_per_s * nat_to_confirm_s
    if cpus is None:
        top = int(mu + 12 * math.sqrt(mu) + 40)
        j = np.arange(top + 1)
        log_pmf = j * math.log(mu) - mu - np.array([math.lgamma(x + 1) for x in j]) if mu > 0 \
            else np.where(j == 0, 0.0, -np.inf)
        return np.asarray(np.exp(log_pmf), dtype=float)
    if cpus < 1:
        raise ValueError(f"cpus must be >= 1, got {cpus}")
    p = -math.expm1(-mu / cpus)
    return np.asarray(binom.pmf(np.arange(cpus), cpus - 1, p), dtype=float)


def rover_drop_fraction(rate_per_s: float, nat_to_confirm_s: float,
                        cpus: int | None = None) -> float:
    """Long-run fraction of A1 rover allocations to one destination dropped by a race:
    ``E[J] / E[1 + J]`` (groups of a leader and its overlap follow one another: renewal-reward).

    ``cpus=None``: ``rate delta / (1 + rate delta)``, exact; ``cpus=1``: 0 (no race).
    """
    pmf = overlap_pmf(rate_per_s, nat_to_confirm_s, cpus)
    j = np.arange(pmf.size)
    return float(np.sum(pmf * j) / np.sum(pmf * (1 + j)))

