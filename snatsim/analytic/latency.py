"""The connect-latency mixture implied by per-SYN drop probabilities and a SYN schedule (spec §9).

A dropped SYN (a clash loser at confirm, spec §6) produces no SYN-ACK; the socket retransmits at
the schedule's times with the same pod port, and each retransmit goes through NAT and confirm
again (spec §9, §13.7). If the first ``k`` SYNs are dropped and SYN ``k`` gets through, the connect
completes ``send_times_s[k] + nat_to_confirm_s + rtt_s`` after the first SYN (spec §9 table plus one
RTT). All SYNs dropped: ETIMEDOUT at ``give_up_s``. An application ``connect_timeout_s`` ends the
attempt first when it falls at or before the next retransmit (or the give-up), or before the
SYN-ACK arrives; the same rules as ``snatsim.des`` (``_after_syn_loss`` / ``_established``).

Assumptions: ``drop_probabilities[i]`` is P(SYN ``i`` dropped | SYNs ``0..i-1`` dropped), so
correlated losses (an exhausted window that stays exhausted, an eviction refused again for the same
ISN, spec §16.2) are expressed by rising conditional probabilities; a short list repeats its last
value. RTT and NAT->confirm time are constants. Delayed fractions count connects that never
completed (ETIMEDOUT, app timeout) at every threshold, as ``SimulationResult.summary`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from snatsim.kernel.tcp import SynSchedule

DELAY_THRESHOLDS_S = (1.0, 2.0, 3.0)


@dataclass(frozen=True)
class LatencyMixture:
    """Outcome law of one ``connect()``.

    ``latencies_s[k]`` is the latency when SYN ``k`` is the first to get through and
    ``established[k]`` its probability (0 where the app timed out first); ``failed`` is
    P(ETIMEDOUT), ``app_timeout`` P(the application's connect timeout).
    """

    latencies_s: tuple[float, ...]
    established: tuple[float, ...]
    failed: float
    app_timeout: float

    @property
    def never_completed(self) -> float:
        """P(the connect never completed): ETIMEDOUT or app timeout."""
        return self.failed + self.app_timeout

    def delayed_fraction(self, threshold_s: float) -> float:
        """P(latency >= ``threshold_s``), never-completed connects included at every threshold."""
        slow = sum(p for lat, p in zip(self.latencies_s, self.established, strict=True)
                   if lat >= threshold_s)
        return slow + self.never_completed

    def delayed_fractions(self) -> dict[str, float]:
        """``{"ge_1s": ..., "ge_2s": ..., "ge_3s": ...}`` as in ``summary()["delayed_fraction"]``."""
        return {f"ge_{t:g}s": self.delayed_fraction(t) for t in DELAY_THRESHOLDS_S}

    def mean_latency_s(self) -> float:
        """Mean latency over established connects (NaN when none completes)."""
        total = sum(self.established)
        if total == 0:
            return float("nan")
        return sum(lat * p for lat, p in zip(self.latencies_s, self.established,
                                             strict=True)) / total


def latency_mixture(drop_probabilities: float | Sequence[float], schedule: SynSchedule, *,
                    rtt_s: float = 0.0, nat_to_confirm_s: float = 0.0,
                    connect_timeout_s: float | None = None) -> LatencyMixture:
    """The exact outcome law of one connect for per-SYN (conditional) drop probabilities.

    Parameters
    ----------
    drop_probabilities:
        One probability for every SYN, or ``p[i]`` = P(SYN ``i`` dropped | the earlier ones were);
        the last value repeats.
    schedule:
        The era's SYN schedule, :func:`snatsim.kernel.tcp.syn_schedule` (T1: 0, 1, 3, 7 ... s,
        ETIMEDOUT at 127 s; T2: 0, 1, 2, 3, 4, 5, 7 ... s, 131 s).
    rtt_s, nat_to_confirm_s:
        Added to the send time of the SYN that gets through.
    connect_timeout_s:
        The application's dial timeout, or None.
    """
    probs = [drop_probabilities] if isinstance(drop_probabilities, int | float) else list(
        drop_probabilities)
    if not probs or any(not 0.0 <= p <= 1.0 for p in probs):
        raise ValueError(f"drop probabilities must lie in [0, 1], got {drop_probabilities!r}")
    sends = schedule.send_times_s
    latencies, established = [], []
    app = 0.0
    reach = 1.0  # P(the first k SYNs were all dropped)
    for k, send_s in enumerate(sends):
        p = probs[min(k, len(probs) - 1)]
        latency = send_s + nat_to_confirm_s + rtt_s
        latencies.append(latency)
        through = reach * (1.0 - p)
        if connect_timeout_s is not None and latency > connect_timeout_s:
            app += through  # the SYN-ACK came after the app gave up
            through = 0.0
        established.append(through)
        reach *= p
        next_s = sends[k + 1] if k + 1 < len(sends) else schedule.give_up_s
        if connect_timeout_s is not None and connect_timeout_s <= next_s:
            app += reach  # the app gives up before the next retransmit (or ETIMEDOUT)
            latencies.extend(s + nat_to_confirm_s + rtt_s for s in sends[k + 1:])
            established.extend([0.0] * (len(sends) - k - 1))
            return LatencyMixture(tuple(latencies), tuple(established), 0.0, app)
    return LatencyMixture(tuple(latencies), tuple(established), reach, app)
