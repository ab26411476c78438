"""Confirm and clash resolution per era (spec §6, §7)."""

from __future__ import annotations

import pytest
from conftest import NODE_IP, tcp, udp

from snatsim.kernel.confirm import ConfirmOutcome, confirm
from snatsim.kernel.conntrack import ConntrackTable, Entry, TcpState
from snatsim.kernel.eras import ConfirmEra
from snatsim.kernel.tuples import ConnTuple

ALL_ERAS = list(ConfirmEra)


def nat_entry(orig: ConnTuple, nat_port: int, dst: tuple[str, int] | None = None) -> Entry:
    """An unconfirmed entry SNATed to NODE_IP:nat_port (optionally DNATed to ``dst``)."""
    e = Entry(orig)
    reply_src = dst or (orig.dst_ip, orig.dst_port)
    e.reply = ConnTuple(orig.proto, reply_src[0], reply_src[1], NODE_IP, nat_port)
    e.nat_done = True
    e.snat = True
    return e


@pytest.mark.parametrize("era", ALL_ERAS)
def test_tcp_clash_always_drops(era: ConfirmEra) -> None:
    table = ConntrackTable()
    a = nat_entry(tcp("10.244.0.1", 40000), 40000)
    b = nat_entry(tcp("10.244.0.2", 40000), 40000)
    assert confirm(table, a, 0.0, era) is ConfirmOutcome.INSERTED
    assert confirm(table, b, 0.0, era) is ConfirmOutcome.DROPPED
    s = table.stats
    assert s.insert_failed == 1
    assert s.drop == (0 if era == ConfirmEra.C0 else 1)
    assert s.clash_resolve == 0
    assert b.dying and len(table) == 1


def test_insert_counter_moves_only_in_c0() -> None:
    for era, expected in ((ConfirmEra.C0, 1), (ConfirmEra.C3, 0)):
        table = ConntrackTable()
        confirm(table, nat_entry(tcp("10.244.0.1", 1), 40000), 0.0, era)
        assert table.stats.insert == expected


def _udp_same_socket_pair(backend_b: tuple[str, int] | None = None) -> tuple[Entry, Entry]:
    """Two packets of one UDP socket NATed on two CPUs (spec §11): same orig tuple."""
    orig = udp("10.244.0.1", 5353, ("10.96.0.10", 53))
    a = nat_entry(orig, 5353, ("10.244.5.5", 53))
    b = nat_entry(orig, 5353, backend_b or ("10.244.5.5", 53))
    return a, b


@pytest.mark.parametrize(
    ("era", "outcome", "insert_failed", "drop", "clash_resolve"),
    [
        (ConfirmEra.C0, ConfirmOutcome.DROPPED, 1, 0, 0),
        (ConfirmEra.C1, ConfirmOutcome.DROPPED, 1, 1, 0),  # winner has NAT bits: drop
        (ConfirmEra.C2, ConfirmOutcome.MERGED, 1, 0, 0),  # 4.19: identical merges, counted failed
        (ConfirmEra.C3, ConfirmOutcome.MERGED, 0, 0, 1),
        (ConfirmEra.C5, ConfirmOutcome.MERGED, 0, 0, 1),
    ],
)
def test_udp_identical_clash(
    era: ConfirmEra, outcome: ConfirmOutcome, insert_failed: int, drop: int, clash_resolve: int
) -> None:
    table = ConntrackTable()
    a, b = _udp_same_socket_pair()
    confirm(table, a, 0.0, era)
    assert confirm(table, b, 0.0, era) is outcome
    s = table.stats
    assert (s.insert_failed, s.drop, s.clash_resolve) == (insert_failed, drop, clash_resolve)


@pytest.mark.parametrize(
    ("era", "outcome"),
    [(ConfirmEra.C2, ConfirmOutcome.DROPPED), (ConfirmEra.C3, ConfirmOutcome.NAT_CLASH)],
)
def test_udp_same_socket_different_backend(era: ConfirmEra, outcome: ConfirmOutcome) -> None:
    table = ConntrackTable()
    a, b = _udp_same_socket_pair(backend_b=("10.244.6.6", 53))
    confirm(table, a, 0.0, era)
    assert confirm(table, b, 10.0, era) is outcome
    if outcome is ConfirmOutcome.NAT_CLASH:
        assert b.nat_clash and b.fixed_timeout
        assert b.expires_s == pytest.approx(11.0)  # fixed 1 s
        assert table.find(b.reply, 10.5) is b
        assert table.find(b.orig, 10.5) is a  # original-direction lookups keep hitting the winner
        assert table.find(b.reply, 11.0) is None
        assert table.stats.clash_resolve == 1 and table.stats.drop == 0


@pytest.mark.parametrize("era", ALL_ERAS)
def test_udp_two_flows_same_reply_tuple_always_drop(era: ConfirmEra) -> None:
    """Two pods that got the same SNAT port to one DNS server: dropped in every era (spec §6.2)."""
    table = ConntrackTable()
    a = nat_entry(udp("10.244.0.1", 5353), 5353)
    b = nat_entry(udp("10.244.0.2", 5353), 5353)
    confirm(table, a, 0.0, era)
    assert confirm(table, b, 0.0, era) is ConfirmOutcome.DROPPED
    assert table.stats.insert_failed == 1


def test_udp_exact_reverse_merges_from_c5() -> None:
    fwd = udp("10.244.0.1", 5000, ("10.244.0.2", 6000))
    for era, outcome in (
        (ConfirmEra.C4, ConfirmOutcome.DROPPED),
        (ConfirmEra.C5, ConfirmOutcome.MERGED),
    ):
        table = ConntrackTable()
        a = Entry(fwd)
        a.nat_done = True
        b = Entry(fwd.inverted())
        b.nat_done = True
        confirm(table, a, 0.0, era)
        assert confirm(table, b, 0.0, era) is outcome


def test_confirm_starts_the_state_timeout() -> None:
    table = ConntrackTable()
    e = nat_entry(tcp("10.244.0.1", 1), 40000)
    confirm(table, e, 5.0, ConfirmEra.C5)
    assert e.state is TcpState.SYN_SENT and e.expires_s == pytest.approx(125.0)
    table.set_state(e, TcpState.TIME_WAIT, 10.0)
    assert e.expires_s == pytest.approx(130.0)
    table.set_state(e, TcpState.CLOSE, 11.0)
    assert e.expires_s == pytest.approx(21.0)
    assert table.gc(20.9) == 0 and table.gc(21.0) == 1 and len(table) == 0
