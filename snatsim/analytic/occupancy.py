"""Per-destination port occupancy and exhaustion from rate × hold (spec §4.4, §5.1, §10).

Ports run out per (proto, NAT IP, dst IP, dst port) (spec §5.1). A port is held while its conntrack
entry lives: the connection plus TIME_WAIT (120 s) or CLOSE (10 s) (spec §10). With new flows
arriving at ``rate_per_s`` and holding for ``hold_s``, the offered load is ``a = rate × hold``
(Little's law: the mean number held with no limit). The window of ``size`` ports is a loss system:
a SYN that finds no free port is dropped at confirm and holds nothing (spec §4.4, §6.1).

* A1 (whole-window search) and one-round windows (``size <= 128``) fail only on a full window
  (up to the 16-bit wrap, which :func:`give_up_probability` includes exactly): Erlang B.
* A2+ on larger windows gives up after <= 248 probes (spec §4.4) while free ports may remain:
  a state-dependent loss ``g(m)`` at ``m`` busy ports, so the occupancy law is
  ``pi(m) ∝ a^m / m! · prod_{i<m} (1 - g(i))`` and the loss is ``sum_m pi(m) g(m)`` (PASTA).

Everything is summed in log space (``lgamma``, ``logsumexp``), stable for 64,512 ports.

Assumptions: Poisson arrivals of new entries (retransmits of lost SYNs included, as if Poisson);
holds independent of the port (the loss law is insensitive to the hold distribution, so exponential
is not needed); busy ports scattered uniformly at random over the window (the PRNG searches; for A1
only a full window matters); no A3+ eviction of TIME_WAIT/CLOSE entries (eviction lowers the loss);
no early drop or table-full drop (spec §10).
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaln, logsumexp

from snatsim.analytic.probing import OFFSETS, Search, search_rounds
from snatsim.analytic.runs import run_union_law


def offered_ports(rate_per_s: float, hold_s: float) -> float:
    """Little's law: the mean ports held with no window limit, ``rate × hold``."""
    if rate_per_s < 0 or hold_s < 0:
        raise ValueError(f"rate and hold must be >= 0, got {rate_per_s}, {hold_s}")
    return rate_per_s * hold_s


def _log_all_busy(size: int, busy: NDArray[np.int64], span: int | NDArray[np.int64]
                  ) -> NDArray[np.float64]:
    """``log P(span given slots are all busy)`` for ``busy`` of ``size`` busy at random:
    ``log prod_{i<span} (busy - i)/(size - i)``; -inf where ``busy < span`` (one lgamma table)."""
    log_fact = gammaln(np.arange(size + 1, dtype=float) + 1)
    busy_i, span_i = np.broadcast_arrays(np.asarray(busy, dtype=np.int64),
                                         np.asarray(span, dtype=np.int64))
    ok = busy_i >= span_i
    left = np.where(ok, busy_i - span_i, 0)
    out = log_fact[busy_i] - log_fact[left] - log_fact[size] + log_fact[size - span_i]
    return np.asarray(np.where(ok, out, -np.inf), dtype=float)


def _distinct_probed(size: int, attempts: int) -> NDArray[np.int64]:
    """Per 16-bit start offset: how many distinct slots a round of ``attempts`` probes visits.

    Offsets whose run crosses 65,535 -> 0 revisit slot 0 onwards and may skip others (spec §4.4).
    The first part of a wrapping run, virtual offsets ``w..65535``, covers ``len1`` slots of the
    cyclic interval ending at slot ``65535 % size = r - 1``; the second, ``0..len2-1``, covers
    slots ``0..len2-1``. They overlap on ``min(r, len2)`` slots when ``len1 > r``, else on the part
    of ``[r - len1, r - 1]`` below ``len2`` (none when ``size`` divides 65,536).
    """
    out = np.full(OFFSETS, attempts, dtype=np.int64)
    r = OFFSETS % size
    w = np.arange(max(OFFSETS - attempts + 1, 0), OFFSETS, dtype=np.int64)
    if r == 0 or w.size == 0:
        return out
    len1 = OFFSETS - w
    len2 = attempts - len1
    inside = np.maximum(0, np.minimum(r - 1, len2 - 1) - (r - len1) + 1)
    overlap = np.where(len1 > r, np.minimum(r, len2), inside)
    out[w] = attempts - overlap
    return out


def give_up_probability(size: int, search: Search = "rounds") -> NDArray[np.float64]:
    """``g(m)``, m = 0..size (a fresh copy; see :func:`_give_up`)."""
    return _give_up(size, search).copy()


@functools.cache
def _give_up(size: int, search: Search) -> NDArray[np.float64]:
    """``g(m)``, m = 0..size: P(a search returns a busy port) with ``m`` busy ports at random.

    One round (A1, or ``size <= 128``): exact, the mean over all 65,536 offsets of P(every slot
    the offset probes is busy). Several rounds (A2+, ``size > 128``): rounds draw independent
    offsets, so it is ``E[prod_{i<|U|} (m-i)/(size-i)]`` over the law of the number ``|U|`` of
    distinct slots the five runs cover (:func:`snatsim.analytic.runs.run_union_law`: exact up to
    1,024 ports, first order in 1/size above; treating the runs as disjoint, ``|U| = 248``, would
    be 2x too low at 1,024 ports).
    """
    rounds = search_rounds(size, search)
    m = np.arange(size + 1, dtype=np.int64)
    if len(rounds) == 1:
        spans, counts = np.unique(_distinct_probed(size, rounds[0]), return_counts=True)
        g = np.zeros(size + 1)
        rows = m[spans[0]:]  # fewer busy ports than the shortest run: never all busy
        logs = _log_all_busy(size, rows[:, None], spans[None, :]) + np.log(counts / OFFSETS)
        g[spans[0]:] = np.exp(logsumexp(logs, axis=1))
        return g
    law = run_union_law(size, tuple(rounds))
    spans = np.flatnonzero(law > 0)
    g = np.zeros(size + 1)
    # g(m) <= P(the shortest union is all busy): skip rows where that is below e^-80
    rows = m[_log_all_busy(size, m, int(spans[0])) > -80.0]
    logs = _log_all_busy(size, rows[:, None], spans[None, :]) + np.log(law[spans])
    g[rows] = np.exp(logsumexp(logs, axis=1))
    return g


def _log_occupancy(size: int, offered: float, log_keep: NDArray[np.float64]) -> NDArray[np.float64]:
    """Normalised ``log pi(m)`` of the birth-death loss chain (``log_keep[i] = log(1 - g(i))``)."""
    m = np.arange(size + 1, dtype=float)
    with np.errstate(divide="ignore"):
        log_a = np.log(offered) if offered > 0 else -np.inf
    logs = m * log_a - gammaln(m + 1) if offered > 0 else np.where(m == 0, 0.0, -np.inf)
    logs = logs + np.concatenate(([0.0], np.cumsum(log_keep[:-1])))
    return np.asarray(logs - logsumexp(logs), dtype=float)


def occupancy_distribution(size: int, offered: float,
                           search: Search | None = None) -> NDArray[np.float64]:
    """``pi(m)``, m = 0..size: the law of the busy port count seen by an arriving SYN.

    ``search=None`` is pure Erlang (a loss only on a full window); ``"a1"`` and ``"rounds"`` use
    :func:`give_up_probability` of that search.
    """
    if size < 1 or offered < 0:
        raise ValueError(f"need size >= 1 and offered >= 0, got {size}, {offered}")
    g = np.zeros(size + 1) if search is None else give_up_probability(size, search)
    g[-1] = 1.0
    with np.errstate(divide="ignore"):
        log_keep = np.log1p(-np.minimum(g, 1.0))
    return np.asarray(np.exp(_log_occupancy(size, offered, log_keep)), dtype=float)


def erlang_b(size: int, offered: float) -> float:
    """Erlang B: P(all ``size`` ports busy) at offered load ``offered`` (log space)."""
    return float(occupancy_distribution(size, offered)[-1])


def exhaustion_probability(size: int, offered: float, search: Search = "rounds") -> float:
    """P(a new SYN is dropped because its search gave up): ``sum_m pi(m) g(m)`` (PASTA)."""
    g = give_up_probability(size, search)
    g[-1] = 1.0
    pi = occupancy_distribution(size, offered, search)
    return float(np.sum(pi * g))


def carried_ports(size: int, offered: float, search: Search = "rounds") -> float:
    """Mean ports held in steady state: ``offered × (1 - loss)`` (Little's law on carried flows)."""
    return offered * (1.0 - exhaustion_probability(size, offered, search))
