"""How a scenario becomes a node: the pods' connect() port range per client era."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest

from snatsim.config import MAX_PODS, Scenario
from snatsim.des.setup import NodeSetup, pod_ip

WORKLOAD = {"pods": 2, "arrival": "poisson", "rate_per_s": 1.0, "destinations": ["203.0.113.10:443"]}


@pytest.mark.parametrize(("version", "top"), [("3.10", 61000), ("4.1", 61000), ("4.2", 60999)])
def test_pod_port_range_follows_the_client_era(version: str, top: int) -> None:
    """Spec §2.3: ip_local_port_range was 32768-61000 before 4.2 (client era P0), then 60999."""
    scenario = Scenario.from_dict({"kernel": {"version": version}, "workload": [WORKLOAD]})
    setup = NodeSetup(scenario, scenario.kernel.profile(), np.random.SeedSequence(1))
    assert {(pod.chooser.lo, pod.chooser.hi) for pod in setup.pods} == {(32768, top)}


def test_every_pod_the_schema_admits_gets_a_valid_distinct_address() -> None:
    addresses = [pod_ip(i) for i in range(MAX_PODS)]
    assert len(set(addresses)) == MAX_PODS
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network("10.244.0.0/16") for a in addresses)
    Scenario.from_dict({"workload": [{**WORKLOAD, "pods": MAX_PODS}]})  # the limit itself is valid


class _TopDraws:
    """Draws whose ``below(n)`` is always ``n - 1``: the top of whatever range is asked for."""

    def below(self, n: int) -> int:
        return n - 1


@pytest.mark.parametrize(("version", "top"), [("3.10", 61000), ("4.2", 60999)])
def test_udp_sockets_bind_in_the_eras_port_range(version: str, top: int) -> None:
    """A UDP socket's port comes from the same era's ip_local_port_range (spec §2.3), 61000 on P0."""
    udp = {**WORKLOAD, "protocol": "udp"}
    scenario = Scenario.from_dict({"kernel": {"version": version}, "workload": [udp]})
    setup = NodeSetup(scenario, scenario.kernel.profile(), np.random.SeedSequence(1))
    wl = setup.workloads[0]
    port = setup.pods[0].local_port(wl, wl.destinations[0], 0.0, _TopDraws())  # type: ignore[arg-type]
    assert port == top
