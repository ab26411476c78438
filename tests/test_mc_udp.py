"""The Monte Carlo engine's UDP lookups (snatsim.mc.udp; spec §4.2, §6.2, §11, §12; issue #9)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import NODE_IP, occupy, udp

import snatsim
from snatsim.errors import ConfigError
from snatsim.kernel.confirm import ConfirmOutcome, confirm
from snatsim.kernel.conntrack import ConntrackTable, Entry
from snatsim.kernel.eras import ConfirmEra, NatEra
from snatsim.kernel.nat import NatRange, SnatAllocator
from snatsim.kernel.tuples import Proto
from snatsim.mc import engine
from snatsim.mc.steady import plan
from snatsim.mc.udp import UDP_TALLY, same_port_siblings, sibling_resolved, udp_law
from snatsim.rng import Draws

DNS = "configs/dns-udp.toml"
DNS_DST = ("198.51.100.53", 53)


def _nat_entry(nat_port: int) -> Entry:
    """A query of the pod socket 10.244.0.1:40000 SNATed to NODE_IP:nat_port, unconfirmed."""
    orig = udp("10.244.0.1", 40000, DNS_DST)
    e = Entry(orig)
    e.reply = udp(DNS_DST[0], DNS_DST[1], (NODE_IP, nat_port))
    e.nat_done = True
    return e


@pytest.mark.parametrize("era", list(ConfirmEra))
@pytest.mark.parametrize("identical", [True, False])
def test_sibling_resolution_is_the_kernel_confirm(era: ConfirmEra, identical: bool) -> None:
    """The engine's rule for the second confirm of one socket's two queries equals
    snatsim.kernel.confirm on the same pair (spec §6.2, §11's table)."""
    table = ConntrackTable()
    first, second = _nat_entry(40000), _nat_entry(40000 if identical else 50000)
    assert confirm(table, first, 0.0, era) is ConfirmOutcome.INSERTED
    accepted = confirm(table, second, 1e-6, era) is not ConfirmOutcome.DROPPED
    assert bool(sibling_resolved(era, np.array([identical]))[0]) == accepted


@pytest.mark.parametrize("era", [NatEra.A1, NatEra.A2, NatEra.A4])
@pytest.mark.parametrize("flag", ["", "random", "random_fully"])
@pytest.mark.parametrize("pod_port_busy", [False, True])
def test_concurrent_siblings_share_a_port_as_the_kernel_does(era: NatEra, flag: str,
                                                             pod_port_busy: bool) -> None:
    """Two NATs of one socket before either confirms (two CPUs, spec §11): same port exactly
    when same_port_siblings says so, kept or searched (kernel allocator, seeded draws)."""
    table = ConntrackTable()
    if pod_port_busy:
        occupy(table, 40000, dst=DNS_DST, proto=Proto.UDP)
    nat = SnatAllocator(era, NatRange(ips=(NODE_IP,), random=flag == "random",
                                      random_fully=flag == "random_fully"), secret=b"s")
    draws = Draws(np.random.default_rng(7))
    a, b = Entry(udp("10.244.0.1", 40000, DNS_DST)), Entry(udp("10.244.0.1", 40000, DNS_DST))
    port_a = nat.setup(a, table, 0.0, draws).port
    port_b = nat.setup(b, table, 0.0, draws).port
    assert (port_a == port_b) == same_port_siblings(era, flag == "random",
                                                    flag == "random_fully")


def test_dns_udp_plan() -> None:
    steady = plan(snatsim.load_scenario(DNS))
    (d,) = steady.destinations
    assert d.udp and d.label == "udp 192.0.2.10 -> 198.51.100.53:53"
    # a UDP socket binds any port of ip_local_port_range (no even-port walk, spec §8)
    assert (d.pod_lo, d.pod_step, d.pod_choices) == (32768, 1, 28232)
    (f,) = d.flows
    assert f.live_s == pytest.approx(30.002) and f.closing_s == 0.0 and f.pods == 40
    assert steady.udp_tries == {"resolvers": (2, 5.0)}
    assert float(d.held(10.0)) == pytest.approx(2000.0)  # filling: 200/s for 10 s


def _sums(**cols: float) -> np.ndarray:
    return np.array([[cols.get(name, 0.0) for name in UDP_TALLY]])


def test_udp_law_a_failed_try_leaves_an_entry_so_the_retry_goes_through() -> None:
    steady = plan(snatsim.load_scenario(DNS))
    law = udp_law(_sums(trials=100, natted=100, fail=30, lost=30, race=30), steady, 2, 5.0)
    assert law.mix.established == pytest.approx((0.7, 0.3))
    assert law.mix.latencies_s[1] == pytest.approx(5.0 + 0.002 + 1e-6)
    assert law.mix.failed == 0.0
    assert law.queries_sent == pytest.approx(2 * 1.3) and law.queries_lost == pytest.approx(0.3)
    assert law.causes == {"race": 0.3, "exhaustion": 0.0}


def test_udp_law_an_exhausted_window_fails_the_retries_too() -> None:
    """Two blocks: one with every try giving up and leaving no entry, one with none."""
    steady = plan(snatsim.load_scenario(DNS))
    sums = np.vstack([_sums(trials=10, natted=10, fail=10, lost=20, exhaustion=20, noentry=10),
                      _sums(trials=10, natted=10)])
    law = udp_law(sums, steady, 3, 5.0)
    assert law.mix.established == pytest.approx((0.5, 0.0, 0.0))
    assert law.mix.failed == pytest.approx(0.5)  # the resolver gives up after 3 tries
    assert law.queries_sent == pytest.approx(2 * (1 + 0.5 + 0.5))
    assert law.queries_lost == pytest.approx(2 * 0.5 * 3)
    assert law.causes["exhaustion"] == pytest.approx(3.0)


def test_summary_has_the_simulation_keys_for_udp() -> None:
    sc = snatsim.load_scenario(DNS, ["simulation.duration_s=2", "simulation.warmup_s=0"])
    des = snatsim.simulate(sc, rng=1).summary()
    mc = snatsim.estimate(sc, rng=1, trials=8_192).summary()
    assert set(des) <= set(mc)
    for key in ("conntrack", "connections", "udp_queries", "delayed_fraction", "drops", "ports"):
        assert set(des[key]) == set(mc[key]), key
    assert "ge_5s" in mc["delayed_fraction"]
    q = mc["udp_queries"]
    assert q["lookups"] == pytest.approx(400.0) == mc["connections"]["attempted"]
    assert q["sent"] == pytest.approx(2 * q["lookups"] + 2 * mc["delayed_counts"]["ge_5s"])


def test_udp_tallies_do_not_depend_on_the_chunk_size() -> None:
    steady = plan(snatsim.load_scenario(DNS, ["node.steering=random", "kernel.version=4.14"]))
    root = np.random.SeedSequence(2)
    ref = engine.run(steady, root, 3 * engine.BLOCK_TRIALS, chunk_trials=1)
    got = engine.run(steady, root, 3 * engine.BLOCK_TRIALS, chunk_trials=1 << 30)
    assert all(np.array_equal(x, y) for x, y in zip(ref.sums, got.sums, strict=True))


@pytest.mark.parametrize(("version", "dropped", "resolved"), [
    ("4.14", True, False),  # C1: the second confirm of one socket is dropped: a 5 s lookup
    ("5.4", False, True),  # C2: identical entries merge (insert_failed counts them)
    ("6.1", False, True),  # C3+: merged, clash_resolve
])
def test_sibling_race_on_spread_cpus_by_era(version: str, dropped: bool, resolved: bool) -> None:
    sc = snatsim.load_scenario(DNS, ["node.steering=random", f"kernel.version={version}"])
    s = snatsim.estimate(sc, rng=4, trials=1 << 16).summary()
    lookups = s["udp_queries"]["lookups"]
    # 3 of 4 lookups put their queries on two CPUs; ~0.5 % belong to a live entry of their pod
    spread = 0.75 * (1 - 0.005)
    assert s["delayed_fraction"]["ge_5s"] == pytest.approx(spread if dropped else 0.0, abs=0.01)
    clashes = s["conntrack"]["clash_resolve"] + (s["conntrack"]["insert_failed"]
                                                 if version == "5.4" else 0.0)
    assert (clashes / lookups == pytest.approx(spread, abs=0.01)) == resolved


def test_udp_tickers_are_refused_by_field() -> None:
    raw = snatsim.load_scenario(DNS).to_dict()
    wl = {k: v for k, v in raw["workload"][0].items() if k != "rate_per_s"}
    raw["workload"] = [wl | {"arrival": "periodic", "period_s": 60.0, "align_phase": True}]
    sc = snatsim.Scenario.from_dict(raw)
    with pytest.raises(ConfigError) as err:
        snatsim.estimate(sc, trials=4096)
    assert err.value.field == "workload.0.protocol"


def test_the_race_grid_reaches_a_lookup_whose_two_ports_are_both_taken() -> None:
    # A's and a concurrent B's clash odds add up to 2 at most: c = 2 x rate / 2 must lie on the
    # grid (halving race_c_max as for a TCP leader would read past its end)
    from snatsim.mc.udp import UdpSampler
    from snatsim.mc.window import race_given_rate

    steady = plan(snatsim.load_scenario(DNS, ["node.steering=random", "kernel.version=5.4",
                                              "nat.random_fully=true"]))
    sampler = UdpSampler(steady, 0)
    worst = 0.5 * 2.0 * float(sampler.other_rate.max())
    assert worst > 0
    got = sampler.race_odds(np.array([worst, 0.5 * worst]))
    exact = race_given_rate(steady.nat_to_confirm_us, np.array([worst, 0.5 * worst]))
    np.testing.assert_allclose(got, exact, rtol=1e-6)
