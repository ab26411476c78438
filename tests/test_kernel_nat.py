"""get_unique_tuple per era: hand-computed expectations from spec §4 and §5."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import NODE_IP, ScriptedDraws, occupy, tcp

from snatsim.kernel.confirm import ConfirmOutcome, confirm
from snatsim.kernel.conntrack import ConntrackTable, Entry, TcpState
from snatsim.kernel.eras import ConfirmEra, NatEra
from snatsim.kernel.nat import NatOutcome, NatRange, SnatAllocator
from snatsim.kernel.window import port_window
from snatsim.rng import Draws

MASQ = NatRange(ips=(NODE_IP,))


def alloc(era: NatEra, nat_range: NatRange = MASQ) -> SnatAllocator:
    return SnatAllocator(era, nat_range, secret=b"test-secret")


# ---------------------------------------------------------------- windows (spec §4.4)
@pytest.mark.parametrize(
    ("port", "to_ports", "expected"),
    [
        (80, None, (1, 511)),
        (511, None, (1, 511)),
        (512, None, (600, 424)),
        (700, None, (600, 424)),
        (1023, None, (600, 424)),
        (1024, None, (1024, 64512)),
        (40000, None, (1024, 64512)),
        (40000, (20000, 20255), (20000, 256)),
        (40000, (20255, 20000), (20000, 256)),
    ],
)
def test_port_window(
    port: int, to_ports: tuple[int, int] | None, expected: tuple[int, int]
) -> None:
    assert port_window(port, to_ports) == expected


def test_port_80_searches_1_to_511(table: ConntrackTable) -> None:
    occupy(table, 80)  # preservation of port 80 fails
    ct = Entry(tcp("10.244.0.1", 80))
    res = alloc(NatEra.A2).get_unique_tuple(ct, table, 0.0, ScriptedDraws([1000]))
    assert res.port == 1 + 1000 % 511
    assert 1 <= res.port <= 511


def test_port_700_searches_600_to_1023(table: ConntrackTable) -> None:
    occupy(table, 700)
    ct = Entry(tcp("10.244.0.1", 700))
    res = alloc(NatEra.A2).get_unique_tuple(ct, table, 0.0, ScriptedDraws([1000]))
    assert res.port == 600 + 1000 % 424


# ---------------------------------------------------------------- preservation and bysource
def test_free_pod_port_is_kept(table: ConntrackTable) -> None:
    ct = Entry(tcp("10.244.0.1", 40000))
    res = alloc(NatEra.A2).setup(ct, table, 0.0, ScriptedDraws([]))
    assert res.outcome is NatOutcome.PORT_KEPT
    assert res.tuple == tcp(NODE_IP, 40000)
    assert ct.snat and ct.reply == tcp(NODE_IP, 40000).inverted()
    assert table.stats.found == 0


@pytest.mark.parametrize("flag", ["random", "random_fully"])
def test_random_flags_skip_preservation(table: ConntrackTable, flag: str) -> None:
    nat_range = NatRange(ips=(NODE_IP,), **{flag: True})
    ct = Entry(tcp("10.244.0.1", 40000))
    res = alloc(NatEra.A2, nat_range).get_unique_tuple(ct, table, 0.0, ScriptedDraws([7]))
    assert res.outcome is NatOutcome.SEARCHED
    assert res.port == 1024 + 7


def test_busy_pod_port_counts_found_and_searches(table: ConntrackTable) -> None:
    occupy(table, 40000)
    ct = Entry(tcp("10.244.0.1", 40000))
    res = alloc(NatEra.A2).get_unique_tuple(ct, table, 0.0, ScriptedDraws([5]))
    assert res.outcome is NatOutcome.SEARCHED and res.port == 1024 + 5
    assert table.stats.found == 1  # the preservation check's busy hit


def test_same_socket_reuses_its_nat_port_for_another_destination(table: ConntrackTable) -> None:
    first = occupy(table, 50000, pod_ip="10.244.0.1", pod_port=40000)
    assert first.nat_tuple.src_port == 50000
    ct = Entry(tcp("10.244.0.1", 40000, ("198.51.100.7", 80)))
    res = alloc(NatEra.A2).get_unique_tuple(ct, table, 0.0, ScriptedDraws([]))
    assert res.outcome is NatOutcome.BYSOURCE
    assert res.tuple == tcp(NODE_IP, 50000, ("198.51.100.7", 80))


def test_expired_entry_does_not_block_and_is_collected(table: ConntrackTable) -> None:
    old = occupy(table, 40000, state=TcpState.TIME_WAIT, now_s=0.0)
    ct = Entry(tcp("10.244.0.1", 40000))
    res = alloc(NatEra.A2).get_unique_tuple(ct, table, 120.0, ScriptedDraws([]))
    assert res.outcome is NatOutcome.PORT_KEPT
    assert old.dying and len(table) == 0


def test_unconfirmed_entries_are_invisible(table: ConntrackTable) -> None:
    """Two SYNs on two CPUs: the second NAT decision cannot see the first (spec §3.2)."""
    nat = alloc(NatEra.A4)
    a = Entry(tcp("10.244.0.1", 40000))
    b = Entry(tcp("10.244.0.2", 40000))
    ra = nat.setup(a, table, 0.0, ScriptedDraws([]))
    rb = nat.setup(b, table, 0.0, ScriptedDraws([]))
    assert ra.tuple == rb.tuple == tcp(NODE_IP, 40000)
    assert confirm(table, a, 1e-6, ConfirmEra.C5) is ConfirmOutcome.INSERTED
    assert confirm(table, b, 1e-6, ConfirmEra.C5) is ConfirmOutcome.DROPPED
    assert table.stats.insert_failed == 1 and table.stats.drop == 1
    assert b.dying and table.bysource(6, "10.244.0.2", 40000) == []


# ---------------------------------------------------------------- A1 rover (spec §4.4, §13.3)
def _two_overlapping_searches(nat_range: NatRange, seed: int) -> tuple[int, int]:
    """Two pods whose port is busy search before either confirms; return both ports."""
    table = ConntrackTable()
    occupy(table, 40000)
    nat = alloc(NatEra.A1, nat_range)
    nat.rover[6] = 3000
    draws = Draws(np.random.default_rng(seed))
    a = Entry(tcp("10.244.0.1", 40000))
    b = Entry(tcp("10.244.0.2", 40000))
    ra = nat.setup(a, table, 0.0, draws)
    rb = nat.setup(b, table, 0.0, draws)
    return ra.port, rb.port


def test_a1_default_overlapping_searches_pick_the_same_port() -> None:
    pa, pb = _two_overlapping_searches(MASQ, seed=1)
    assert pa == pb == 1024 + 3000  # the rover points at the port just handed out


def test_a1_random_overlapping_searches_to_one_destination_collide() -> None:
    pa, pb = _two_overlapping_searches(NatRange(ips=(NODE_IP,), random=True), seed=1)
    assert pa == pb


def test_a1_random_fully_overlapping_searches_rarely_collide() -> None:
    results = [
        _two_overlapping_searches(NatRange(ips=(NODE_IP,), random_fully=True), s)
        for s in range(300)
    ]
    collisions = sum(pa == pb for pa, pb in results)
    # P(collision) ~ 1/64512 per pair: with 300 pairs, 0 is expected; 2+ would be a bug
    assert collisions <= 1


def test_a1_rover_advances_sequentially(table: ConntrackTable) -> None:
    nat = alloc(NatEra.A1)
    for port in (1024, 1025, 1026):
        occupy(table, port)
    ct = Entry(tcp("10.244.0.1", 1024))
    res = nat.setup(ct, table, 0.0, ScriptedDraws([]))
    # preservation busy (found 1), rover 0 -> 1024, 1025, 1026 busy, 1027 free
    assert res.port == 1027 and res.probes == 4 and res.busy_probes == 3
    assert nat.rover[6] == 3
    assert table.stats.found == 4


def test_a1_full_window_returns_a_busy_port_after_size_probes(table: ConntrackTable) -> None:
    nat = alloc(NatEra.A1, NatRange(ips=(NODE_IP,), ports=(20000, 20009)))
    for port in range(20000, 20010):
        occupy(table, port)
    ct = Entry(tcp("10.244.0.1", 40000))
    res = nat.get_unique_tuple(ct, table, 0.0, ScriptedDraws([]))
    assert res.outcome is NatOutcome.GAVE_UP and res.known_busy
    assert res.probes == 10 and res.busy_probes == 9  # the 10th probe is not checked
    assert table.stats.found == 9


# ---------------------------------------------------------------- A2 rounds (spec §4.4)
def test_a2_gives_up_after_exactly_248_busy_probes(table: ConntrackTable) -> None:
    lo, hi = 20000, 20999
    for port in range(lo, hi + 1):
        occupy(table, port)
    nat = alloc(NatEra.A2, NatRange(ips=(NODE_IP,), ports=(lo, hi)))
    ct = Entry(tcp("10.244.0.1", 40000))  # pod port outside the range: no preservation check
    draws = ScriptedDraws([0, 100, 200, 300, 400])
    res = nat.get_unique_tuple(ct, table, 0.0, draws)
    assert res.outcome is NatOutcome.GAVE_UP
    assert (res.probes, res.busy_probes, res.rounds) == (248, 248, 5)
    assert draws.left == 0
    assert table.stats.found == 248
    assert res.port == lo + (400 + 7) % 1000  # last probe of the 8-probe round
    assert table.find(res.tuple.inverted(), 0.0) is not None


def test_a2_small_window_is_one_round_of_size_probes(table: ConntrackTable) -> None:
    for port in range(20000, 20100):
        occupy(table, port)
    nat = alloc(NatEra.A2, NatRange(ips=(NODE_IP,), ports=(20000, 20099)))
    res = nat.get_unique_tuple(Entry(tcp("10.244.0.1", 40000)), table, 0.0, ScriptedDraws([0]))
    assert (res.probes, res.rounds, res.outcome) == (100, 1, NatOutcome.GAVE_UP)


def test_a2_each_round_starts_from_a_fresh_offset(table: ConntrackTable) -> None:
    lo = 20000
    for port in range(lo, lo + 1000):
        occupy(table, port)
    free = lo + 500
    table.destroy(table.find(tcp(NODE_IP, free).inverted(), 0.0))  # type: ignore[arg-type]
    nat = alloc(NatEra.A2, NatRange(ips=(NODE_IP,), ports=(lo, lo + 999)))
    res = nat.get_unique_tuple(Entry(tcp("10.244.0.1", 40000)), table, 0.0, ScriptedDraws([0, 490]))
    assert res.port == free and res.rounds == 2 and res.probes == 128 + 11


def test_a2_offset_is_16_bit_modulo_window(table: ConntrackTable) -> None:
    """off % 64512 for off >= 64512 lands on 1024.. again: the slight non-uniformity (spec §4.4)."""
    nat = alloc(NatEra.A2, NatRange(ips=(NODE_IP,), random_fully=True))
    res = nat.get_unique_tuple(Entry(tcp("10.244.0.1", 40000)), table, 0.0, ScriptedDraws([65535]))
    assert res.port == 1024 + 65535 % 64512


# ---------------------------------------------------------------- A3 eviction (spec §5.3)
def _window_with_one_closing_entry(
    table: ConntrackTable, position: int, *, old_seq: int = 100
) -> Entry:
    closing = None
    for port in range(20000, 20128):
        if port - 20000 == position:
            closing = occupy(table, port, state=TcpState.CLOSE, seq_end=old_seq)
        else:
            occupy(table, port)
    assert closing is not None
    return closing


@pytest.mark.parametrize(("position", "evicts"), [(95, False), (96, True), (127, True), (0, False)])
def test_a3_evicts_close_entry_only_in_last_32_probes(
    table: ConntrackTable, position: int, evicts: bool
) -> None:
    closing = _window_with_one_closing_entry(table, position)
    nat = alloc(NatEra.A3, NatRange(ips=(NODE_IP,), ports=(20000, 20127)))
    ct = Entry(tcp("10.244.0.1", 40000), seq_end=200)
    res = nat.get_unique_tuple(ct, table, 0.0, ScriptedDraws([0]))
    if evicts:
        assert res.outcome is NatOutcome.SEARCHED and res.port == 20000 + position
        assert res.evicted == [closing] and closing.dying
        assert table.stats.found == min(position, 96)  # eviction-path probes do not count found
    else:
        assert res.outcome is NatOutcome.GAVE_UP and res.evicted == []
        assert not closing.dying
        assert table.stats.found == 96  # the 96 non-destructive probes


def test_a3_eviction_refused_when_sequence_not_ahead(table: ConntrackTable) -> None:
    closing = _window_with_one_closing_entry(table, 120, old_seq=500)
    nat = alloc(NatEra.A3, NatRange(ips=(NODE_IP,), ports=(20000, 20127)))
    ct = Entry(tcp("10.244.0.1", 40000), seq_end=400)
    res = nat.get_unique_tuple(ct, table, 0.0, ScriptedDraws([0]))
    assert res.outcome is NatOutcome.GAVE_UP and res.evict_refused == 1 and not closing.dying


def test_a2_never_evicts(table: ConntrackTable) -> None:
    closing = _window_with_one_closing_entry(table, 127)
    nat = alloc(NatEra.A2, NatRange(ips=(NODE_IP,), ports=(20000, 20127)))
    res = nat.get_unique_tuple(
        Entry(tcp("10.244.0.1", 40000), seq_end=200), table, 0.0, ScriptedDraws([0])
    )
    assert res.outcome is NatOutcome.GAVE_UP and not closing.dying


def test_a3_evicts_time_wait_but_not_established(table: ConntrackTable) -> None:
    tw = occupy(table, 20000, state=TcpState.TIME_WAIT, seq_end=1)
    nat = alloc(NatEra.A3, NatRange(ips=(NODE_IP,), ports=(20000, 20000)))
    # one-port range: preservation is skipped (pod port outside), search has 1 probe with left=1
    res = nat.get_unique_tuple(
        Entry(tcp("10.244.0.1", 40000), seq_end=2), table, 0.0, ScriptedDraws([0])
    )
    assert res.port == 20000 and res.outcome is NatOutcome.SEARCHED and tw.dying
    est = occupy(table, 20000, state=TcpState.ESTABLISHED, seq_end=1)
    res2 = nat.get_unique_tuple(
        Entry(tcp("10.244.0.2", 40000), seq_end=2), table, 0.0, ScriptedDraws([0])
    )
    assert res2.outcome is NatOutcome.GAVE_UP and not est.dying


def test_one_port_to_ports_keeps_busy_port(table: ConntrackTable) -> None:
    """A one-port range keeps the pod's port even if busy (spec §4.2 step 3 NB)."""
    occupy(table, 20000)
    nat = alloc(NatEra.A2, NatRange(ips=(NODE_IP,), ports=(20000, 20000)))
    res = nat.get_unique_tuple(Entry(tcp("10.244.0.1", 20000)), table, 0.0, ScriptedDraws([]))
    assert res.port == 20000 and res.known_busy


# ---------------------------------------------------------------- IP choice (spec §4.3)
def test_pool_choice_is_deterministic_and_persistent_ignores_destination() -> None:
    pool = tuple(f"192.0.2.{i}" for i in range(20, 28))
    nat = alloc(NatEra.A2, NatRange(ips=pool))
    per_dst = {nat.pick_ip(tcp("10.244.0.1", 1, (f"203.0.113.{d}", 443))) for d in range(1, 40)}
    assert len(per_dst) > 1  # the destination seeds the hash
    assert nat.pick_ip(tcp("10.244.0.1", 1)) == nat.pick_ip(tcp("10.244.0.1", 2))
    sticky = alloc(NatEra.A2, NatRange(ips=pool, persistent=True))
    same = {sticky.pick_ip(tcp("10.244.0.1", 1, (f"203.0.113.{d}", 443))) for d in range(1, 40)}
    assert len(same) == 1
    spread = {sticky.pick_ip(tcp(f"10.244.0.{s}", 1)) for s in range(1, 200)}
    assert spread == set(pool)
