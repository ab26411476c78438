"""End-to-end kernel-layer scenarios from spec §16 (NAT + confirm + counters, no SimPy).

Each test plays a short, fully scripted sequence of NAT decisions and confirms on one table and
checks the outcome and the ``conntrack -S`` counters the spec predicts for a real 6.18 node (§16)
or for the era named in the test.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DST, NODE_IP, ScriptedDraws, occupy, tcp

from snatsim.kernel.confirm import ConfirmOutcome, confirm
from snatsim.kernel.conntrack import ConntrackTable, Entry, TcpState
from snatsim.kernel.eras import ConfirmEra, NatEra
from snatsim.kernel.nat import NatOutcome, NatRange, SnatAllocator
from snatsim.kernel.tuples import ConnTuple
from snatsim.rng import Draws

LO = 20000
POD = "10.244.0.1"
POD_PORT = 40000  # outside every --to-ports window below: no preservation attempt


def _closing_window(
    table: ConntrackTable, n: int, *, state: TcpState, seq_end: int
) -> dict[int, Entry]:
    """Fill LO..LO+n-1 with confirmed closing SNAT entries (one pod socket per port)."""
    return {
        port: occupy(table, port, pod_ip="10.244.9.9", state=state, seq_end=seq_end)
        for port in range(LO, LO + n)
    }


# ---------------------------------------------------------------- (a) eviction failure, §16.1-2
def test_a3_eviction_refused_for_every_probe_then_granted_when_seq_advances() -> None:
    """8-port window of CLOSE entries whose seq_end is ahead of the SYN: all 8 probes are
    eviction-eligible (a round of <= 32 probes), every eviction is refused, the search gives up
    and confirm drops; the retransmit (same ISN) is refused again; a SYN whose sequence is ahead
    evicts the first probed entry and confirms (spec §5.3, §16.1, §16.2)."""
    table = ConntrackTable()
    holders = _closing_window(table, 8, state=TcpState.CLOSE, seq_end=1_000)
    nat = SnatAllocator(NatEra.A3, NatRange(ips=(NODE_IP,), ports=(LO, LO + 7)))

    syn = Entry(tcp(POD, POD_PORT), seq_end=500)
    res = nat.setup(syn, table, 1.0, ScriptedDraws([3]))
    assert res.outcome is NatOutcome.GAVE_UP and res.known_busy
    assert (res.probes, res.busy_probes, res.rounds) == (8, 8, 1)
    assert res.evict_refused == 8 and res.evicted == []
    assert res.port == LO + (3 + 7) % 8  # the last probe of the round
    assert table.stats.found == 0  # eviction-path probes never count found (§16.3)
    assert confirm(table, syn, 1.0, ConfirmEra.C5) is ConfirmOutcome.DROPPED
    assert (table.stats.insert_failed, table.stats.drop) == (1, 1)

    # §16.2: the retransmitted SYN keeps its ISN, so the same refusals repeat
    again = Entry(tcp(POD, POD_PORT), seq_end=500)
    res = nat.setup(again, table, 2.0, ScriptedDraws([0]))
    assert res.outcome is NatOutcome.GAVE_UP and res.evict_refused == 8
    assert confirm(table, again, 2.0, ConfirmEra.C5) is ConfirmOutcome.DROPPED
    assert len(table) == 8 and not any(e.dying for e in holders.values())

    fresh = Entry(tcp(POD, POD_PORT + 1), seq_end=1_500)
    res = nat.setup(fresh, table, 3.0, ScriptedDraws([3]))
    assert res.outcome is NatOutcome.SEARCHED and res.port == LO + 3
    assert res.evicted == [holders[LO + 3]] and holders[LO + 3].dying
    assert (res.probes, res.busy_probes, res.evict_refused) == (1, 0, 0)
    assert len(table) == 7 and table.stats.found == 0
    assert confirm(table, fresh, 3.0, ConfirmEra.C5) is ConfirmOutcome.INSERTED
    assert len(table) == 8 and table.find(fresh.reply, 3.0) is fresh
    assert (table.stats.insert_failed, table.stats.drop, table.stats.insert) == (2, 2, 0)


@pytest.mark.parametrize(("n", "eligible"), [(8, 8), (32, 32), (33, 32), (64, 32), (128, 32)])
def test_a3_only_the_last_32_probes_of_a_round_may_evict(n: int, eligible: int) -> None:
    """A full window of TIME_WAIT entries ahead of the SYN: a round of <= 32 probes is all
    eviction-eligible; a longer round checks its first n-32 probes with the counting used-check."""
    table = ConntrackTable()
    _closing_window(table, n, state=TcpState.TIME_WAIT, seq_end=9_000)
    nat = SnatAllocator(NatEra.A3, NatRange(ips=(NODE_IP,), ports=(LO, LO + n - 1)))
    res = nat.get_unique_tuple(
        Entry(tcp(POD, POD_PORT), seq_end=10), table, 0.0, ScriptedDraws([0])
    )
    assert res.outcome is NatOutcome.GAVE_UP and res.probes == n
    assert res.evict_refused == eligible
    assert table.stats.found == n - eligible


@pytest.mark.parametrize(
    ("old_seq", "new_seq", "evicts"),
    [
        (0xFFFF_FF00, 0x0000_0010, True),  # the u32 sequence wrapped: still "after"
        (0x0000_0010, 0xFFFF_FF00, False),
        (0x8000_0000, 0x0000_0000, False),  # exactly 2^31 apart: not after (signed compare)
        (123, 123, False),  # equal is not ahead
    ],
)
def test_a3_eviction_sequence_test_is_signed_32_bit(
    old_seq: int, new_seq: int, evicts: bool
) -> None:
    table = ConntrackTable()
    (old,) = _closing_window(table, 1, state=TcpState.TIME_WAIT, seq_end=old_seq).values()
    nat = SnatAllocator(NatEra.A3, NatRange(ips=(NODE_IP,), ports=(LO, LO)))
    res = nat.get_unique_tuple(
        Entry(tcp(POD, POD_PORT), seq_end=new_seq), table, 0.0, ScriptedDraws([0])
    )
    assert (res.outcome is NatOutcome.SEARCHED) == evicts
    assert old.dying == evicts and res.evict_refused == (0 if evicts else 1)


def test_a3_hard_exhaustion_is_not_an_eviction_failure() -> None:
    """§16.1: a window full of ESTABLISHED entries gives up with no refused eviction."""
    table = ConntrackTable()
    for port in range(LO, LO + 8):
        occupy(table, port)
    nat = SnatAllocator(NatEra.A4, NatRange(ips=(NODE_IP,), ports=(LO, LO + 7)))
    syn = Entry(tcp(POD, POD_PORT), seq_end=1 << 30)
    res = nat.setup(syn, table, 0.0, ScriptedDraws([5]))
    assert res.outcome is NatOutcome.GAVE_UP and res.evict_refused == 0 and res.evicted == []
    assert confirm(table, syn, 0.0, ConfirmEra.C5) is ConfirmOutcome.DROPPED
    assert (table.stats.found, table.stats.insert_failed, table.stats.drop) == (0, 1, 1)


# ---------------------------------------------------------------- (b) found is not a collision count
@pytest.mark.parametrize("seq_ahead", [True, False])
def test_full_small_window_of_evictable_entries_leaves_found_at_zero(seq_ahead: bool) -> None:
    """§16.3: with an 8-port window every probe may evict, so ``found`` stays 0 whether the
    eviction succeeds (first probe) or is refused eight times."""
    table = ConntrackTable()
    _closing_window(table, 8, state=TcpState.TIME_WAIT, seq_end=1_000)
    nat = SnatAllocator(NatEra.A3, NatRange(ips=(NODE_IP,), ports=(LO, LO + 7)))
    for i in range(5):
        syn = Entry(tcp(POD, POD_PORT + i), seq_end=2_000 if seq_ahead else 10)
        res = nat.setup(syn, table, float(i), Draws(np.random.default_rng(i)))
        outcome = confirm(table, syn, float(i), ConfirmEra.C5)
        if seq_ahead:
            assert res.outcome is NatOutcome.SEARCHED and len(res.evicted) == 1
            assert outcome is ConfirmOutcome.INSERTED
        else:
            assert res.outcome is NatOutcome.GAVE_UP and res.evict_refused == 8
            assert outcome is ConfirmOutcome.DROPPED
    assert table.stats.found == 0
    assert len(table) == 8
    assert table.stats.insert_failed == table.stats.drop == (0 if seq_ahead else 5)


@pytest.mark.parametrize(("era", "found"), [(NatEra.A2, 248), (NatEra.A3, 96 + 32)])
def test_full_1000_port_window_found_counts_busy_used_checks(era: NatEra, found: int) -> None:
    """§16.3: a full 1000-port window of ESTABLISHED entries. A2 counts all 248 busy probes; from
    A3 the last 32 probes of each round use the eviction path, which does not count: 128 - 32 of
    the first round, 64 - 32 of the second and none of the 32-, 16- and 8-probe rounds."""
    table = ConntrackTable()
    for port in range(LO, LO + 1000):
        occupy(table, port)
    nat = SnatAllocator(era, NatRange(ips=(NODE_IP,), ports=(LO, LO + 999)))
    syn = Entry(tcp(POD, POD_PORT), seq_end=7)
    res = nat.setup(syn, table, 0.0, Draws(np.random.default_rng(2024)))
    assert res.outcome is NatOutcome.GAVE_UP
    assert (res.probes, res.busy_probes, res.rounds) == (248, 248, 5)
    assert table.stats.found == found
    assert confirm(table, syn, 0.0, ConfirmEra.C5) is ConfirmOutcome.DROPPED
    assert table.stats.insert_failed == table.stats.drop == 1 and table.stats.insert == 0


# ---------------------------------------------------------------- (c) A1 rover race, §4.4 / §13.3
def test_a1_rover_race_drops_the_second_syn_and_the_retransmit_moves_on() -> None:
    """Two CPUs search at once on a 4.14-era node (A1 + C1): both start at the shared rover, both
    see port 1024 free (neither is confirmed), the second confirm drops (``insert_failed`` =
    ``drop`` = 1). The retransmitted SYN is a new entry with the same original tuple; it now sees
    the winner and takes 1025."""
    table = ConntrackTable(same_origin_free=False)  # the 5.0 same-flow exception is not in 4.x
    blocker = occupy(table, POD_PORT, pod_ip="10.244.9.9")  # both pods' own port is taken
    nat = SnatAllocator(NatEra.A1, NatRange(ips=(NODE_IP,)))
    no_draws = ScriptedDraws([])

    a = Entry(tcp("10.244.0.1", POD_PORT))
    b = Entry(tcp("10.244.0.2", POD_PORT))
    ra = nat.setup(a, table, 0.0, no_draws)  # CPU 0
    rb = nat.setup(b, table, 0.0, no_draws)  # CPU 1, before CPU 0 confirms
    assert ra.outcome is rb.outcome is NatOutcome.SEARCHED
    assert ra.port == rb.port == 1024 and nat.rover[6] == 0
    assert table.stats.found == 2  # each preservation check hit the blocker

    assert confirm(table, a, 1e-6, ConfirmEra.C1) is ConfirmOutcome.INSERTED
    assert confirm(table, b, 2e-6, ConfirmEra.C1) is ConfirmOutcome.DROPPED
    s = table.stats
    assert (s.insert_failed, s.drop, s.insert, s.clash_resolve) == (1, 1, 0, 0)
    assert b.dying and table.bysource(6, "10.244.0.2", POD_PORT) == []

    retransmit = Entry(tcp("10.244.0.2", POD_PORT))  # same pod port, same orig tuple as b
    assert retransmit.orig == b.orig
    rr = nat.setup(retransmit, table, 1.0, no_draws)
    assert rr.outcome is NatOutcome.SEARCHED and rr.port == 1025 and rr.port != ra.port
    assert (rr.probes, rr.busy_probes) == (2, 1) and nat.rover[6] == 1
    assert table.stats.found == 4  # its preservation check and its first probe (§7)
    assert confirm(table, retransmit, 1.0, ConfirmEra.C1) is ConfirmOutcome.INSERTED
    assert (table.stats.insert_failed, table.stats.drop) == (1, 1)
    assert {e.nat_tuple.src_port for e in table.entries()} == {POD_PORT, 1024, 1025}
    assert not blocker.dying and len(table) == 3


def test_a1_rover_on_one_cpu_never_races() -> None:
    """The same two SYNs processed on one CPU (NAT then confirm, back to back): no drop (§3.2)."""
    table = ConntrackTable(same_origin_free=False)
    occupy(table, POD_PORT, pod_ip="10.244.9.9")
    nat = SnatAllocator(NatEra.A1, NatRange(ips=(NODE_IP,)))
    ports = []
    for pod in ("10.244.0.1", "10.244.0.2", "10.244.0.3"):
        ct = Entry(tcp(pod, POD_PORT))
        ports.append(nat.setup(ct, table, 0.0, ScriptedDraws([])).port)
        assert confirm(table, ct, 0.0, ConfirmEra.C1) is ConfirmOutcome.INSERTED
    assert ports == [1024, 1025, 1026]
    assert table.stats.insert_failed == table.stats.drop == 0


def test_port_preservation_race_on_6_18_drops_one_syn() -> None:
    """§16.1 SMP race through port preservation: two pods with the same source port to the same
    destination, NATed on two CPUs before either confirms, both keep the port; one is dropped."""
    table = ConntrackTable()
    nat = SnatAllocator(NatEra.A4, NatRange(ips=(NODE_IP,)))
    a = Entry(tcp("10.244.0.1", 41000), seq_end=1)
    b = Entry(tcp("10.244.0.2", 41000), seq_end=2)
    ra = nat.setup(a, table, 0.0, ScriptedDraws([]))
    rb = nat.setup(b, table, 0.0, ScriptedDraws([]))
    assert ra.outcome is rb.outcome is NatOutcome.PORT_KEPT and ra.tuple == rb.tuple
    assert confirm(table, a, 0.0, ConfirmEra.C5) is ConfirmOutcome.INSERTED
    assert confirm(table, b, 0.0, ConfirmEra.C5) is ConfirmOutcome.DROPPED
    assert table.stats.found == 0  # nobody saw a busy tuple: the kernel cannot tell it was a race
    retry = Entry(tcp("10.244.0.2", 41000), seq_end=2)
    res = nat.setup(retry, table, 1.0, ScriptedDraws([100]))
    assert res.outcome is NatOutcome.SEARCHED and res.port == 1024 + 100
    assert table.stats.found == 1
    assert confirm(table, retry, 1.0, ConfirmEra.C5) is ConfirmOutcome.INSERTED
    assert (table.stats.insert_failed, table.stats.drop, table.stats.insert) == (1, 1, 0)


# ---------------------------------------------------------------- step 1 / step 3 corner cases, §4.2
def test_one_port_window_keeps_a_busy_pod_port_without_trying_to_evict() -> None:
    """§4.2 step 3 NB: a one-port ``--to-ports`` keeps the pod's port even if busy, with no used
    check and no search, so even an evictable TIME_WAIT holder stays and confirm drops (A3)."""
    table = ConntrackTable()
    holder = occupy(table, LO, state=TcpState.TIME_WAIT, seq_end=1)
    nat = SnatAllocator(NatEra.A3, NatRange(ips=(NODE_IP,), ports=(LO, LO)))
    syn = Entry(tcp(POD, LO), seq_end=1_000)
    res = nat.setup(syn, table, 0.0, ScriptedDraws([]))
    assert res.outcome is NatOutcome.GAVE_UP and res.port == LO
    assert (res.probes, res.evicted, res.evict_refused) == (0, [], 0)
    assert table.stats.found == 0 and not holder.dying
    assert confirm(table, syn, 0.0, ConfirmEra.C5) is ConfirmOutcome.DROPPED
    # the same pod port outside the one-port window goes to the search, which may evict
    other = Entry(tcp(POD, POD_PORT), seq_end=1_000)
    res = nat.setup(other, table, 0.0, ScriptedDraws([0]))
    assert res.outcome is NatOutcome.SEARCHED and res.evicted == [holder]


@pytest.mark.parametrize("newest_busy", [False, True])
def test_bysource_tries_only_the_newest_mapping_of_the_socket(newest_busy: bool) -> None:
    """§4.2 step 1: only the first by-source entry in range is tried (newest first, as the
    kernel's hlist_add_head). If its port is taken towards the new destination, NAT falls through
    to port preservation instead of trying the socket's older mappings."""
    d1, d2, d3 = ("203.0.113.1", 443), ("203.0.113.2", 443), ("203.0.113.3", 443)
    table = ConntrackTable()
    occupy(table, 30000, pod_ip=POD, pod_port=POD_PORT, dst=d1)  # older mapping of the socket
    occupy(table, 30001, pod_ip=POD, pod_port=POD_PORT, dst=d2)  # newer mapping
    if newest_busy:
        occupy(table, 30001, pod_ip="10.244.9.9", pod_port=5, dst=d3)
    nat = SnatAllocator(NatEra.A4, NatRange(ips=(NODE_IP,)))
    res = nat.get_unique_tuple(Entry(tcp(POD, POD_PORT, d3)), table, 0.0, ScriptedDraws([]))
    if newest_busy:
        assert res.outcome is NatOutcome.PORT_KEPT and res.port == POD_PORT
        assert table.stats.found == 1
    else:
        assert res.outcome is NatOutcome.BYSOURCE and res.port == 30001
        assert table.stats.found == 0


@pytest.mark.parametrize("era", [NatEra.A2, NatEra.A3])
def test_port_held_in_original_direction_is_taken_and_never_evicted(era: NatEra) -> None:
    """§5.3 step 2: if the candidate's reply tuple is some entry's *original* tuple (a flow opened
    from the destination to the node port), the port is taken, even for a closing SNAT entry."""
    table = ConntrackTable()
    inbound = Entry(ConnTuple(6, DST[0], DST[1], NODE_IP, LO), seq_end=0)
    inbound.state = TcpState.CLOSE
    inbound.nat_done = inbound.snat = True
    table.insert(inbound, 0.0)
    nat = SnatAllocator(era, NatRange(ips=(NODE_IP,), ports=(LO, LO)))
    syn = Entry(tcp(POD, POD_PORT), seq_end=1_000)
    res = nat.get_unique_tuple(syn, table, 0.0, ScriptedDraws([0]))
    assert res.outcome is NatOutcome.GAVE_UP and res.port == LO
    assert res.evicted == [] and res.evict_refused == 0 and not inbound.dying
    assert table.stats.found == (1 if era == NatEra.A2 else 0)


def test_closing_entry_without_snat_is_never_evicted() -> None:
    """§5.3 step 3: only source-NATed entries may be evicted. A node-local flow that kept its own
    tuple (no SNAT) in CLOSE blocks the port even for a SYN whose sequence is ahead."""
    table = ConntrackTable()
    local = Entry(ConnTuple(6, NODE_IP, LO, *DST), seq_end=0)
    local.state = TcpState.CLOSE
    local.nat_done = True
    table.insert(local, 0.0)
    nat = SnatAllocator(NatEra.A4, NatRange(ips=(NODE_IP,), ports=(LO, LO)))
    res = nat.get_unique_tuple(
        Entry(tcp(POD, POD_PORT), seq_end=1_000), table, 0.0, ScriptedDraws([0])
    )
    assert res.outcome is NatOutcome.GAVE_UP and res.evicted == [] and res.evict_refused == 0
    assert not local.dying and table.stats.found == 0
