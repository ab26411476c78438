"""Capacity evaluations measure the steady state, whichever engine makes them (issue #10)."""

from __future__ import annotations

import pytest

from snatsim.config import Scenario
from snatsim.sizing.evaluators import EstimateEvaluator, SimulateEvaluator, settle_s, steady_state

BASE = {
    "simulation": {"duration_s": 60.0, "warmup_s": 0.0, "seed": 1},
    "kernel": {"version": "6.1"},
    "network": {"rtt_s": 0.002},
    "workload": [{"name": "api", "pods": 4, "arrival": "poisson", "rate_per_s": 50.0,
                  "hold_s": 0.5, "requests_per_connection": 3, "close": "fin",
                  "destinations": ["203.0.113.10:443"]}],
}


def scenario(**workload: object) -> Scenario:
    return Scenario.from_dict({**BASE, "workload": [{**BASE["workload"][0], **workload}]})


def test_settle_is_the_longest_entry_life() -> None:
    # RTT + requests x mean hold + TIME_WAIT (FIN) / CLOSE (RST); a lookup: RTT + UDP timeout
    assert settle_s(scenario()) == pytest.approx(0.002 + 3 * 0.5 + 120.0)
    assert settle_s(scenario(close="rst")) == pytest.approx(0.002 + 1.5 + 10.0)
    udp = Scenario.from_dict({**BASE, "workload": [
        {"name": "dns", "pods": 2, "protocol": "udp", "arrival": "poisson", "rate_per_s": 5.0,
         "destinations": ["203.0.113.53:53"]}, BASE["workload"][0]]})
    assert settle_s(udp) == pytest.approx(0.002 + 1.5 + 120.0)  # the longest of the two
    assert settle_s(Scenario.from_dict({**BASE, "workload": [udp.workload[0].model_dump()]})) \
        == pytest.approx(0.002 + udp.conntrack.udp_timeout_s)


def test_steady_state_lengthens_a_short_warm_up_and_keeps_the_measured_time() -> None:
    sc = steady_state(scenario())
    assert sc.simulation.warmup_s == pytest.approx(121.502)
    assert sc.simulation.duration_s - sc.simulation.warmup_s == pytest.approx(60.0)
    long = Scenario.from_dict({**BASE, "simulation": {"duration_s": 400.0, "warmup_s": 200.0}})
    assert steady_state(long) is long  # already settled: untouched
    near = Scenario.from_dict({**BASE, "simulation": {"duration_s": 400.0, "warmup_s": 121.0}})
    assert steady_state(near) is near  # within 1 % of the life


def test_both_evaluators_measure_the_steady_state(monkeypatch: pytest.MonkeyPatch) -> None:
    import snatsim
    import snatsim.results

    seen: list[Scenario] = []

    class Stop(Exception):
        pass

    def record(sc: Scenario, *args: object, **kwargs: object) -> None:  # either engine
        seen.append(sc)
        raise Stop

    monkeypatch.setattr(snatsim, "estimate", record)
    monkeypatch.setattr(snatsim.results, "simulate", record)
    for evaluator in (EstimateEvaluator(fallback=None), SimulateEvaluator(connects=1000)):
        with pytest.raises(Stop):
            evaluator(scenario(), 1)
    mc, des = seen
    assert mc.simulation.warmup_s == des.simulation.warmup_s == pytest.approx(121.502)
    assert mc.simulation.duration_s == pytest.approx(181.502)  # the scenario's 60 s measured
    assert des.simulation.duration_s == pytest.approx(121.502 + 20.0)  # 1,000 connects at 50/s
