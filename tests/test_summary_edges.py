"""``summary()`` definitions at their edges, on scripted runs whose figures are known exactly.

* "delayed ≥ 1 s" includes a connect of exactly 1 s (results.DELAY_THRESHOLDS_S, per workload too);
* the preserved fraction is over connections whose SYN reached NAT, not over every attempt;
* the warm-up hides connections *started* before it, but packets, drops and ``conntrack -S``
  counters count by when they happen (snatsim/rundata.py, "Definitions used by the summary");
* a row's ``first_drop_cause`` is the cause of its first drop, not of its last;
* a workload an engine streamed no connection for still has its (zero) ``per_workload`` counts.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
from des_scripts import WINDOW_S, once, run, scenario

from snatsim.results import simulate
from snatsim.rundata import ConnectionStats


def test_a_connect_of_exactly_one_second_counts_as_delayed_ge_1s() -> None:
    """RTT = 1 s − δ: the SYN-ACK arrives exactly 1 s after connect() (δ + RTT sums to 1.0)."""
    rtt_s = 1.0 - WINDOW_S
    assert WINDOW_S + rtt_s == 1.0
    s = scenario(once(), network={"rtt_s": rtt_s})
    summary = simulate(s).summary()
    assert summary["connect_latency_s"]["max"] == 1.0
    assert summary["delayed_counts"] == {"ge_1s": 1, "ge_2s": 0, "ge_3s": 0, "of": 1,
                                         "never_completed": 0}
    assert summary["per_workload"]["w"]["delayed_ge_1s"] == 1
    assert summary["delayed_fraction"]["ge_1s"] == 1.0


def test_preserved_fraction_counts_only_connections_that_reached_nat() -> None:
    """conntrack.max = 1 held by an ESTABLISHED holder: the second connect's SYNs are dropped in
    conntrack "in", before NAT, so it has no NAT port and is not in the fraction's denominator."""
    result, _ = run(scenario(once("holder"), once("web", at_s=0.5), cpus=1,
                             conntrack={"max": 1}))
    f = result.to_frame().set_index("workload")
    assert pd.isna(f.loc["web", "nat_port"]) and bool(f.loc["holder", "preserved"])
    assert result.summary()["ports"]["preserved_fraction"] == 1.0


def test_warmup_counts_packets_drops_and_counters_by_when_they_happen() -> None:
    """The full-table script (drops at 0.5, 1.5 and 2.5 s, spec §10) with a 1.5 s warm-up: both
    connections started before it (no rows), but the two retransmits at or after it (the first
    exactly at 1.5 s) and their drops are in every packet, cause and ``conntrack -S`` figure."""
    s = scenario(once("holder"), once("web", at_s=0.5), cpus=1, conntrack={"max": 1},
                 simulation={"warmup_s": 1.5})
    result, records = run(s)
    assert [r["t_s"] for r in records if r["step"] == "drop"] == [0.5, 1.5, 2.5]
    summary = result.summary()
    assert summary["connections"]["attempted"] == 0
    assert summary["syn"] == {"sent": 2, "dropped": 2}
    assert summary["drops"]["table_full"] == 2
    assert summary["conntrack"]["drop"] == 2
    assert result.counters_total["drop"] == 3
    assert summary["delayed_counts"]["of"] == 0 and summary["delayed_fraction"]["ge_1s"] is None


def test_first_drop_cause_is_the_first_of_two_different_causes() -> None:
    """4.14 with a one-port --to-ports window, two pods on two CPUs at t = 0: both NATs take
    20000 before either confirms, so the second is dropped as a race (spec §16.1); its retransmit
    at 1 s finds 20000 held by the first, established connection: exhaustion."""
    result, records = run(scenario(once("pair", 2), kernel="4.14", nat={"to_ports": "20000"}))
    assert [(r["t_s"], r["cause"]) for r in records if r["step"] == "drop"] == [
        (0.000002, "race"), (1.000002, "exhaustion")]
    row = result.to_frame().set_index("id").loc[2]
    assert (row["lost"], row["first_drop_cause"]) == (2, "race")
    assert result.summary()["insert_failed_causes"] == {"race": 1, "eviction": 0, "exhaustion": 1}


def test_a_workload_without_streamed_connections_has_zero_counts() -> None:
    """Stats that do not know a workload (an engine that measured none of its connections)."""
    result = dataclasses.replace(simulate(scenario(once("w"))), stats=ConnectionStats())
    zero = {"attempted": 0, "established": 0, "delayed_ge_1s": 0, "lost_packets": 0}
    assert result.summary()["per_workload"] == {"w": zero}
