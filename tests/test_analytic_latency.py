"""snatsim.analytic.latency: the connect outcome law, against enumeration and a direct simulation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from snatsim.analytic.latency import DELAY_THRESHOLDS_S, latency_mixture
from snatsim.kernel.eras import SynEra
from snatsim.kernel.tcp import syn_schedule
from snatsim.results import DELAY_THRESHOLDS_S as SUMMARY_THRESHOLDS_S


def _connect(fates: tuple[bool, ...], sends: tuple[float, ...], give_up_s: float, rtt_s: float,
             timeout_s: float | None) -> tuple[str, float]:
    """Follow one connect whose SYN i is dropped iff ``fates[i]`` (the DES rules, spec §9)."""
    for i, dropped in enumerate(fates):
        if not dropped:
            latency = sends[i] + rtt_s
            if timeout_s is not None and latency > timeout_s:
                return "app_timeout", timeout_s
            return "established", latency
        next_s = sends[i + 1] if i + 1 < len(sends) else give_up_s
        if timeout_s is not None and timeout_s <= next_s:
            return "app_timeout", timeout_s
    return "failed", give_up_s


@pytest.mark.parametrize("era", [SynEra.T1, SynEra.T2])
@pytest.mark.parametrize("timeout_s", [None, 0.5, 2.5, 3.0, 200.0])
@pytest.mark.parametrize("probs", [[0.3], [0.01, 0.2, 0.9], [1.0], [0.0, 1.0]])
def test_equals_enumeration_of_every_fate(era: SynEra, timeout_s: float | None,
                                          probs: list[float]) -> None:
    """Every drop/accept pattern of every SYN, weighted and followed by the DES rules."""
    sched = syn_schedule(era)
    sends = sched.send_times_s
    rtt = 0.02
    expect = {"failed": 0.0, "app_timeout": 0.0}
    est_by_latency: dict[float, float] = {}
    for fates in itertools.product([True, False], repeat=len(sends)):
        first_ok = fates.index(False) if False in fates else len(fates)
        if any(not f for f in fates[first_ok + 1:]):
            continue  # fates after the first accepted SYN never happen: count each path once
        weight = math.prod(
            (probs[min(i, len(probs) - 1)] if fates[i] else 1 - probs[min(i, len(probs) - 1)])
            for i in range(min(first_ok + 1, len(fates))))
        outcome, latency = _connect(fates, sends, sched.give_up_s, rtt, timeout_s)
        if outcome == "established":
            est_by_latency[latency] = est_by_latency.get(latency, 0.0) + weight
        else:
            expect[outcome] += weight
    mix = latency_mixture(probs, sched, rtt_s=rtt, connect_timeout_s=timeout_s)
    assert mix.failed == pytest.approx(expect["failed"], abs=1e-12)
    assert mix.app_timeout == pytest.approx(expect["app_timeout"], abs=1e-12)
    got = {lat: p for lat, p in zip(mix.latencies_s, mix.established, strict=True) if p > 0}
    assert got.keys() == {lat for lat, p in est_by_latency.items() if p > 0}
    for lat, p in got.items():
        assert p == pytest.approx(est_by_latency[lat], abs=1e-12)
    assert sum(mix.established) + mix.never_completed == pytest.approx(1.0, abs=1e-12)


def test_single_loss_costs_one_second_in_both_eras() -> None:
    """Spec §9 table: one lost SYN = 1 s; two = 3 s on T1, 2 s on T2."""
    for era, two_lost in [(SynEra.T1, 3.0), (SynEra.T2, 2.0)]:
        mix = latency_mixture([1.0, 1.0, 0.0], syn_schedule(era))
        assert mix.established[2] == 1.0 and mix.latencies_s[2] == two_lost
        mix = latency_mixture([1.0, 0.0], syn_schedule(era))
        assert mix.delayed_fractions() == {"ge_1s": 1.0, "ge_2s": 0.0, "ge_3s": 0.0}


def test_thresholds_are_the_summary_thresholds() -> None:
    assert DELAY_THRESHOLDS_S == SUMMARY_THRESHOLDS_S


@pytest.mark.parametrize("era", [SynEra.T1, SynEra.T2])
def test_agrees_with_direct_simulation(era: SynEra) -> None:
    """A numpy simulation of correlated SYN losses (4 SE on each delayed fraction)."""
    sched = syn_schedule(era)
    probs = [0.2, 0.5, 0.7]  # an exhausted window tends to stay exhausted
    n = 200_000
    rng = np.random.default_rng(int(era))
    p = np.array([probs[min(i, 2)] for i in range(len(sched.send_times_s))])
    dropped = rng.random((n, p.size)) < p
    first_ok = np.where(dropped.all(axis=1), p.size, np.argmin(dropped, axis=1))
    sends = np.array([*sched.send_times_s, np.inf])
    latency = sends[first_ok] + 0.001  # never completed: inf, delayed at every threshold
    mix = latency_mixture(probs, sched, rtt_s=0.001)
    for t in DELAY_THRESHOLDS_S:
        truth = mix.delayed_fraction(t)
        est = float(np.mean(latency >= t))
        assert abs(est - truth) <= 4 * math.sqrt(truth * (1 - truth) / n)
    assert float(np.mean(first_ok == p.size)) == pytest.approx(mix.failed, abs=4 * math.sqrt(
        mix.failed / n) + 1e-9)


def test_bad_probability_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        latency_mixture([0.5, 1.5], syn_schedule(SynEra.T1))


def test_syn_ack_exactly_at_the_app_timeout_still_connects() -> None:
    """The DES gives up only when the SYN-ACK comes *after* the timeout (``now - t0 > timeout``)."""
    mix = latency_mixture([1.0, 0.0], syn_schedule(SynEra.T1), rtt_s=0.25, connect_timeout_s=1.25)
    assert (mix.established[1], mix.app_timeout) == (1.0, 0.0)
    mix = latency_mixture([1.0, 0.0], syn_schedule(SynEra.T1), rtt_s=0.25, connect_timeout_s=1.0)
    assert (mix.established[1], mix.app_timeout) == (0.0, 1.0)  # fires at the retransmit time
