"""Hypothesis properties of the kernel layer on scripted multi-CPU scenarios (spec §4-§7, §13).

A scenario is an era pair (A1-A4 x C0-C5), a rule (flags, optional ``--to-ports`` window of 1-12
ports), a protocol, a number of CPUs and a list of operations: NAT of a new entry on a CPU, confirm
of a pending entry (any order), time advance, TCP state changes of confirmed entries, GC. A CPU
holds at most one entry between NAT and confirm (spec §13.1: packets on one CPU never overlap); on
a single CPU, confirm follows NAT at once. Random draws come from
``Draws(np.random.default_rng(seed))`` with a Hypothesis-drawn seed.

After every operation the runner checks the NAT result against the spec's steps (§4.2, §4.4),
the confirm outcome and counters (§6, §7) and the table's invariants; ``found`` is predicted
exactly from the table as it was before each NAT decision.
"""

from __future__ import annotations

import numpy as np
from conftest import DST, NODE_IP, ScriptedDraws, occupy
from hypothesis import event, given, settings, target
from hypothesis import strategies as st
from kernel_runner import Run
from kernel_scenarios import (
    EVICT_LEFT,
    MAX_ATTEMPTS,
    SEQS,
    WINDOW_LO,
    Scenario,
    counted_search_probes,
    round_lengths,
    scenarios,
    seq_ahead,
)

from snatsim.kernel.confirm import ConfirmOutcome
from snatsim.kernel.conntrack import ConntrackTable, Entry, TcpState
from snatsim.kernel.eras import ConfirmEra, NatEra
from snatsim.kernel.nat import NatOutcome, NatRange, SnatAllocator
from snatsim.kernel.tuples import ConnTuple, Proto


# ---------------------------------------------------------------- properties
@settings(max_examples=500, deadline=None)
@given(scenarios())
def test_random_scenarios_keep_the_kernel_invariants(sc: Scenario) -> None:
    """All eras, flags, windows and protocols: every NAT, confirm and table check holds."""
    run = Run(sc).play()
    for outcome in {r.outcome for r in run.results}:
        event(f"nat {outcome}")
    for out in run.outcomes:
        event(f"confirm {out}")
    if any(r.evicted for r in run.results):
        event("evicted")
    if any(r.evict_refused for r in run.results):
        event("eviction refused")


@settings(max_examples=150, deadline=None)
@given(scenarios(protos=(Proto.TCP,), confirm_eras=tuple(ConfirmEra)[1:], cpus=(2, 3)))
def test_tcp_drops_are_counted_once_and_add_up(sc: Scenario) -> None:
    """TCP on C1+: each DROPPED adds one ``insert_failed`` and one ``drop`` and nothing else, and
    inserts + drops = confirms attempted (spec §7)."""
    run = Run(sc).play()
    s = run.table.stats
    o = run.outcomes
    assert set(o) <= {ConfirmOutcome.INSERTED, ConfirmOutcome.DROPPED}
    assert s.insert_failed == s.drop == o[ConfirmOutcome.DROPPED]
    assert o[ConfirmOutcome.INSERTED] + s.drop == run.nat_calls  # all confirmed by the end
    assert s.clash_resolve == s.insert == 0


@settings(max_examples=150, deadline=None)
@given(scenarios(cpus=(1,)))
def test_one_cpu_never_races(sc: Scenario) -> None:
    """Spec §3.2 / §16.1: on one CPU only a knowingly busy NAT result (exhaustion) is dropped,
    and ``found`` is 0 when every NAT kept its port on the first try."""
    run = Run(sc).play()
    gave_up = sum(r.outcome is NatOutcome.GAVE_UP for r in run.results)
    assert run.outcomes[ConfirmOutcome.DROPPED] == gave_up
    assert run.outcomes[ConfirmOutcome.NAT_CLASH] == run.outcomes[ConfirmOutcome.MERGED] == 0
    if all(run.first_try):
        assert run.table.stats.found == 0


@settings(max_examples=100, deadline=None)
@given(
    scenarios(
        protos=(Proto.TCP,),
        nat_eras=(NatEra.A3, NatEra.A4),
        windows=st.integers(1, 6),
        cpus=(1, 2),
    )
)
def test_eviction_scenarios(sc: Scenario) -> None:
    """6.5+ with small windows that fill with closing entries: evictions happen and every one of
    them obeys spec §5.3 (checked by the runner); an evicted entry never stays in the table."""
    run = Run(sc).play()
    evicted = [old for r in run.results for old in r.evicted]
    event(f"evictions: {min(len(evicted), 3)}")
    target(float(len(evicted)), label="evictions")
    assert all(old.dying and old not in run.table.entries() for old in evicted)
    assert len({id(old) for old in evicted}) == len(evicted)  # nobody is evicted twice


@settings(max_examples=100, deadline=None)
@given(scenarios(protos=(Proto.UDP,), confirm_eras=tuple(ConfirmEra)[2:], cpus=(2, 3), max_ops=30))
def test_udp_same_socket_races_resolve_without_drop(sc: Scenario) -> None:
    """UDP on C2+ (spec §6.2, §11): a same-socket twin with an identical NAT result merges; with a
    different one, on C3+, it becomes a reply-only NAT_CLASH entry; two sockets that got the same
    reply tuple are dropped."""
    run = Run(sc).play()
    o = run.outcomes
    for out in o:
        event(f"confirm {out}")
    s = run.table.stats
    if sc.confirm_era >= ConfirmEra.C3:
        assert s.clash_resolve == o[ConfirmOutcome.MERGED] + o[ConfirmOutcome.NAT_CLASH]
        assert s.insert_failed == s.drop == o[ConfirmOutcome.DROPPED]
    else:
        assert o[ConfirmOutcome.NAT_CLASH] == 0 and s.clash_resolve == 0
        assert s.insert_failed == o[ConfirmOutcome.DROPPED] + o[ConfirmOutcome.MERGED]


# ---------------------------------------------------------------- search vs. the spec's pseudocode
def spec_search(
    size: int,
    offsets: list[int],
    holders: dict[int, tuple[TcpState, int, bool]],
    era: NatEra,
    syn_seq: int,
) -> tuple[int, bool, int, list[int], int]:
    """``port_search_A2plus`` of spec §4.4 with ``used_or_evict`` of §5.3, over window slots.

    ``holders`` maps a busy slot to (state, seq_end, source-NATed) of its entry. Returns (slot,
    gave up, probes, evicted slots, refused evictions).
    """
    attempts = min(size, MAX_ATTEMPTS)
    probes = refused = 0
    it = iter(offsets)
    while True:
        off = next(it)
        slot = 0
        for i in range(attempts):
            slot = off % size
            probes += 1
            if slot not in holders:
                return slot, False, probes, [], refused
            state, seq, snat = holders[slot]
            if (
                era >= NatEra.A3
                and attempts - i <= EVICT_LEFT
                and state >= TcpState.TIME_WAIT
                and snat
            ):
                if seq_ahead(syn_seq, seq):
                    return slot, False, probes, [slot], refused
                refused += 1
            off = (off + 1) & 0xFFFF
        if attempts >= size or attempts < 16:
            return slot, True, probes, [], refused
        attempts //= 2


@settings(max_examples=200, deadline=None)
@given(
    era=st.sampled_from((NatEra.A2, NatEra.A3, NatEra.A4)),
    size=st.one_of(st.integers(1, 12), st.sampled_from((127, 128, 129, 200, 300))),
    fill=st.sampled_from((0.5, 0.8, 0.95, 1.0)),
    closing=st.sampled_from((0.0, 0.05, 0.3)),
    offsets=st.lists(st.integers(0, 0xFFFF), min_size=5, max_size=5),
    layout_seed=st.integers(0, 2**32 - 1),
    syn_seq=st.sampled_from(SEQS),
)
def test_search_gives_up_exactly_as_the_spec_says(
    era: NatEra,
    size: int,
    fill: float,
    closing: float,
    offsets: list[int],
    layout_seed: int,
    syn_seq: int,
) -> None:
    """Exhaustion, rounds and eviction against the spec's pseudocode on random busy layouts."""
    rng = np.random.default_rng(layout_seed)
    busy = rng.random(size) < fill
    holders: dict[int, tuple[TcpState, int, bool]] = {}
    table = ConntrackTable()
    for slot in np.flatnonzero(busy).tolist():
        state = TcpState.ESTABLISHED
        if rng.random() < closing:
            state = TcpState.CLOSE if rng.random() < 0.5 else TcpState.TIME_WAIT
        seq = int(rng.choice(SEQS))
        snat = rng.random() < 0.8
        if snat:
            occupy(table, WINDOW_LO + slot, state=state, seq_end=seq)
        else:  # a node-local flow that kept its own tuple: no SNAT, never evictable
            e = Entry(ConnTuple(int(Proto.TCP), NODE_IP, WINDOW_LO + slot, *DST), seq_end=seq)
            e.nat_done = True
            e.state = state
            table.insert(e, 0.0)
        holders[slot] = (state, seq, snat)
    nat = SnatAllocator(era, NatRange(ips=(NODE_IP,), ports=(WINDOW_LO, WINDOW_LO + size - 1)))
    draws = ScriptedDraws(offsets)
    ct = Entry(ConnTuple(int(Proto.TCP), "10.244.0.1", 40000, *DST), seq_end=syn_seq)
    res = nat.get_unique_tuple(ct, table, 0.0, draws)

    slot, gave_up, probes, evicted, refused = spec_search(size, offsets, holders, era, syn_seq)
    assert res.port == WINDOW_LO + slot and res.probes == probes
    assert (res.outcome is NatOutcome.GAVE_UP) == gave_up
    assert [e.nat_tuple.src_port - WINDOW_LO for e in res.evicted] == evicted
    assert res.evict_refused == refused
    assert len(table) == len(holders) - len(evicted)
    assert res.rounds == len(offsets) - draws.left
    harder = era >= NatEra.A3  # TCP SYN: the last 32 probes of a round skip the counting check
    assert table.stats.found == counted_search_probes(res, size, harder)
    if gave_up:
        assert len(holders) > 0 and probes == sum(round_lengths(size))
    elif not holders:
        assert probes == 1
