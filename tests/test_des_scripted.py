"""Exact event logs of the SimPy node on scripted inputs (spec §3, §4, §6, §9, §13, §16).

Every scenario here fixes the RTT (2 ms) and the NAT -> confirm window δ (2 µs) and lets each client
connect exactly once at a chosen instant (see ``des_scripts``), so the trace is a pure function of
the config and seed and can be asserted line by line: which CPU ran which NAT decision, which port
it chose, which confirm clashed, when the retransmit fired and what the application saw.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from des_scripts import RTT_S, WINDOW_S, latencies, of_flow, once, run, scenario, steps, when

from snatsim.config import Scenario
from snatsim.des.setup import NodeSetup
from snatsim.kernel.conntrack import seq_after
from snatsim.kernel.tuples import ConnTuple

NO_CAUSES = {"race": 0, "eviction": 0, "exhaustion": 0}
DNS = "198.51.100.53:53"


def same_port_pair(**fields: Any) -> dict[str, Any]:
    """Two pods whose sockets bind the same source port and connect at t = 0 (spec §13.2)."""
    return once("pair", 2, source_port=40000, **fields)


# ------------------------------------------------------------------ the SMP race (spec §3.2, §6.2)
def test_same_pod_port_on_two_cpus_clashes_at_confirm_and_retries_one_second_later() -> None:
    """4.14 (A1/C1/T1), 2 CPUs: both NAT decisions keep port 40000 (neither sees the other, both
    unconfirmed), the second confirm clashes -> one insert_failed + one drop, cause "race"; the
    SYN is retransmitted 1 s later with the same pod port, its NAT now sees 40000 taken and the
    rover search hands out 1024 (spec §4.4 A1, §6.2, §9, §16.1)."""
    result, records = run(scenario(same_port_pair(), kernel="4.14"))
    assert steps(records) == [
        (0.0, 1, "syn", 40000),
        (0.0, 1, "nat", 40000),
        (0.0, 2, "syn", 40000),
        (0.0, 2, "nat", 40000),
        (0.000002, 1, "confirm", 40000),
        (0.000002, 2, "drop", 40000),
        (0.002002, 1, "established", 40000),
        (1.0, 2, "retransmit", 40000),
        (1.0, 2, "nat", 1024),
        (1.000002, 2, "confirm", 1024),
        (1.002002, 2, "established", 1024),
    ]
    nats = [r for r in records if r["step"] == "nat"]
    assert [(r["cpu"], r["outcome"]) for r in nats] == [
        (0, "port-kept"), (1, "port-kept"), (1, "searched")
    ]
    assert of_flow(records, 2, "drop")[0]["cause"] == "race"

    s = result.summary()
    assert s["conntrack"]["insert_failed"] == 1 and s["conntrack"]["drop"] == 1
    assert s["conntrack"]["found"] == 1  # the retransmit's preservation probe (spec §7)
    assert s["insert_failed_causes"] == {**NO_CAUSES, "race": 1}
    assert s["syn"] == {"sent": 3, "dropped": 1}
    assert s["connections"]["established"] == 2
    lat = latencies(result)
    assert lat[1] == pytest.approx(RTT_S + WINDOW_S, abs=1e-9)
    assert lat[2] == pytest.approx(1.0 + RTT_S + WINDOW_S, abs=1e-9)
    row = result.to_frame().set_index("id").loc[2]
    assert (row["syns"], row["lost"], row["first_drop_cause"]) == (2, 1, "race")
    assert (row["nat_port"], bool(row["preserved"])) == (1024, False)


@pytest.mark.parametrize("kernel", ["3.10", "4.14", "4.19", "5.4", "5.10", "6.6", "6.18"])
def test_same_pod_port_race_exists_in_every_era(kernel: str) -> None:
    """Spec §13.2 / §16.1: without RANDOM flags two pods using the same port to the same
    destination at the same moment clash on every kernel; the first retransmit is 1 s later in
    T1 and T2 alike, and it gets a port other than the busy 40000."""
    result, records = run(scenario(same_port_pair(), kernel=kernel))
    assert [(t, f, step) for t, f, step, _ in steps(records, "drop", "retransmit")] == [
        (0.000002, 2, "drop"), (1.0, 2, "retransmit")
    ]
    retry_nat = of_flow(records, 2, "nat")[1]
    assert retry_nat["port"] != 40000 and retry_nat["outcome"] == "searched"
    assert of_flow(records, 2, "confirm")[0]["port"] == retry_nat["port"]
    assert result.summary()["insert_failed_causes"] == {**NO_CAUSES, "race": 1}


def test_busy_preserved_port_sends_both_searches_to_the_same_rover_port() -> None:
    """A1 rover (spec §4.4, §13.3): a long-lived connection holds NAT port 40000; at t = 0.5 two
    pods on different CPUs also bind 40000, preservation fails for both (busy), both rover
    searches start at the same offset and take 1024 (unconfirmed, so free to both): the second
    confirm clashes. The retransmit probes 1024 first (the rover points at the port just handed
    out), finds it confirmed and takes 1025."""
    holder = once("holder", source_port=40000)
    pair = once("pair", 2, at_s=0.5, source_port=40000)
    result, records = run(scenario(holder, pair, kernel="4.14"))
    assert steps(records)[4:] == [
        (0.5, 2, "syn", 40000),
        (0.5, 2, "nat", 1024),
        (0.5, 3, "syn", 40000),
        (0.5, 3, "nat", 1024),
        (0.500002, 2, "confirm", 1024),
        (0.500002, 3, "drop", 1024),
        (0.502002, 2, "established", 1024),
        (1.5, 3, "retransmit", 40000),
        (1.5, 3, "nat", 1025),
        (1.500002, 3, "confirm", 1025),
        (1.502002, 3, "established", 1025),
    ]
    assert [r["cpu"] for r in records if r["step"] == "nat"] == [0, 1, 0, 0]
    s = result.summary()
    assert s["insert_failed_causes"] == {**NO_CAUSES, "race": 1}
    # busy probes: 2 + 1 first-round preservation checks, then the retransmit's 40000 and 1024
    assert s["conntrack"]["found"] == 4
    assert latencies(result)[3] == pytest.approx(1.0 + RTT_S + WINDOW_S, abs=1e-9)


def test_to_ports_skips_preservation_and_both_ephemeral_searches_take_the_rover_port() -> None:
    """A1 with --to-ports 20000-20099: the pods' ephemeral ports lie outside the window, so
    preservation is skipped (spec §4.2 step 3) and both searches start at the shared rover: the
    same port 20000 for both, a clash, and 20001 for the retransmit."""
    pair = once("pair", 2)
    result, records = run(scenario(pair, kernel="4.14", nat={"to_ports": "20000-20099"}))
    pod_ports = [p for _, _, _, p in steps(records, "syn")]
    assert len(set(pod_ports)) == 2 and all(p is not None and p >= 32768 for p in pod_ports)
    assert [(t, f, step, p) for t, f, step, p in steps(records) if step != "syn"] == [
        (0.0, 1, "nat", 20000),
        (0.0, 2, "nat", 20000),
        (0.000002, 1, "confirm", 20000),
        (0.000002, 2, "drop", 20000),
        (0.002002, 1, "established", 20000),
        (1.0, 2, "retransmit", pod_ports[1]),
        (1.0, 2, "nat", 20001),
        (1.000002, 2, "confirm", 20001),
        (1.002002, 2, "established", 20001),
    ]
    assert result.summary()["insert_failed_causes"] == {**NO_CAUSES, "race": 1}


def test_one_cpu_serializes_the_pair_so_the_second_nat_sees_the_first_confirmed() -> None:
    """Spec §3.2, §16.1: on one CPU the second packet's NAT starts after the first's confirm,
    sees 40000 taken and searches: no clash, and a delay of one window, not one second."""
    result, records = run(scenario(same_port_pair(), kernel="4.14", cpus=1))
    assert steps(records) == [
        (0.0, 1, "syn", 40000),
        (0.0, 1, "nat", 40000),
        (0.0, 2, "syn", 40000),
        (0.000002, 1, "confirm", 40000),
        (0.000002, 2, "nat", 1024),
        (0.000004, 2, "confirm", 1024),
        (0.002002, 1, "established", 40000),
        (0.002004, 2, "established", 1024),
    ]
    s = result.summary()
    assert s["conntrack"]["insert_failed"] == 0 and s["conntrack"]["drop"] == 0
    assert s["insert_failed_causes"] == NO_CAUSES
    assert latencies(result)[2] == pytest.approx(RTT_S + 2 * WINDOW_S, abs=1e-9)


def test_one_cpu_serializes_three_packets_queued_at_one_instant() -> None:
    """BUG PIN (spec §3.2, §13.1, §16.1): three pods bind port 40000 at t = 0 on a 1-CPU node.
    Packets on one CPU must never race: flow 3's NAT (at 4 µs, when the CPU frees) must see flow
    2's entry confirmed (also at 4 µs) and pick 1025. The model runs flow 3's NAT *before* flow
    2's confirm at that instant (its NAT event was queued at t = 0, the confirm only when flow 2's
    NAT ran), so flow 3 takes 1024 too and is dropped as a "race" on a single CPU."""
    result, records = run(scenario(once("trio", 3, source_port=40000), kernel="4.14", cpus=1))
    assert steps(records, "nat", "confirm", "drop") == [
        (0.0, 1, "nat", 40000),
        (0.000002, 1, "confirm", 40000),
        (0.000002, 2, "nat", 1024),
        (0.000004, 2, "confirm", 1024),
        (0.000004, 3, "nat", 1025),
        (0.000006, 3, "confirm", 1025),
    ]
    assert result.summary()["insert_failed_causes"] == NO_CAUSES


def test_random_fully_removes_the_same_port_race() -> None:
    """--random-fully on A1: no preservation, each search starts at its own PRNG offset, so the
    two NAT ports differ (seed 1: 21310 and 2031) and nothing clashes (spec §4.4, §16.1)."""
    result, records = run(scenario(same_port_pair(), kernel="4.14", nat={"random_fully": True}))
    nats = [r for r in records if r["step"] == "nat"]
    assert [(r["flow"], r["cpu"], r["outcome"]) for r in nats] == [
        (1, 0, "searched"), (2, 1, "searched")
    ]
    ports = [r["port"] for r in nats]
    assert ports[0] != ports[1] and 40000 not in ports
    assert ports == [21310, 2031]  # pinned for seed 1
    assert [r["port"] for r in records if r["step"] == "confirm"] == ports
    s = result.summary()
    assert s["conntrack"]["insert_failed"] == 0 and s["syn"]["dropped"] == 0


def test_snat_false_never_clashes_even_with_identical_pod_ports() -> None:
    """A destination excluded from masquerade keeps the pod address: the two pods' tuples differ
    in the source IP, so identical ports at the same instant on two CPUs cannot clash."""
    result, records = run(scenario(same_port_pair(snat=False), kernel="4.14"))
    assert steps(records, "nat", "confirm", "drop") == [
        (0.0, 1, "nat", 40000),
        (0.0, 2, "nat", 40000),
        (0.000002, 1, "confirm", 40000),
        (0.000002, 2, "confirm", 40000),
    ]
    assert {r["outcome"] for r in records if r["step"] == "nat"} == {"preserved"}
    s = result.summary()
    assert s["conntrack"]["insert_failed"] == 0 and s["insert_failed_causes"] == NO_CAUSES
    assert s["ports"]["preserved_fraction"] == 1.0


# ------------------------------------------------------- exhaustion and eviction (spec §5.3, §16.1)
@pytest.mark.parametrize("kernel", ["5.4", "6.6"])
def test_full_to_ports_window_of_established_entries_drops_as_exhaustion(kernel: str) -> None:
    """--to-ports 20000-20001 held by two ESTABLISHED connections: a third SYN's search gives up on
    a busy port and confirm drops it, first SYN and retransmit alike, cause "exhaustion"; on 6.6
    too, since ESTABLISHED entries are never evictable (spec §4.4, §5.3, §16.1)."""
    holders = once("holders", 2)
    late = once("late", at_s=0.5)
    s = scenario(holders, late, kernel=kernel, cpus=1, duration_s=2.0,
                 nat={"to_ports": "20000-20001"})
    result, records = run(s)
    assert [(t, f, step) for t, f, step, _ in steps(records, "nat", "confirm", "drop")] == [
        (0.0, 1, "nat"),
        (0.000002, 1, "confirm"),
        (0.000002, 2, "nat"),
        (0.000004, 2, "confirm"),
        (0.5, 3, "nat"),
        (0.500002, 3, "drop"),
        (1.5, 3, "nat"),
        (1.500002, 3, "drop"),
    ]
    assert {r["outcome"] for r in of_flow(records, 3, "nat")} == {"gave-up"}
    assert {r["cause"] for r in of_flow(records, 3, "drop")} == {"exhaustion"}
    summary = result.summary()
    assert summary["insert_failed_causes"] == {**NO_CAUSES, "exhaustion": 2}
    assert summary["conntrack"]["insert_failed"] == summary["conntrack"]["drop"] == 2
    assert summary["connections"]["in_flight"] == 1


def _time_wait_script(kernel: str, seed: int) -> Scenario:
    """Two connections take 20000-20001 at t = 0 and close with FIN (TIME_WAIT, 120 s) at about
    0.1 s; a third pod connects at t = 0.5 into the full window of closing entries."""
    holders = once("holders", 2, hold_s=0.1, close="fin")
    late = once("late", at_s=0.5)
    return scenario(holders, late, kernel=kernel, cpus=1, duration_s=2.0, seed=seed,
                    nat={"to_ports": "20000-20001"})


def _evictable(s: Scenario, records: list[dict[str, Any]]) -> list[bool]:
    """For each holder (flows 1, 2): does the late SYN's sequence pass the eviction test?

    Recomputes the ISNs as the model draws them (``NodeSetup.isn``): an entry's highest sequence
    end is ISN + 1 after the SYN and ISN + 2 after the FIN (spec §5.3).
    """
    setup = NodeSetup(s, s.kernel.profile(), np.random.SeedSequence(s.simulation.seed))
    dst_ip, dst_port = s.workload[0].destinations[0].ip, s.workload[0].destinations[0].port
    isn = {}
    for r in records:
        if r["step"] == "syn":
            orig = ConnTuple(6, setup.pods[r["pod"]].ip, r["port"], dst_ip, dst_port)
            isn[r["flow"]] = setup.isn(orig, r["t_s"])
    return [seq_after((isn[3] + 1) & 0xFFFFFFFF, (isn[f] + 2) & 0xFFFFFFFF) for f in (1, 2)]


def test_time_wait_window_on_6_6_eviction_refused_by_the_sequence_test() -> None:
    """6.6 (A3), seed 1: the late SYN's ISN is behind both TIME_WAIT holders, so every eviction
    in the 2-probe round (<= 32 probes left: all may evict) is refused, the search gives up and
    confirm drops: cause "eviction". The retransmit keeps its ISN and is refused again (§16.2).
    Eviction probes never count ``found`` (§16.3)."""
    s = _time_wait_script("6.6", seed=1)
    result, records = run(s)
    assert _evictable(s, records) == [False, False]
    assert [(t, f, step) for t, f, step, _ in steps(records, "close", "drop", "retransmit")] == [
        (0.102002, 1, "close"),
        (0.102004, 2, "close"),
        (0.500002, 3, "drop"),
        (1.5, 3, "retransmit"),
        (1.500002, 3, "drop"),
    ]
    summary = result.summary()
    assert summary["insert_failed_causes"] == {**NO_CAUSES, "eviction": 2}
    assert summary["conntrack"]["found"] == 0


def test_time_wait_window_on_6_6_evicts_when_the_sequence_is_ahead() -> None:
    """6.6, seed 2: the late SYN is ahead of holder 2 (port 20001), which is evicted: the SYN
    takes its port, confirms and gets through at once (spec §5.3)."""
    s = _time_wait_script("6.6", seed=2)
    result, records = run(s)
    assert _evictable(s, records) == [False, True]
    assert steps(records, "nat", "confirm", "drop")[-2:] == [
        (0.5, 3, "nat", 20001), (0.500002, 3, "confirm", 20001)
    ]
    summary = result.summary()
    assert summary["syn"]["dropped"] == 0 and summary["insert_failed_causes"] == NO_CAUSES
    assert latencies(result)[3] == pytest.approx(RTT_S + WINDOW_S, abs=1e-9)


@pytest.mark.parametrize("seed", [1, 2])
def test_time_wait_window_before_6_5_is_exhaustion(seed: int) -> None:
    """The same script on 5.4 (A2, no eviction): TIME_WAIT entries hold their ports for 120 s, so
    both SYNs are dropped as exhaustion whatever the sequence numbers."""
    result, records = run(_time_wait_script("5.4", seed=seed))
    assert {r["cause"] for r in records if r["step"] == "drop"} == {"exhaustion"}
    assert result.summary()["insert_failed_causes"] == {**NO_CAUSES, "exhaustion": 2}


# ---------------------------------------------------------------- SYN schedule cost (spec §9, §16.7)
def _two_lost_syns(kernel: str, **tcp: int) -> Scenario:
    """A 1-port window (--to-ports 20000) held until ~1.9 s, then RST-closed into a 0.1 s CLOSE
    state: the victim (first SYN at 0.5 s) loses its SYNs at 0.5 and 1.5 s and gets through with
    the first SYN sent after ~2.0 s."""
    holder = once("holder", hold_s=1.9, close="rst")
    victim = once("victim", at_s=0.5, hold_s=0.1)
    extra = {"tcp": dict(tcp)} if tcp else {}
    return scenario(holder, victim, kernel=kernel, cpus=1, duration_s=4.0,
                    nat={"to_ports": "20000"}, conntrack={"tcp_timeout_close_s": 0.1}, **extra)


@pytest.mark.parametrize(
    ("kernel", "tcp", "cost_s", "found"),
    [
        ("6.6", {}, 2.0, 0),  # T2: 1 s, 1 s (linear); eviction-path probes do not count found
        ("6.18", {}, 2.0, 0),
        ("5.10", {}, 3.0, 2),  # T1: 1 s, 2 s
        ("6.6", {"syn_linear_timeouts": 0}, 3.0, 0),  # spec §16.7
    ],
)
def test_two_lost_syns_cost_two_seconds_on_t2_and_three_on_t1(
    kernel: str, tcp: dict[str, int], cost_s: float, found: int
) -> None:
    result, records = run(_two_lost_syns(kernel, **tcp))
    victim = [(t, step) for t, f, step, _ in steps(records) if f == 2]
    assert victim == [
        (0.5, "syn"),
        (0.5, "nat"),
        (0.500002, "drop"),
        (1.5, "retransmit"),
        (1.5, "nat"),
        (1.500002, "drop"),
        (0.5 + cost_s, "retransmit"),
        (0.5 + cost_s, "nat"),
        (when(0.5 + cost_s + WINDOW_S), "confirm"),
        (when(0.5 + cost_s + WINDOW_S + RTT_S), "established"),
        (when(0.5 + cost_s + WINDOW_S + RTT_S + 0.1), "close"),
    ]
    assert latencies(result)[2] == pytest.approx(cost_s + RTT_S + WINDOW_S, abs=1e-9)
    s = result.summary()
    assert s["insert_failed_causes"] == {**NO_CAUSES, "exhaustion": 2}
    assert s["delayed_counts"]["ge_2s"] == 1
    assert s["delayed_counts"]["ge_3s"] == (1 if cost_s >= 3.0 else 0)
    assert s["conntrack"]["found"] == found


def test_app_connect_timeout_below_one_second_turns_a_lost_syn_into_an_error() -> None:
    """Spec §9: with connect_timeout_s = 0.5 the dropped SYN is never retransmitted; the app
    gives up at t0 + 0.5 s: one app timeout, which the delayed figures count at every
    threshold (a connect that never completed is at least as bad as a slow one)."""
    holder = once("holder", hold_s=1.9, close="rst")
    victim = once("victim", at_s=0.5, connect_timeout_s=0.5)
    result, records = run(scenario(holder, victim, kernel="6.6", cpus=1,
                                   nat={"to_ports": "20000"}))
    victim_steps = [(t, step) for t, f, step, _ in steps(records) if f == 2]
    assert victim_steps == [(0.5, "syn"), (0.5, "nat"), (0.500002, "drop"), (1.0, "app-timeout")]
    s = result.summary()
    assert s["connections"] == {
        "attempted": 2, "established": 1, "failed": 0, "app_timeouts": 1, "local_errors": 0,
        "in_flight": 0,
    }
    assert s["syn"] == {"sent": 2, "dropped": 1}
    assert s["delayed_counts"] == {
        "ge_1s": 1, "ge_2s": 1, "ge_3s": 1, "of": 2, "never_completed": 1
    }
    assert latencies(result)[2] is None


# ---------------------------------------------------------------- UDP / DNS (spec §6.2, §11)
@pytest.mark.parametrize("kernel", ["4.4", "4.9", "6.18"])
def test_two_queries_of_one_socket_on_one_cpu_do_not_clash(kernel: str) -> None:
    """The AAAA query follows the A query on the same CPU: its conntrack "in" finds the A query's
    entry already confirmed and simply belongs to it (no NAT, no confirm, no counter)."""
    dns = once("dns", protocol="udp", destinations=[DNS])
    result, records = run(scenario(dns, kernel=kernel, cpus=4))
    port = records[0]["port"]
    assert steps(records) == [
        (0.0, 1, "query", port),
        (0.0, 1, "nat", port),
        (0.0, 1, "query", port),
        (0.000002, 1, "confirm", port),
        (0.002002, 1, "answered", port),
    ]
    s = result.summary()
    assert s["conntrack"]["insert_failed"] == s["conntrack"]["clash_resolve"] == 0
    assert latencies(result)[1] == pytest.approx(RTT_S + WINDOW_S, abs=1e-9)


def _dns_on_random_cpus(kernel: str) -> Scenario:
    """Eight one-socket lookups, 0.1 s apart (never overlapping), each query steered to a random
    one of 4 CPUs; seed 1 puts the two queries of every lookup but the 2nd on different CPUs."""
    lookups = [
        once(f"dns{i}", protocol="udp", at_s=0.1 * i, destinations=[DNS])
        for i in range(8)
    ]
    return scenario(*lookups, kernel=kernel, cpus=4, seed=1, duration_s=6.0,
                    node={"steering": "random"})


SPLIT = [1, 3, 4, 5, 6, 7, 8]  # lookups whose two queries were NATed on two CPUs (seed 1)


def _split_lookups(records: list[dict[str, Any]]) -> list[int]:
    flows = [r["flow"] for r in records if r["step"] == "nat"]
    return sorted({f for f in flows if flows.count(f) == 2})


@pytest.mark.parametrize(
    ("kernel", "insert_failed", "drop"),
    [("4.4", 7, 0), ("4.9", 7, 7)],  # C0 counts insert_failed only; C1 also drop (spec §7)
)
def test_dns_siblings_on_two_cpus_are_dropped_before_4_19_and_retried_after_5_s(
    kernel: str, insert_failed: int, drop: int
) -> None:
    """C0/C1: the two queries get identical NAT (the AAAA query finds the A query's mapping by
    source) but the winner has a NAT binding, so the loser is dropped; the resolver resends after
    retry_timeout_s = 5 s, when the A query's entry answers both (spec §6.2, §11)."""
    result, records = run(_dns_on_random_cpus(kernel))
    assert _split_lookups(records) == SPLIT
    drops = [(t, f) for t, f, _, _ in steps(records, "drop")]
    assert drops == [(when(0.1 * (f - 1) + WINDOW_S), f) for f in SPLIT]
    for f in SPLIT:
        queries = [t for t, g, _, _ in steps(records, "query") if g == f]
        assert queries == [when(0.1 * (f - 1))] * 2 + [when(0.1 * (f - 1) + 5.0)] * 2
    s = result.summary()
    assert (s["conntrack"]["insert_failed"], s["conntrack"]["drop"]) == (insert_failed, drop)
    assert s["conntrack"]["clash_resolve"] == 0
    assert s["insert_failed_causes"] == {**NO_CAUSES, "race": 7}
    lat = latencies(result)
    for f in SPLIT:  # the resend's queries may queue for one window behind each other
        assert lat[f] is not None
        assert 5.0 + RTT_S - 1e-9 <= lat[f] <= 5.0 + RTT_S + WINDOW_S + 1e-9
    assert lat[2] == pytest.approx(RTT_S + WINDOW_S, abs=1e-9)
    assert s["delayed_counts"]["ge_3s"] == 7


@pytest.mark.parametrize(
    ("kernel", "insert_failed", "clash_resolve"),
    [("4.19", 7, 0), ("5.10", 0, 7), ("6.18", 0, 7)],  # C2 counts resolved clashes as insert_failed
)
def test_dns_siblings_on_two_cpus_merge_from_4_19(
    kernel: str, insert_failed: int, clash_resolve: int
) -> None:
    """C2+: identical entries merge at confirm, so no query is dropped and every lookup is answered
    one window + one RTT after it started (spec §2.2, §6.2)."""
    result, records = run(_dns_on_random_cpus(kernel))
    assert _split_lookups(records) == SPLIT
    assert [o for o in (r.get("outcome") for r in records if r["step"] == "confirm")].count(
        "merged"
    ) == 7
    s = result.summary()
    assert s["conntrack"]["insert_failed"] == insert_failed
    assert s["conntrack"]["clash_resolve"] == clash_resolve
    assert s["conntrack"]["drop"] == 0 and s["syn"]["dropped"] == 0
    assert all(
        lat == pytest.approx(RTT_S + WINDOW_S, abs=1e-9) for lat in latencies(result).values()
    )
