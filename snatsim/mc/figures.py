"""From block tallies to the figures a summary reports, as expected values over the measured window.

Per destination the tallies give the leader's drop probability by cause and, for the retransmits,
the drop probability given the previous SYN was dropped: a race loser's retransmit goes through
NAT again and races afresh (the same race probability); an exhausted window stays exhausted, so a
SYN after a give-up gives up again with ``sum_b g_b^2 / sum_b g_b`` over the blocks' give-up
fractions ``g_b`` (the occupancy persists for the ~1 s between them; its TIME_WAIT life is 120 s).
:func:`snatsim.analytic.latency.latency_mixture` turns those into the connect outcome law under the
era's SYN schedule (spec §9) and the app's ``connect_timeout_s``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from snatsim.analytic.latency import LatencyMixture, latency_mixture
from snatsim.mc.engine import TALLY
from snatsim.mc.steady import SteadyPlan

_COL = {name: i for i, name in enumerate(TALLY)}
CAUSE_KEYS = ("race", "eviction", "exhaustion")  # drops at confirm (insert_failed, spec §16.1)
DROP_KEYS = (*CAUSE_KEYS, "table_full")  # and SYNs dropped by a full table (spec §10)


@dataclass(frozen=True)
class DestinationOdds:
    """Per-NAT odds of one destination (from its tallies)."""

    race: float  # P(a SYN is dropped by a race)
    gave_up: float  # P(the search gives up: exhaustion or eviction failure)
    eviction_share: float  # share of give-ups attributed to a refused eviction (A3+)
    gave_up_again: float  # P(give up | the previous SYN of the connection gave up)
    found: float  # mean `found` increments per NAT
    kept: float  # P(the pod's port is kept)
    evicted: float  # mean closing entries evicted per NAT (A3+)

    @classmethod
    def from_sums(cls, sums: NDArray[np.float64]) -> DestinationOdds:
        """Odds from a (blocks, len(TALLY)) array of block tallies."""
        n = sums[:, _COL["trials"]]
        col = dict(zip(_COL, sums.sum(axis=0).tolist(), strict=True))
        total = col["trials"]
        gu = sums[:, _COL["gave_up"]]
        again = float(np.sum(gu * gu / n) / col["gave_up"]) if col["gave_up"] else 0.0
        return cls(race=col["race"] / total, gave_up=col["gave_up"] / total,
                   eviction_share=col["eviction"] / col["gave_up"] if col["gave_up"] else 0.0,
                   gave_up_again=again, found=col["found"] / total, kept=col["kept"] / total,
                   evicted=col["evicted"] / total)

    def drop_probabilities(self) -> tuple[float, float]:
        """P(first SYN dropped), P(a retransmit dropped | the SYN before it was)."""
        return min(1.0, self.race + self.gave_up), min(1.0, self.race + self.gave_up_again)


    def causes_at(self, k: int) -> dict[str, float]:
        """P(SYN ``k`` is dropped, by cause | the SYNs before it were dropped)."""
        gu = self.gave_up if k == 0 else self.gave_up_again
        return {"race": self.race, "eviction": gu * self.eviction_share,
                "exhaustion": gu * (1.0 - self.eviction_share)}


def cluster_drop_probabilities(hist: NDArray[np.float64]) -> list[float]:
    """P(SYN ``k`` dropped | SYNs ``0..k-1`` were) from counts of connections by SYNs lost."""
    reach = np.cumsum(hist[::-1])[::-1]  # reach[k]: connections that lost at least k SYNs
    return [float(reach[k + 1] / reach[k]) if reach[k] > 0 else 0.0
            for k in range(len(hist) - 1)]


@dataclass(frozen=True)
class SynCounts:
    """Expected SYNs per connect: sent, dropped, and the drops by cause."""

    sent: float
    dropped: float
    causes: dict[str, float]


def syn_counts(probs: Sequence[float], causes_at: Callable[[int], dict[str, float]],
               steady: SteadyPlan, timeout_s: float | None) -> SynCounts:
    """Expected SYNs sent and dropped per connect (the retransmit chain, spec §9).

    ``probs[k]``: P(SYN ``k`` dropped | the earlier ones were), the last value repeating;
    ``causes_at(k)`` splits it by cause.
    """
    sends = steady.schedule.send_times_s
    reach, sent, dropped = 1.0, 0.0, 0.0
    causes = dict.fromkeys(DROP_KEYS, 0.0)
    for k, send_s in enumerate(sends):
        if timeout_s is not None and k and send_s >= timeout_s:
            break  # the app gave up before this retransmit
        p = probs[min(k, len(probs) - 1)]
        sent += reach
        dropped += reach * p
        for cause, q in causes_at(k).items():
            causes[cause] += reach * q
        reach *= p
    return SynCounts(sent, dropped, causes)


def mixture(probs: Sequence[float], steady: SteadyPlan,
            timeout_s: float | None) -> LatencyMixture:
    """The connect outcome law for per-SYN conditional drop probabilities (spec §9)."""
    return latency_mixture(list(probs), steady.schedule, rtt_s=steady.rtt_mean_s,
                           nat_to_confirm_s=steady.nat_to_confirm_us.mean * 1e-6,
                           connect_timeout_s=timeout_s)


def weighted_quantiles(values: NDArray[np.float64], weights: NDArray[np.float64],
                       qs: list[float]) -> list[float | None]:
    """Quantiles of a discrete law (values with weights); None when the weights sum to 0."""
    total = float(weights.sum())
    if total <= 0:
        return [None] * len(qs)
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order]) / total
    return [float(values[order][min(int(np.searchsorted(cum, q - 1e-12)), len(values) - 1)])
            for q in qs]
