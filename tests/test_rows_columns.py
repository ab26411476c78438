"""What each per-connection row says, column by column, on a scripted run: the protocol (also of a
connect() that failed locally, before any tuple existed), the NAT outcome as text (None when no
packet was NATed) and the packet count (SYNs for TCP, tries for a UDP lookup)."""

from __future__ import annotations

from des_scripts import DST, once, run, scenario

from snatsim.rundata import ConnectionRow

DNS = "198.51.100.53:53"


def _rows() -> dict[int, ConnectionRow]:
    """Two clients of one pod bind port 40000 to one destination at t = 0: the first connects,
    the second gets EADDRINUSE (a local error); a UDP lookup from another pod at 0.1 s."""
    tcp = once("web", clients_per_pod=2, source_port=40000)
    dns = once("dns", protocol="udp", destinations=[DNS], at_s=0.1)
    result, _ = run(scenario(tcp, dns, cpus=1))
    return {r.id: r for r in result.rows}


def test_each_row_names_its_protocol_nat_outcome_and_packets() -> None:
    rows = _rows()
    connected, refused, lookup = rows[1], rows[2], rows[3]
    assert (connected.protocol, connected.destination, connected.outcome) == ("tcp", DST,
                                                                              "established")
    assert (connected.nat_outcome, connected.syns, connected.preserved) == ("port-kept", 1, True)
    assert (refused.protocol, refused.outcome, refused.syns) == ("tcp", "local_error", 0)
    assert refused.nat_outcome is None and refused.nat_port is None
    assert (lookup.protocol, lookup.destination, lookup.outcome) == ("udp", DNS, "established")
    assert (lookup.nat_outcome, lookup.syns) == ("port-kept", 1)


def test_lost_counts_every_dropped_packet_of_a_connection() -> None:
    """A 1-port window held until ~1.9 s (RST, then a 0.1 s CLOSE state): the victim's SYNs at
    0.5 s and 1.5 s are both dropped, the third gets through."""
    holder = once("holder", hold_s=1.9, close="rst")
    victim = once("victim", at_s=0.5, hold_s=0.1)
    result, _ = run(scenario(holder, victim, kernel="6.6", cpus=1, duration_s=4.0,
                             nat={"to_ports": "20000"}, conntrack={"tcp_timeout_close_s": 0.1}))
    rows = {r.id: r for r in result.rows}
    assert (rows[2].lost, rows[2].syns, rows[2].outcome) == (2, 3, "established")
    assert rows[2].first_drop_cause == "exhaustion"
