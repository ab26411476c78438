"""DES tests that pin each ``conntrack -S`` counter and timer to the scripted event that moves it.

Scripted scenarios as in ``test_des_scripted`` (fixed RTT and δ, clients that connect once at a
chosen instant). Each test checks a counter moves where the kernel moves it and stays still where
it does not (spec §6, §7, §9, §10, §11).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from des_scripts import RTT_S, WINDOW_S, latencies, of_flow, once, run, scenario, steps, when

from snatsim.des.node import POD_TIME_WAIT_S
from snatsim.des.setup import NodeSetup
from snatsim.kernel.tuples import ConnTuple, Proto
from snatsim.results import simulate

DNS = "198.51.100.53:53"
ALL_ZERO = dict.fromkeys(
    ("found", "insert", "insert_failed", "drop", "early_drop", "clash_resolve", "chaintoolong",
     "search_restart"), 0,
)


def counters(result: Any) -> dict[str, int]:
    return dict(result.summary()["conntrack"])


# ------------------------------------------------------------------ table full (spec §10)
def test_full_table_early_drops_an_unassured_udp_entry_for_a_new_syn() -> None:
    """conntrack.max = 1: a UDP lookup's entry (replied, never ASSURED) fills the table; the SYN at
    0.5 s evicts it (early_drop+1) and gets through. Nothing else moves."""
    dns = once("dns", protocol="udp", destinations=[DNS])
    web = once("web", at_s=0.5)
    result, records = run(scenario(dns, web, cpus=1, conntrack={"max": 1}))
    assert counters(result) == {**ALL_ZERO, "early_drop": 1}
    assert [(t, f, step) for t, f, step, _ in steps(records, "confirm", "drop", "established")
            if f == 2] == [(when(0.5 + WINDOW_S), 2, "confirm"),
                           (when(0.5 + WINDOW_S + RTT_S), 2, "established")]
    assert result.summary()["drops"]["table_full"] == 0


def test_full_table_of_assured_entries_drops_the_syn_without_early_drop() -> None:
    """conntrack.max = 1 held by an ESTABLISHED (ASSURED) connection: nothing is evictable, the
    new SYN is dropped in conntrack "in" (drop+1, table_full+1, no insert_failed, no early_drop)
    and retransmitted every second (T2 linear timeouts) into the still-full table."""
    holder = once("holder")
    web = once("web", at_s=0.5)
    result, records = run(scenario(holder, web, cpus=1, conntrack={"max": 1}))
    s = result.summary()
    assert counters(result) == {**ALL_ZERO, "drop": 3}
    assert s["drops"]["table_full"] == 3
    assert [(t, step) for t, f, step, _ in steps(records, "drop") if f == 2] == [
        (0.5, "drop"), (1.5, "drop"), (2.5, "drop")]
    assert s["syn"] == {"sent": 4, "dropped": 3}


def test_table_below_max_never_early_drops() -> None:
    """The same two flows with room for both: early_drop and drop stay 0."""
    dns = once("dns", protocol="udp", destinations=[DNS])
    web = once("web", at_s=0.5)
    result, _ = run(scenario(dns, web, cpus=1, conntrack={"max": 2}))
    assert counters(result) == ALL_ZERO


# ------------------------------------------------------------------ UDP timers (spec §10, §11)
def test_udp_entry_timeout_restarts_at_the_reply() -> None:
    """udp_timeout_s = 0.6 and a 0.5 s RTT: the entry confirmed at δ would expire at 0.6 s, but the
    reply at 0.5 s + δ restarts it to 1.1 s + δ, so the GC sample at 1 s still holds it and the one
    at 2 s does not."""
    dns = once("dns", protocol="udp", destinations=[DNS])
    result, _ = run(scenario(dns, cpus=1, network={"rtt_s": 0.5},
                             conntrack={"udp_timeout_s": 0.6}))
    assert result.timeseries()["conntrack_entries"].tolist()[:2] == [1, 0]


@pytest.mark.parametrize(("retry_s", "attempts"), [(5.0, 3), (2.0, 4)])
def test_resolver_resends_at_multiples_of_its_timeout(retry_s: float, attempts: int) -> None:
    """A full table of ASSURED entries drops every query (drop and table_full, spec §10); the
    resolver resends at t0 + k·timeout (spec §11: timeout:5 by default) and gives up at
    t0 + attempts·timeout."""
    holder = once("holder")
    dns = once("dns", at_s=0.5, protocol="udp", destinations=[DNS], retry_timeout_s=retry_s,
               attempts=attempts)
    result, records = run(scenario(holder, dns, cpus=1, duration_s=20.0, conntrack={"max": 1}))
    tries = [t for t, f, step, _ in steps(records, "query") if f == 2]
    assert tries == [when(0.5 + k * retry_s) for k in range(attempts) for _ in range(2)]
    assert [t for t, f, step, _ in steps(records, "resolver-timeout") if f == 2] == [
        when(0.5 + attempts * retry_s)]
    s = result.summary()
    assert counters(result) == {**ALL_ZERO, "drop": 2 * attempts}
    assert s["drops"]["table_full"] == 2 * attempts
    assert s["connections"]["failed"] == 1


def test_resolver_default_timeout_is_five_seconds() -> None:
    """Without retry_timeout_s the first resend comes 5 s after the first try (spec §11)."""
    holder = once("holder")
    dns = once("dns", at_s=0.5, protocol="udp", destinations=[DNS])
    _, records = run(scenario(holder, dns, cpus=1, duration_s=8.0, conntrack={"max": 1}))
    assert sorted({t for t, f, _, _ in steps(records, "query") if f == 2}) == [0.5, 5.5]


# ------------------------------------------------------------------ TCP timers (spec §5.3, §9)
def test_isn_advances_with_a_64_ns_clock() -> None:
    """RFC 6528 ISN: the same 4-tuple one second later is 10⁹/64 sequence numbers ahead (u32)."""
    s = scenario(once())
    setup = NodeSetup(s, s.kernel.profile(), np.random.SeedSequence(1))
    orig = ConnTuple(int(Proto.TCP), "10.244.0.2", 40000, "203.0.113.10", 443)
    base = setup.isn(orig, 0.0)
    for t_s in (1.0, 2.5, 100.0):
        assert (setup.isn(orig, t_s) - base) % 2**32 == int(t_s * 1e9) >> 6


def _lost_first_syn(timeout_s: float) -> tuple[Any, list[dict[str, Any]]]:
    """The victim's first SYN (at 0.5 s) meets a full 1-port window held until 1.9 s."""
    holder = once("holder", hold_s=1.9, close="rst")
    victim = once("victim", at_s=0.5, connect_timeout_s=timeout_s)
    return run(scenario(holder, victim, kernel="6.6", cpus=1, nat={"to_ports": "20000"}))


def test_app_timeout_exactly_at_the_retransmit_time_wins() -> None:
    """connect_timeout_s = 1.0 equals the first RTO: the app gives up at 1.5 s and the SYN is not
    retransmitted (the timer that fires first at the same instant is the app's, node.py)."""
    result, records = _lost_first_syn(1.0)
    assert [(t, step) for t, f, step, _ in steps(records) if f == 2] == [
        (0.5, "syn"), (0.5, "nat"), (0.500002, "drop"), (1.5, "app-timeout")]
    assert result.summary()["syn"] == {"sent": 2, "dropped": 1}


def test_app_timeout_just_after_the_retransmit_lets_it_go() -> None:
    """connect_timeout_s = 1 s + 1 µs: the retransmit at 1.5 s is sent before the app gives up."""
    _, records = _lost_first_syn(1.0 + 1e-6)
    assert [step for _, f, step, _ in steps(records) if f == 2][3] == "retransmit"


def test_syn_ack_exactly_at_the_app_timeout_is_established() -> None:
    """A SYN-ACK arriving exactly connect_timeout_s after connect() counts as in time."""
    exact_s = (0.0 + WINDOW_S) + RTT_S  # computed the way the model adds it up
    result, _ = run(scenario(once(connect_timeout_s=exact_s)))
    assert result.summary()["connections"]["established"] == 1
    assert latencies(result)[1] == exact_s
    late, _ = run(scenario(once(connect_timeout_s=exact_s * (1 - 1e-9))))
    assert late.summary()["connections"]["app_timeouts"] == 1


# ------------------------------------------------------------------ pod TIME_WAIT (spec §8)
def test_a_pod_never_reuses_a_source_port_within_60_s_of_closing_it() -> None:
    """One pod, 40 short FIN-closed connects/s to one destination for 150 s: the pod kernel's
    connect() skips ports whose socket is in TIME_WAIT, so no (pod, port) pair opens again within
    60 s of its close (spec §8; node.POD_TIME_WAIT_S). Enough connects that bucket changes of
    the port hash land on recently used ports, so the scan does meet TIME_WAIT ports."""
    s = scenario(
        {"name": "w", "pods": 1, "arrival": "poisson", "rate_per_s": 40.0, "destinations":
         ["203.0.113.10:443"], "hold_s": 0.01, "close": "fin"},
        duration_s=150.0,
    )
    frame = simulate(s, rows="all").to_frame().sort_values("start_s")
    assert len(frame) > 5000
    gaps = []
    last_end: dict[int, float] = {}
    for port, start, end in zip(frame["pod_port"], frame["start_s"], frame["end_s"], strict=True):
        if port in last_end:
            gaps.append(start - last_end[port])
        last_end[port] = end
    assert gaps, "no port was ever reused: the test does not reach TIME_WAIT"
    assert min(gaps) >= POD_TIME_WAIT_S
    assert POD_TIME_WAIT_S == 60.0


# ------------------------------------------------------------------ clash counters (spec §6.2)
def test_udp_reply_clash_of_two_pods_is_dropped_on_c3_plus() -> None:
    """Two pods send from fixed port 40000 on two CPUs: both keep 40000, so the second confirm
    clashes on the *reply* tuple only: not resolvable on C3+ (drop, insert_failed), no
    clash_resolve. The AAAA query queued behind it then searches another port."""
    pair = once("pair", 2, protocol="udp", destinations=[DNS], source_port=40000)
    result, records = run(scenario(pair, duration_s=8.0))
    c = counters(result)
    assert (c["insert_failed"], c["drop"], c["clash_resolve"], c["early_drop"]) == (1, 1, 0, 0)
    assert {r["cause"] for r in records if r["step"] == "drop"} == {"race"}


def test_udp_orig_clash_with_unique_reply_is_resolved_as_nat_clash() -> None:
    """The two queries of one socket on two CPUs with --random-fully: the second NAT picks a
    different port, so its original tuple clashes but its reply tuple is unique: C3+ inserts it
    as a NAT_CLASH entry (clash_resolve+1, no drop)."""
    dns = [once(f"dns{i}", protocol="udp", at_s=0.1 * i, destinations=[DNS]) for i in range(8)]
    result, records = run(scenario(*dns, cpus=4, seed=1, duration_s=6.0,
                                   node={"steering": "random"}, nat={"random_fully": True}))
    outcomes = [r.get("outcome") for r in records if r["step"] == "confirm"]
    c = counters(result)
    assert c["clash_resolve"] == outcomes.count("nat-clash") > 0
    assert c["drop"] == c["insert_failed"] == 0
    assert of_flow(records, 1, "answered")


def test_udp_orig_clash_whose_reply_is_also_taken_is_dropped() -> None:
    """--random-fully over a 2-port window, queries on random CPUs (seed 12): pod z's lookup
    takes 20001; pod s's A query takes 20000 and its AAAA query 20001 (z's entry was not yet
    confirmed when it looked). At the AAAA confirm its original tuple clashes with s's A entry
    *and* its reply tuple with z's: no NAT_CLASH insert is possible, the query is dropped
    (insert_failed+1, drop+1, no clash_resolve), spec §6.2."""
    z = once("z", protocol="udp", destinations=[DNS])
    s = once("s", protocol="udp", destinations=[DNS])
    result, records = run(scenario(z, s, cpus=4, seed=12, duration_s=2.0,
                                   node={"steering": "random"},
                                   nat={"random_fully": True, "to_ports": "20000-20001"}))
    assert [(f, step, port) for _, f, step, port in steps(records, "nat", "confirm", "drop")] == [
        (1, "nat", 20001), (2, "nat", 20000), (2, "nat", 20001),
        (1, "confirm", 20001), (2, "confirm", 20000), (2, "drop", 20001),
    ]
    assert counters(result) == {**ALL_ZERO, "insert_failed": 1, "drop": 1}


@pytest.mark.parametrize(("kernel", "insert"), [("3.10", 2), ("4.9", 0), ("6.18", 0)])
def test_insert_counts_only_on_3x_and_found_counts_the_busy_preservation_probe(
    kernel: str, insert: int
) -> None:
    """Two pods bind port 40000, 0.5 s apart: the second NAT finds 40000 busy (found+1, spec §7)
    and searches; both confirms insert, which ``insert`` counts only in C0 (3.x). chaintoolong and
    search_restart are not modelled and never move."""
    first = once("first", source_port=40000)
    second = once("second", at_s=0.5, source_port=40000)
    result, records = run(scenario(first, second, kernel=kernel))
    assert counters(result) == {**ALL_ZERO, "found": 1, "insert": insert}
    assert of_flow(records, 2, "nat")[0]["port"] != 40000
