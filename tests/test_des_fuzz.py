"""Random small scenarios across the config space: the model never crashes and its books balance."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snatsim.config import Scenario
from snatsim.results import simulate

VERSIONS = ["3.10", "4.9", "4.14", "4.19", "5.4", "5.10", "6.1", "6.6", "6.12", "6.18"]


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    protocol = draw(st.sampled_from(["tcp", "udp"]))
    arrival = draw(st.sampled_from(["poisson", "periodic", "closed-loop", "burst"]))
    w: dict[str, Any] = {
        "pods": draw(st.integers(1, 6)),
        "clients_per_pod": draw(st.integers(1, 2)),
        "arrival": arrival,
        "protocol": protocol,
        "destinations": draw(
            st.sampled_from([["203.0.113.10:443"], ["203.0.113.10:443", "203.0.113.11:80"]])
        ),
        "snat": draw(st.booleans()),
    }
    if arrival == "poisson":
        w["rate_per_s"] = draw(st.sampled_from([5.0, 50.0, 300.0]))
    elif arrival == "periodic":
        w["period_s"] = draw(st.sampled_from([0.05, 0.5, 2.0]))
        w["align_phase"] = draw(st.booleans())
    elif arrival == "burst":
        w["burst_size"] = draw(st.integers(1, 20))
        w["burst_interval_s"] = draw(st.sampled_from([0.1, 1.0]))
    if draw(st.booleans()):
        w["source_port"] = draw(st.sampled_from([80, 700, 40000]))
    if protocol == "tcp":
        w["hold_s"] = draw(st.sampled_from([0.01, 0.5, 3.0]))
        w["close"] = draw(st.sampled_from(["fin", "rst"]))
        w["requests_per_connection"] = draw(st.integers(1, 3))
        if draw(st.booleans()):
            w["connect_timeout_s"] = draw(st.sampled_from([0.3, 2.5]))
    else:
        w["retry_timeout_s"] = draw(st.sampled_from([0.5, 5.0]))
    nat: dict[str, Any] = {
        "random": draw(st.booleans()),
        "random_fully": draw(st.booleans()),
    }
    if draw(st.booleans()):
        nat["to_ports"] = draw(st.sampled_from(["20000", "20000-20003", "20000-20127", "100-300"]))
    return {
        "simulation": {"duration_s": 4.0, "warmup_s": draw(st.sampled_from([0.0, 1.0]))},
        "kernel": {"version": draw(st.sampled_from(VERSIONS))},
        "nat": nat,
        "node": {
            "cpus": draw(st.integers(1, 4)),
            "steering": draw(st.sampled_from(["client", "flow-hash", "random"])),
        },
        "conntrack": {
            "max": draw(st.sampled_from([64, 262144])),
            "tcp_timeout_time_wait_s": draw(st.sampled_from([0.5, 120.0])),
        },
        "workload": [w],
    }


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_random_scenarios_run_and_balance(raw: dict[str, Any], seed: int) -> None:
    result = simulate(Scenario.from_dict(raw), rng=seed, rows="all")
    s = result.summary()
    c = s["connections"]
    assert c["attempted"] == sum(
        c[k] for k in ("established", "failed", "app_timeouts", "local_errors", "in_flight")
    )
    assert len(result.to_frame()) == c["attempted"]
    causes = s["insert_failed_causes"]
    dropped = s["syn"]["dropped"] + s["udp_queries"]["dropped"]
    assert dropped == sum(causes.values()) + s["drops"]["table_full"]
    assert s["syn"]["dropped"] <= s["syn"]["sent"]
    assert s["udp_queries"]["dropped"] <= s["udp_queries"]["sent"]
    if raw["workload"][0]["protocol"] == "tcp" and s["kernel"]["confirm_era"] != "C0":
        # every TCP clash drop is one insert_failed and one drop; table-full adds drop only
        assert s["conntrack"]["insert_failed"] == sum(causes.values())
        assert s["conntrack"]["drop"] == sum(causes.values()) + s["drops"]["table_full"]
    for col in result.series.ports_in_use.values():
        assert len(col) == len(result.series.conntrack_entries)
    lat = s["connect_latency_s"]
    if lat["max"] is not None:
        assert 0.0 < lat["p50"] <= lat["max"]
