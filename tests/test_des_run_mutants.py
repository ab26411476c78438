"""The run loop's edges that mutation testing found unpinned (docs/mutation.md, issue #7).

The GC pass and the sample due exactly at the end of the run, the drain stopping as soon as every
connect has resolved, the trace's close records, the count of UDP queries sent, the progress
callback and the garbage collector's state after a run. Every scenario is scripted
(``des_scripts``): the expected values are exact.
"""

from __future__ import annotations

import gc

import pytest
from des_scripts import DST, once, run, scenario, steps

from snatsim.results import simulate

DNS = "198.51.100.53:53"


@pytest.mark.parametrize(("gc_interval_s", "entries"), [(1.0, [1, 1, 0]), (2.0, [1, 1, 1])])
def test_the_last_sample_sees_the_table_as_the_gc_due_at_the_end_left_it(
    gc_interval_s: float, entries: list[int]
) -> None:
    """One connection reset at 0.502002 s: its CLOSE entry expires at 2.702002 s, during the last
    second. A GC due at t = 3 (every 1 s) runs before the sample at 3 and collects it; with
    passes every 2 s none is due at 3, so the last sample still counts the expired entry (spec
    §5.1: expired entries count until a GC pass collects them)."""
    s = scenario(once("w", hold_s=0.5, close="rst"), duration_s=3.0,
                 conntrack={"tcp_timeout_close_s": 2.2, "gc_interval_s": gc_interval_s})
    result, _ = run(s)
    assert result.series.conntrack_entries == entries


def test_the_drain_stops_as_soon_as_every_connect_has_resolved() -> None:
    """Connections established at once and held 5 s past the end: nothing is pending at the end,
    so the drain adds nothing (the connections are recorded open, not closed 5 s later)."""
    w = once("w", 2, hold_s=6.0)
    drained = simulate(scenario(w, duration_s=1.0, simulation={"drain": True}), rng=2, rows="all")
    plain = simulate(scenario(w, duration_s=1.0), rng=2, rows="all")
    assert [r.end_s for r in drained.rows] == [None, None]
    assert drained.rows == plain.rows


def test_the_drain_runs_a_second_at_a_time() -> None:
    """Flow 2 connects 0.5 ms before the end and is established during the drain's first second;
    the drain stops at 4 s, so flow 1, which closes at 4.5 s, is recorded still open."""
    s = scenario(once("a", hold_s=4.498), once("b", at_s=2.9995), duration_s=3.0,
                 simulation={"drain": True})
    result, _ = run(s)
    assert [(r.id, r.end_s) for r in result.rows] == [(1, None), (2, None)]
    assert result.rows[1].outcome == "established"


def test_the_gc_keeps_collecting_during_the_drain() -> None:
    """nf_conntrack_max = 1. Flow 1's CLOSE entry (reset at 0.502002 s) expires at 3.102002 s,
    after the end (3 s); flow 2's SYN at 2.9 s finds the table full, and so does its retransmit
    at 3.9 s (the entry has expired, but no GC pass has run since). The pass at 4 s, in the drain,
    collects it: the retransmit at 4.9 s gets through (spec §10)."""
    s = scenario(once("a", hold_s=0.5, close="rst"), once("b", at_s=2.9), duration_s=3.0,
                 simulation={"drain": True}, conntrack={"max": 1, "tcp_timeout_close_s": 2.6})
    result, records = run(s)
    assert steps(records, "drop", "established")[1:] == [
        (2.9, 2, "drop", None), (3.9, 2, "drop", None), (4.902002, 2, "established", 53238),
    ]
    assert result.drop_causes["table-full"] == 2


@pytest.mark.parametrize("close", ["fin", "rst"])
def test_a_close_record_says_how_the_connection_ended(close: str) -> None:
    _, records = run(scenario(once("w", hold_s=0.5, close=close)))
    assert [(r["t_s"], r["by"]) for r in records if r["step"] == "close"] == [(0.502002, close)]


def test_udp_queries_sent_are_counted_and_tcp_sends_none() -> None:
    """One lookup: an A and an AAAA query (spec §11), both answered; a TCP connect sends none."""
    udp, _ = run(scenario(once("dns", destinations=[DNS], protocol="udp")))
    assert udp.summary()["udp_queries"]["sent"] == udp.packets_sent["query"] == 2
    tcp, _ = run(scenario(once("w")))
    assert tcp.summary()["udp_queries"]["sent"] == tcp.packets_sent["query"] == 0
    assert tcp.packets_sent["syn"] == 1


def test_the_progress_callback_is_called_once_per_simulated_second() -> None:
    calls: list[tuple[float, float, int]] = []
    simulate(scenario(once("w", 3, at_s=1.5), duration_s=3.0), rng=1,
             progress=lambda *a: calls.append(a))
    assert calls == [(1.0, 3.0, 0), (2.0, 3.0, 3), (3.0, 3.0, 3)]


def test_a_run_with_every_confirm_scheduled_equals_the_inline_one() -> None:
    """The fast companion of the slow all-configs test in test_des_inline_confirm.py: a short
    pressed run (races, retransmits, early drops) gives the same rows either way."""
    busy = {"name": "busy", "pods": 4, "arrival": "poisson", "rate_per_s": 150.0,
            "hold_s": 0.05, "destinations": [DST]}
    s = scenario(busy, duration_s=5.0, conntrack={"max": 100, "tcp_timeout_time_wait_s": 1.5})
    from snatsim.des import run as des_run

    inline = des_run(s, rng=3, rows="all")
    scheduled = des_run(s, rng=3, rows="all", inline_confirm=False)
    assert inline.counters_total["drop"] > 0
    assert inline.rows == scheduled.rows
    assert inline.counters_total == scheduled.counters_total


def test_a_run_leaves_the_cyclic_garbage_collector_as_it_found_it() -> None:
    """The run switches the collector off (no reference cycles on its hot path) and back on."""
    s = scenario(once("w"))
    assert gc.isenabled()
    run(s)
    assert gc.isenabled()
    gc.disable()
    try:
        run(s)
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize(("close", "reused"), [("rst", True), ("fin", False)])
def test_a_reset_frees_the_pods_port_at_once_a_fin_holds_it_60_s(close: str, reused: bool) -> None:
    """Four busy clients of one pod: ~5,000 connects in 5 s, each closed after 1 ms. After a RST
    the socket is gone and the pod's kernel may hand the port out again; after a FIN the pod's
    own TIME_WAIT (60 s) keeps it (``Pod.release``, spec §8)."""
    loop = {"name": "loop", "pods": 1, "clients_per_pod": 4, "arrival": "closed-loop",
            "think_time_s": 0.001, "hold_s": 0.001, "close": close, "destinations": [DST]}
    f = simulate(scenario(loop, cpus=1, duration_s=5.0), rows="all").to_frame()
    assert len(f) > 4000
    assert (f["pod_port"].nunique() < len(f)) == reused


def test_a_connect_started_after_its_dial_timeout_span_is_established() -> None:
    """The app's dial timeout (1 s) counts from the connect's own start, here at 2 s."""
    result, _ = run(scenario(once("w", at_s=2.0, connect_timeout_s=1.0)))
    assert [(r.outcome, r.latency_s) for r in result.rows] == [("established", pytest.approx(0.002002))]
