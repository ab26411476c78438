"""Clash of k concurrent ``--random-fully`` searches in one window (spec §3.2, §4.4, §6.1).

k new flows to one destination, handled on k different CPUs inside one another's NAT -> confirm
windows, search while none of them is confirmed: each sees the same confirmed occupancy and none
sees the others (spec §3.2). Two that return the same port clash at confirm and one SYN is dropped
(TCP, every era, spec §6.2). This module gives the clash probability exactly, with no sampling:

* :func:`chosen_slot_probabilities` / :func:`chosen_slot_fractions`: the law of the port one search
  returns, for a given busy bitmap, computed over all 65,536 offsets on the kernel's 16-bit probe
  circle (``slot = off % size``, ``off = (off + 1) & 0xFFFF``; the wrap is handled exactly). A busy
  run of length L hands its L + 1 first-probe weights to the free port after it: the clusters.
* :func:`clash_probability`: P(some two of k independent searches return the same port) =
  ``1 - k! e_k(w)``, the elementary symmetric polynomial of the slot law ``w``.
* :func:`first_probe_clash`: the same for the first probes only (the occupancy plays no part);
  :func:`birthday_clash`: the plain birthday formula over ``n`` equally likely ports.
* :func:`random_occupancy_pair_clash`: k = 2 averaged over a uniformly random placement of the busy
  ports (run-length law of a random subset), in O(size).

Assumptions: the k searches draw independent uniform u16 offsets (``--random-fully`` on A1, every
SNAT search on A2+); no A3+ eviction (one search evicting would change what the others see); the
occupancy does not change during the window. Ordering: ``birthday(size) <= birthday(free ports)
<= linear probing`` (clusters make collisions likelier).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

from snatsim.analytic.collision import offset_port_weights

OFFSETS = 1 << 16
NF_NAT_MAX_ATTEMPTS = 128  # spec §4.4 (the kernel layer's constant; analytic keeps its own)
Search = Literal["rounds", "a1"]
Num = TypeVar("Num", float, Fraction)


def search_rounds(size: int, search: Search) -> list[int]:
    """Probes per round of one search (spec §4.4).

    ``"rounds"`` is A2-A4 (5.0+): 128, 64, 32, 16, 8 capped at ``size``, a further round only while
    the last one was shorter than the window and had >= 16 probes. ``"a1"`` is A1 ``--random-fully``:
    one round of ``size`` probes, the last returned unchecked (a busy last probe is a give-up, which
    is the same slot law as a checked round).
    """
    if size < 1:
        raise ValueError(f"window size must be >= 1, got {size}")
    if search == "a1":
        return [size]
    attempts = min(size, NF_NAT_MAX_ATTEMPTS)
    rounds = [attempts]
    while attempts < size and attempts >= 16:
        attempts //= 2
        rounds.append(attempts)
    return rounds


def _round_counts(busy: NDArray[np.bool_], attempts: int) -> tuple[NDArray[np.int64],
                                                                   NDArray[np.int64]]:
    """Over all 65,536 start offsets of one round: (offsets ending on each free slot, offsets that
    saw every probe busy, by the slot of their last probe).

    The probe sequence from offset ``o`` is the virtual circle ``V[o'] = busy[o' % size]`` walked
    from ``o`` (16-bit wrap included), so a round finds a free port iff the distance ``d`` from
    ``o`` to the next free virtual index is < ``attempts``.
    """
    size = busy.size
    o = np.arange(OFFSETS, dtype=np.int64)
    virtual = busy[o % size]
    free_at = np.flatnonzero(~virtual)
    if free_at.size == 0:
        d = np.full(OFFSETS, OFFSETS, dtype=np.int64)
    else:
        pos = np.searchsorted(free_at, o)
        nxt = np.where(pos < free_at.size, free_at[np.minimum(pos, free_at.size - 1)],
                       free_at[0] + OFFSETS)
        d = nxt - o
    ok = d < attempts
    chosen = ((o + d) % OFFSETS % size)[ok]
    last = ((o + attempts - 1) % OFFSETS % size)[~ok]
    return np.bincount(chosen, minlength=size), np.bincount(last, minlength=size)


def _check_busy(busy: Sequence[bool] | NDArray[np.bool_]) -> NDArray[np.bool_]:
    arr = np.asarray(busy, dtype=bool)
    if arr.ndim != 1 or not 1 <= arr.size <= 65535:
        raise ValueError(f"busy must be one row of 1..65535 window slots, got shape {arr.shape}")
    return arr


def chosen_slot_fractions(busy: Sequence[bool] | NDArray[np.bool_],
                          search: Search = "rounds") -> list[Fraction]:
    """Exact law of the window slot one search returns (free ones and, on a give-up, busy ones).

    ``busy[slot]`` is True when window port ``lo + slot`` is held by a confirmed entry towards the
    destination (spec §5.1). Rounds draw independent offsets, so round ``r`` is reached with the
    product of the earlier rounds' all-busy fractions. Spec §4.4.
    """
    arr = _check_busy(busy)
    reach = Fraction(1)
    law = [Fraction(0)] * arr.size
    rounds = search_rounds(arr.size, search)
    for r, attempts in enumerate(rounds):
        free, failed = _round_counts(arr, attempts)
        step = reach / OFFSETS
        for s in np.flatnonzero(free):
            law[s] += step * int(free[s])
        if r == len(rounds) - 1:  # the last round keeps its last (busy) candidate
            for s in np.flatnonzero(failed):
                law[s] += step * int(failed[s])
        reach *= Fraction(int(failed.sum()), OFFSETS)
    return law


def chosen_slot_probabilities(busy: Sequence[bool] | NDArray[np.bool_],
                              search: Search = "rounds") -> NDArray[np.float64]:
    """Float version of :func:`chosen_slot_fractions` (the same sums, in float64)."""
    arr = _check_busy(busy)
    reach = 1.0
    law = np.zeros(arr.size)
    rounds = search_rounds(arr.size, search)
    for r, attempts in enumerate(rounds):
        free, failed = _round_counts(arr, attempts)
        law += reach / OFFSETS * free
        if r == len(rounds) - 1:
            law += reach / OFFSETS * failed
        reach *= failed.sum() / OFFSETS
    return law


def _clash_series(power_sums: Sequence[Num], k: int) -> Num:
    """``1 - k! e_k`` from the power sums ``p_i = sum w^i`` (``p_1 = 1``), without cancellation.

    ``sum_k k! e_k t^k / k! = exp(t) exp(g(t))`` with ``g = sum_{i>=2} (-1)^(i-1) p_i t^i / i``, so
    ``1 - k! e_k = -k! [t^k] exp(t) expm1(g(t))``; the coefficients of ``expm1(g)`` start at the
    small ``-p_2 / 2`` and are summed without subtracting from 1.
    """
    zero = power_sums[1] * 0
    g = [zero, zero] + [power_sums[i] * (-1) ** (i - 1) / i for i in range(2, k + 1)]
    ex = [zero + 1] + [zero] * k  # exp(g)
    for m in range(1, k + 1):
        ex[m] = sum((g[i] * i * ex[m - i] for i in range(2, m + 1)), zero) / m
    falling = 1  # k! / (k - m)!
    total = zero
    for m in range(1, k + 1):
        falling *= k - m + 1
        total += ex[m] * falling
    return -total


def _no_clash_dp(w: NDArray[np.float64], k: int) -> float:
    """``k! e_k(w)`` by prefix sums ``P_j[t] = e_j(w_0..w_{t-1})`` (all terms positive)."""
    prefix = np.ones(w.size + 1)
    for _ in range(k):
        nxt = np.zeros(w.size + 1)
        np.cumsum(w * prefix[:-1], out=nxt[1:])
        prefix = nxt
    return float(prefix[-1]) * math.factorial(k)


def clash_probability(weights: Sequence[float] | NDArray[np.float64], k: int) -> float:
    """P(at least two of ``k`` independent draws from the slot law ``weights`` coincide).

    ``1 - k! e_k(w)``; for k = 2 this is ``sum w^2``. Accurate to ~1e-15 relative while the clash
    probability is small (series) and ~1e-15 absolute when it is large (positive-term recursion).
    """
    w = np.asarray(weights, dtype=float)
    if k < 1 or k > 170:
        raise ValueError(f"k must be 1..170 concurrent searches, got {k}")
    if k == 1:
        return 0.0
    sums = [float(w.size)] + [float(np.sum(w**i)) for i in range(1, k + 1)]
    series = _clash_series(sums, k)
    if series < 0.5:
        return float(series)
    return 1.0 - _no_clash_dp(w, k)


def clash_fraction(weights: Sequence[Fraction], k: int) -> Fraction:
    """Exact :func:`clash_probability` for rational weights (tiny windows, tests)."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if k == 1:
        return Fraction(0)
    sums = [Fraction(len(weights))] + [sum((x**i for x in weights), Fraction(0))
                                       for i in range(1, k + 1)]
    return _clash_series(sums, k)


def linear_probe_clash(busy: Sequence[bool] | NDArray[np.bool_], k: int,
                       search: Search = "rounds") -> float:
    """P(some two of ``k`` concurrent searches return the same port), given the busy bitmap.

    Includes two give-ups on the same busy port (both clash with its holder anyway).
    """
    return clash_probability(chosen_slot_probabilities(busy, search), k)


def first_probe_clash(size: int, k: int) -> float:
    """P(some two of ``k`` first probes land on the same slot): the offset map alone (spec §4.4)."""
    w = [float(x) for x in offset_port_weights(size)]
    return clash_probability(w, k)


def birthday_clash(n: int, k: int) -> float:
    """Plain birthday formula: P(some two of ``k`` uniform picks among ``n`` coincide).

    ``1 - prod_{i<k} (1 - i/n)``, summed in log space (``-expm1(sum log1p(-i/n))``).
    """
    if n < 1 or k < 1:
        raise ValueError(f"need n >= 1 ports and k >= 1 picks, got n={n}, k={k}")
    if k > n:
        return 1.0
    i = np.arange(1, k, dtype=float)
    return float(-np.expm1(np.sum(np.log1p(-i / n))))


def _run_at_least(size: int, busy: int) -> NDArray[np.float64]:
    """``q_j = P(the j slots before a given free slot are all busy)``, j = 0..busy, for a uniform
    random placement of ``busy`` busy slots among the other ``size - 1``: prod (busy-i)/(size-1-i).
    """
    i = np.arange(busy, dtype=float)
    q = np.ones(busy + 1)
    q[1:] = np.cumprod((busy - i) / (size - 1 - i))
    return q


def random_occupancy_pair_clash(size: int, busy: int) -> float:
    """E[P(two concurrent searches clash)] over a uniform random placement of ``busy`` busy ports.

    ``E[sum_s w_s^2]``: a free slot ``s`` takes the first-probe weights of itself and the busy run
    before it. With ``q_j`` the chance that the ``j`` slots before a free slot are busy and
    ``S_j = sum_s (w0 over j+1 slots ending at s)^2`` (from the cyclic autocorrelation of the
    first-probe weights ``w0``), the answer is ``(size-busy)/size * sum_j q_j (S_j - S_{j-1})``.

    Exact when ``size`` divides 65,536 and the search never gives up (A1 ``--random-fully``, or one
    round: ``size <= 128``). Otherwise: the offsets within a run of 65,535 wrap to slot 0 (error
    ~ ``size / 65536`` relative on tiny windows, nil on large ones), and A2+ rounds end early on a
    run of >= 128 busy ports (probability ~ occupancy^128: keep the occupancy below ~90 %).
    """
    if not 0 <= busy < size:
        raise ValueError(f"need 0 <= busy < size, got busy={busy}, size={size}")
    w0 = np.array([float(x) for x in offset_port_weights(size)])
    # cyclic autocorrelation R(d) = sum_a w0[a] w0[a+d], d = 0..size-1
    spec = np.fft.rfft(w0)
    auto = np.fft.irfft(spec * np.conj(spec), n=size)
    j = np.arange(busy + 1)
    d = np.arange(1, busy + 1)
    a = np.concatenate(([0.0], np.cumsum(auto[1:busy + 1])))
    b = np.concatenate(([0.0], np.cumsum(d * auto[1:busy + 1])))
    # windows of j+1 <= size slots: S_j = (j+1) R0 + 2 ((j+1) A_j - B_j); cyclic d wraps past size/2
    s = (j + 1) * auto[0] + 2 * ((j + 1) * a - b)
    delta = np.diff(s, prepend=0.0)
    q = _run_at_least(size, busy)
    return float((size - busy) / size * np.sum(q * delta))
