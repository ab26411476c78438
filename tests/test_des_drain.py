"""The drain: connects started before the end are followed to their end, none vanishes in flight.

After ``duration_s`` arrivals stop and the run goes on until every started connect has resolved
(established, failed or timed out), at most the SYN give-up time (or the resolver's tries) later.
Connects that never completed count in the delayed figures at every threshold.
"""

from __future__ import annotations

from typing import Any

import pytest
from des_scripts import DST, once, scenario

from snatsim.config import Scenario
from snatsim.des import drain_horizon_s
from snatsim.kernel.eras import SynEra
from snatsim.kernel.tcp import syn_schedule
from snatsim.results import simulate


def _full_table(drain: bool) -> Scenario:
    """conntrack.max = 1: the first connection holds the only slot for the whole run."""
    busy = {
        "name": "busy", "pods": 4, "arrival": "poisson", "rate_per_s": 50.0, "hold_s": 1000.0,
        "destinations": [DST],
    }
    return scenario(busy, kernel="6.1", duration_s=20.0, simulation={"drain": drain},
                    conntrack={"max": 1})


def test_without_a_drain_the_blocked_connects_are_left_in_flight() -> None:
    s = simulate(_full_table(drain=False), rng=1).summary()
    c = s["connections"]
    assert c["established"] == 1 and c["in_flight"] == c["attempted"] - 1 > 500
    assert any(f"{c['in_flight']:,} connects were still unresolved" in w for w in s["warnings"])


def test_with_the_drain_every_blocked_connect_fails_and_counts_as_delayed() -> None:
    s = simulate(_full_table(drain=True), rng=1).summary()
    c = s["connections"]
    assert c["in_flight"] == 0
    assert c["established"] == 1 and c["failed"] == c["attempted"] - 1 > 500  # ETIMEDOUT
    assert s["delayed_counts"]["never_completed"] == c["failed"]
    assert s["delayed_counts"]["ge_3s"] == c["failed"] and s["delayed_counts"]["of"] == c["attempted"]
    assert s["delayed_fraction"]["ge_1s"] == pytest.approx(c["failed"] / c["attempted"])


def test_the_drain_adds_no_connections_and_stops_once_all_resolved() -> None:
    w = once("w", 3, hold_s=0.2)  # three connects at t = 0, closed 0.2 s later
    drained = simulate(scenario(w, duration_s=1.0, simulation={"drain": True}), rng=2, rows="all")
    plain = simulate(scenario(w, duration_s=1.0), rng=2, rows="all")
    assert drained.rows == plain.rows  # nothing was pending: the drain changes nothing
    assert len(drained.rows) == 3


@pytest.mark.parametrize(
    ("fields", "expected_s"),
    [
        ({}, syn_schedule(SynEra.T1).give_up_s),
        ({"connect_timeout_s": 5.0}, 5.0),
        ({"protocol": "udp", "attempts": 3, "retry_timeout_s": 2.0}, 6.0),
        ({"protocol": "udp", "attempts": 2, "retry_timeout_s": 0.25}, 0.5),  # under a second
    ],
)
def test_drain_horizon_is_the_longest_connect_a_workload_can_take(
    fields: dict[str, Any], expected_s: float
) -> None:
    s = scenario(once("w", **fields), kernel="6.1")
    give_up = syn_schedule(SynEra.T1).give_up_s
    assert drain_horizon_s(s, give_up) == pytest.approx(expected_s + 10.0)
