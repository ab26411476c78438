"""How a connection's end shows in its row and its trace: the step name, the end time, the latency.

Scripted scenarios (``des_scripts``): fixed RTT and NAT -> confirm window, one connect per client.
"""

from __future__ import annotations

from des_scripts import DST, RTT_S, WINDOW_S, of_flow, once, run, scenario

DNS = "198.51.100.53:53"


def test_a_connect_whose_every_syn_is_dropped_ends_with_etimedout_at_its_end_time() -> None:
    """The only NAT port is held for the whole run, so the victim's SYN and its one retransmit
    are dropped (tcp_syn_retries = 1, no linear phase, spec §9: 1 s, then 2 s until the kernel
    gives up); connect() fails with ETIMEDOUT at t0 + 3 s: a "failed" row ending then and an
    "etimedout" trace step."""
    holder = once("holder", hold_s=100.0)
    victim = once("victim", at_s=0.5)
    result, records = run(scenario(holder, victim, kernel="6.18", cpus=1, duration_s=10.0,
                                   nat={"to_ports": "20000"}, tcp={"syn_retries": 1,
                                                                   "syn_linear_timeouts": 0}))
    ends = [r for r in records if r["flow"] == 2 and r["step"] not in ("syn", "nat", "drop",
                                                                        "retransmit")]
    assert [(r["t_s"], r["step"]) for r in ends] == [(3.5, "etimedout")]
    row = result.to_frame().set_index("id").loc[2]
    assert row["outcome"] == "failed"
    assert row["end_s"] == 3.5


def test_an_answered_lookup_records_its_latency_in_the_trace_and_its_end_in_the_row() -> None:
    dns = once("dns", protocol="udp", at_s=0.25, destinations=[DNS])
    result, records = run(scenario(dns))
    (answered,) = of_flow(records, 1, "answered")
    assert answered["t_s"] == round(0.25 + WINDOW_S + RTT_S, 9)
    assert abs(answered["latency_s"] - (WINDOW_S + RTT_S)) < 1e-12
    row = result.to_frame().set_index("id").loc[1]
    assert row["outcome"] == "established"
    assert abs(row["end_s"] - (0.25 + WINDOW_S + RTT_S)) < 1e-12
    assert row["latency_s"] == answered["latency_s"]


def test_an_established_connection_reports_its_latency_in_the_trace() -> None:
    _, records = run(scenario(once("w", destinations=[DST])))
    (established,) = of_flow(records, 1, "established")
    assert abs(established["latency_s"] - (WINDOW_S + RTT_S)) < 1e-12
