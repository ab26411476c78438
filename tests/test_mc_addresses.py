"""Several NAT addresses in the Monte Carlo engine (snatsim.mc.addresses; spec §4.3; issue #9)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import snatsim
from snatsim.des.setup import NodeSetup
from snatsim.errors import ConfigError
from snatsim.kernel.tuples import ConnTuple, Proto
from snatsim.mc.addresses import address_groups
from snatsim.mc.steady import plan

POOL = '["198.51.100.1", "198.51.100.2", "198.51.100.3"]'
SNAT = ['nat.target="snat"', f"nat.to_source={POOL}"]


@pytest.mark.parametrize("persistent", [False, True])
def test_groups_are_the_addresses_the_des_pods_get(persistent: bool) -> None:
    """Each pod's address, as the SimPy model's own allocator picks it for the destination."""
    sc = snatsim.load_scenario("configs/default.toml", [*SNAT, f"nat.persistent={str(persistent).lower()}"])
    setup = NodeSetup(sc, sc.kernel.profile(), np.random.SeedSequence(1))
    dst_ip = sc.workload[0].destinations[0].ip
    got = Counter(setup.allocator.pick_ip(ConnTuple(int(Proto.TCP), pod.ip, 0, dst_ip, 443))
                  for pod in setup.pods)
    groups = address_groups(sc, 0, dst_ip)
    assert {g.ip: g.pods for g in groups} == dict(got) and len(got) == 3
    assert sum(g.share for g in groups) == pytest.approx(1.0)
    for g in groups:  # client i on CPU i mod cpus: every CPU's share of the group's clients
        assert g.cpu_share.sum() == pytest.approx(1.0)


def test_each_address_has_its_own_window_per_destination() -> None:
    sc = snatsim.load_scenario("configs/default.toml", SNAT)
    steady = plan(sc)
    groups = address_groups(sc, 0, "203.0.113.10")
    assert [d.label for d in steady.destinations] == [f"tcp {g.ip} -> 203.0.113.10:443"
                                                      for g in groups]
    assert [d.rate_per_s for d in steady.destinations] == pytest.approx(
        [300.0 * g.share for g in groups])
    mc = snatsim.estimate(sc, rng=1, trials=1 << 16).summary()
    des = snatsim.simulate(snatsim.load_scenario("configs/default.toml", [
        *SNAT, "simulation.duration_s=12", "simulation.warmup_s=2"]), rng=1).summary()
    assert set(mc["ports"]["max_in_use"]) == set(des["ports"]["max_in_use"])


def test_aligned_tickers_over_several_addresses_are_refused_by_field() -> None:
    sc = snatsim.load_scenario("configs/legacy-rover.toml", [*SNAT])
    assert len(address_groups(sc, 0, sc.workload[0].destinations[0].ip)) > 1
    with pytest.raises(ConfigError) as err:
        snatsim.estimate(sc, trials=4096)
    assert err.value.field == "nat.to_source"
