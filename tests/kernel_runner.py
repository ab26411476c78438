"""The runner that plays a kernel scenario and checks every step against the spec
(see ``tests/test_kernel_properties.py``)."""

from __future__ import annotations

from collections import Counter

from conftest import NODE_IP
from kernel_scenarios import (
    DSTS,
    MAX_ATTEMPTS,
    MAX_PROBES,
    POD_PORTS,
    PODS,
    SEARCHING,
    CountingDraws,
    Scenario,
    counted_search_probes,
    live,
    peek,
    round_lengths,
    seq_ahead,
    spec_window,
)

from snatsim.kernel.confirm import ConfirmOutcome, confirm
from snatsim.kernel.conntrack import TCP, ConntrackTable, Entry, TcpState
from snatsim.kernel.eras import ConfirmEra, NatEra
from snatsim.kernel.nat import NatOutcome, NatResult, SnatAllocator
from snatsim.kernel.tuples import ConnTuple, Proto
from snatsim.kernel.window import port_window


# ---------------------------------------------------------------- the runner
class Run:
    """Plays a scenario on one table and checks every step (spec §4-§7)."""

    def __init__(self, sc: Scenario) -> None:
        self.sc = sc
        self.range = sc.nat_range()
        # the same-flow exception of the used-check arrived with the 5.0 allocator (spec §5.2)
        self.table = ConntrackTable(same_origin_free=sc.nat_era >= NatEra.A2)
        self.nat = SnatAllocator(sc.nat_era, self.range, secret=b"props")
        self.draws = CountingDraws(sc.seed)
        self.now = 0.0
        self.pending: dict[int, tuple[Entry, NatResult]] = {}
        self.shadow: dict[int, Entry] = {}  # id -> entry confirmed into the table, not yet gone
        self.evicted: set[int] = set()
        self.evictions = 0
        self.reopened: set[int] = set()  # TCP entries killed by a SYN re-opening their tuple
        self.nat_entries: list[Entry] = []  # every entry NAT was set up for, in order
        self.confirmed_at: dict[int, float] = {}  # id -> time its confirm inserted it
        self.results: list[NatResult] = []
        self.outcomes: Counter[ConfirmOutcome] = Counter()
        self.nat_calls = 0
        self.expected_found = 0  # predicted from the table before each NAT decision
        self.first_try: list[bool] = []  # per NAT: steps 1-3 decided without a busy check

    # -------------------------------------------------------------- helpers
    def taken(self, cand: ConnTuple, ct: Entry) -> bool:
        """``nf_nat_used_tuple`` from the table as it stands (spec §5.1, §5.2), no side effects.

        (The A4 ``used_new`` exception needs an entry originating at a destination; scenarios
        never create one, so for them it equals this check.)
        """
        e = peek(self.table, cand.inverted())
        if e is None or e is ct or e.expires_s <= self.now:
            return False
        return not (self.table.same_origin_free and e.orig == ct.orig)

    def expected_bysource(self, orig: ConnTuple) -> list[Entry]:
        """The by-source index as the spec defines it (§3.2 step 2, §4.2): every entry NAT was
        set up for from this source (proto, ip, port), until it is destroyed; newest first."""
        return [
            e
            for e in reversed(self.nat_entries)
            if not e.dying
            and (e.orig.proto, e.orig.src_ip, e.orig.src_port)
            == (orig.proto, orig.src_ip, orig.src_port)
        ]

    def in_window(self, port: int) -> bool:
        if self.range.ports is None:
            return True
        lo, hi = self.range.ports
        return lo <= port <= hi

    def predict_steps_1_to_3(self, ct: Entry) -> tuple[NatOutcome | None, ConnTuple | None, int]:
        """Spec §4.2 steps 1-3: (outcome if they decide, its tuple, busy used-checks made)."""
        orig = ct.orig
        busy = 0
        if self.range.random_any:
            return None, None, 0
        if orig.src_ip in self.range.ips and self.in_window(orig.src_port):
            if not self.taken(orig, ct):
                return NatOutcome.PRESERVED, orig, 0
            busy += 1
        else:
            for other in self.expected_bysource(orig):
                mapped = other.nat_tuple
                cand = orig.with_source(mapped.src_ip, mapped.src_port)
                if cand.src_ip in self.range.ips and self.in_window(cand.src_port):
                    if not self.taken(cand, ct):
                        return NatOutcome.BYSOURCE, cand, busy
                    busy += 1
                    break
        cand = orig.with_source(NODE_IP, orig.src_port)
        if self.range.ports is not None:
            if self.in_window(cand.src_port):
                if self.range.ports[0] == self.range.ports[1]:  # one port: kept even if busy
                    held = live(peek(self.table, cand.inverted()), self.now)
                    return (NatOutcome.GAVE_UP if held else NatOutcome.PORT_KEPT), cand, busy
                if not self.taken(cand, ct):
                    return NatOutcome.PORT_KEPT, cand, busy
                busy += 1
        elif not self.taken(cand, ct):
            return NatOutcome.PORT_KEPT, cand, busy
        else:
            busy += 1
        return None, None, busy

    # -------------------------------------------------------------- operations
    def nat_op(self, cpu: int, pod: int, port: int, dst: int, seq: int) -> None:
        if cpu in self.pending:  # the CPU finishes its packet first
            self.confirm_cpu(cpu)
        orig = ConnTuple(int(self.sc.proto), PODS[pod], POD_PORTS[port], *DSTS[dst])
        old = peek(self.table, orig)
        # a SYN re-opens a live TCP entry of its tuple in TIME_WAIT or CLOSE (killing it)
        reopens = live(old, self.now) and orig.proto == TCP and old.state >= TcpState.TIME_WAIT
        existing = self.table.lookup_new_packet(orig, self.now)  # conntrack "in"
        if old is not None and (reopens or not live(old, self.now)):
            assert existing is None and old.dying  # re-opened, or expired and collected
            if reopens:
                self.reopened.add(id(old))
        elif old is not None:
            assert existing is old
            return  # the packet belongs to a live entry: no new entry, no NAT
        self.nat_new(cpu, Entry(orig, seq_end=seq))

    def nat_new(self, cpu: int, ct: Entry) -> None:
        """NAT a new, unconfirmed entry on ``cpu`` and check the result (spec §4, §5)."""
        orig = ct.orig
        assert self.table.bysource(orig.proto, orig.src_ip, orig.src_port) == (
            self.expected_bysource(orig)
        )
        found0 = self.table.stats.found
        draws0 = self.draws.u16_count
        rover0 = dict(self.nat.rover)
        decided, decided_tuple, busy_checks = self.predict_steps_1_to_3(ct)

        res = self.nat.setup(ct, self.table, self.now, self.draws)
        self.nat_entries.append(ct)
        self.nat_calls += 1
        self.results.append(res)
        draws_used = self.draws.u16_count - draws0
        t = res.tuple
        assert (t.proto, t.dst_ip, t.dst_port) == (orig.proto, orig.dst_ip, orig.dst_port)
        assert t.src_ip == NODE_IP
        assert ct.reply == t.inverted() and ct.nat_done and ct.snat == (t != orig)
        assert not ct.confirmed and peek(self.table, ct.orig) is not ct

        lo, size = spec_window(orig.src_port, self.range.ports)
        assert port_window(orig.src_port, self.range.ports) == (lo, size)
        harder = self.sc.nat_era >= NatEra.A3 and orig.proto == TCP
        self.first_try.append(decided is not None and busy_checks == 0)
        if decided is not None:  # steps 1-3 decided: no search, no draw
            assert res.outcome is decided and t == decided_tuple
            assert (res.probes, res.busy_probes, res.rounds, draws_used) == (0, 0, 0, 0)
            self.expected_found += busy_checks
            assert self.table.stats.found - found0 == busy_checks
        else:
            assert res.outcome in SEARCHING
            assert res.probes >= 1 and res.busy_probes <= res.probes
            if res.outcome is NatOutcome.SEARCHED:
                assert res.busy_probes == res.probes - 1
            self.check_search_shape(res, size, draws_used, rover0, lo)
            counted = counted_search_probes(res, size, harder)
            self.expected_found += busy_checks + counted
            assert self.table.stats.found - found0 == busy_checks + counted
            if not harder:  # no eviction path: every busy probe counted found
                assert self.table.stats.found - found0 >= res.busy_probes
        if res.outcome in SEARCHING:  # searched or given up: the port lies in the window
            assert lo <= t.src_port < lo + size
        if res.outcome in (NatOutcome.PORT_KEPT, NatOutcome.PRESERVED):
            assert t.src_port == orig.src_port

        # eviction (A3+, TCP SYN, closing SNAT entry whose sequence is behind: spec §5.3)
        assert len(res.evicted) <= 1
        for old in res.evicted:
            assert harder and old.dying and peek(self.table, old.reply) is not old
            assert old.state >= TcpState.TIME_WAIT and old.snat and not old.fixed_timeout
            assert seq_ahead(ct.seq_end, old.seq_end)
            assert res.outcome is NatOutcome.SEARCHED and old.reply == t.inverted()
            self.evicted.add(id(old))
            self.evictions += 1
        assert self.nat.evicted == self.evictions  # the allocator's eviction counter
        if not harder:
            assert res.evict_refused == 0

        # free at NAT time (unless knowingly given up): the reply tuple is held by nobody else
        holder = self.table.find(t.inverted(), self.now)
        if res.outcome is NatOutcome.GAVE_UP:
            assert holder is not None
        else:
            assert holder is None or (self.table.same_origin_free and holder.orig == ct.orig), (
                f"{res.outcome} handed out {t} held by {holder}"
            )
        self.pending[cpu] = (ct, res)
        if self.sc.cpus == 1:
            self.confirm_cpu(cpu)

    def check_search_shape(
        self, res: NatResult, size: int, draws_used: int, rover0: dict[int, int], lo: int
    ) -> None:
        if self.sc.nat_era == NatEra.A1:
            assert res.rounds == 1 and res.probes <= size  # A1: at most the window
            assert draws_used == (1 if self.range.random_fully else 0)
            if res.outcome is NatOutcome.GAVE_UP:
                assert res.probes == size and res.busy_probes == size - 1
            if self.range.random_any:
                assert self.nat.rover == rover0
            else:  # the rover points at the offset just handed out (spec §13.3)
                assert self.nat.rover[int(self.sc.proto)] % size == res.port - lo
            return
        rounds = round_lengths(size)
        assert res.probes <= MAX_PROBES and res.probes <= sum(rounds)  # at most 248 probes, ever
        assert 1 <= res.rounds <= len(rounds) and draws_used == res.rounds  # one u16 per round
        assert sum(rounds[: res.rounds - 1]) < res.probes <= sum(rounds[: res.rounds])
        if res.outcome is NatOutcome.GAVE_UP:
            assert res.rounds == len(rounds) and res.probes == sum(rounds)
            assert res.busy_probes == res.probes
        if size <= MAX_ATTEMPTS:
            assert res.rounds == 1 and res.probes <= size

    def twin_op(self, cpu: int, pick: int) -> None:
        """A second packet of a socket, handled by another CPU whose conntrack "in" ran before
        the first packet's entry was confirmed (the UDP A/AAAA race of spec §11): a new entry
        with the same original tuple. Its NAT runs now, while the first is still pending or was
        confirmed at this very instant (the 5.0 same-flow case of spec §5.2)."""
        if cpu in self.pending or self.sc.cpus == 1:
            return
        firsts = [ct for ct, _ in self.pending.values()]
        firsts += [
            e
            for key, e in self.shadow.items()
            if self.confirmed_at[key] == self.now and not e.nat_clash and not e.dying
        ]
        if firsts:
            first = firsts[pick % len(firsts)]
            self.nat_new(cpu, Entry(first.orig, seq_end=first.seq_end))

    def predict_confirm(self, ct: Entry) -> ConfirmOutcome:
        """Spec §6.1/§6.2 per era: the winner is the live entry holding our original tuple, else
        our reply tuple; TCP and C0 drop; UDP merges (winner without NAT bits, C2+ identical, C5
        exact reverse), else on C3+ goes reply-only if the clash was on the original tuple and
        the reply tuple is free; otherwise drops."""
        era = self.sc.confirm_era
        on_orig = peek(self.table, ct.orig)
        on_reply = peek(self.table, ct.reply)
        winner = on_orig if live(on_orig, self.now) else None
        clash_on_orig = winner is not None
        if winner is None and live(on_reply, self.now):
            winner = on_reply
        if winner is None:
            return ConfirmOutcome.INSERTED
        if ct.orig.proto == TCP or era == ConfirmEra.C0:
            return ConfirmOutcome.DROPPED
        identical = winner.orig == ct.orig and winner.reply == ct.reply
        reverse = winner.orig == ct.reply and winner.reply == ct.orig
        if (
            not winner.nat_done
            or (era >= ConfirmEra.C2 and identical)
            or (era >= ConfirmEra.C5 and reverse)
        ):
            return ConfirmOutcome.MERGED
        if era >= ConfirmEra.C3 and clash_on_orig and not live(on_reply, self.now):
            return ConfirmOutcome.NAT_CLASH
        return ConfirmOutcome.DROPPED

    def confirm_op(self, pick: int) -> None:
        """Confirm one of the pending entries, in any order."""
        if self.pending:
            self.confirm_cpu(sorted(self.pending)[pick % len(self.pending)])

    def confirm_cpu(self, cpu: int) -> None:
        ct, res = self.pending.pop(cpu)
        era = self.sc.confirm_era
        stats = self.table.stats
        before = stats.as_dict()
        clash_orig = live(peek(self.table, ct.orig), self.now)
        clash_reply = live(peek(self.table, ct.reply), self.now)

        predicted = self.predict_confirm(ct)

        out = confirm(self.table, ct, self.now, era)
        self.outcomes[out] += 1
        d = {k: v - before[k] for k, v in stats.as_dict().items()}
        assert out is predicted
        assert (out is ConfirmOutcome.INSERTED) == (not clash_orig and not clash_reply)
        if self.sc.proto == Proto.TCP or era == ConfirmEra.C0:
            assert out in (ConfirmOutcome.INSERTED, ConfirmOutcome.DROPPED)
        if self.sc.cpus == 1:  # no SMP race: only a knowingly busy NAT result can clash
            assert (out is ConfirmOutcome.DROPPED) == (res.outcome is NatOutcome.GAVE_UP)

        expected = dict.fromkeys(before, 0)
        if out is ConfirmOutcome.INSERTED:
            expected["insert"] = 1 if era == ConfirmEra.C0 else 0
            assert peek(self.table, ct.orig) is ct and peek(self.table, ct.reply) is ct
            assert ct.expires_s == self.now + self.table.timeout_for(ct)
            self.shadow[id(ct)] = ct
            self.confirmed_at[id(ct)] = self.now
        elif out is ConfirmOutcome.DROPPED:
            expected["insert_failed"] = 1
            expected["drop"] = 0 if era == ConfirmEra.C0 else 1
        elif out is ConfirmOutcome.MERGED:
            assert era >= ConfirmEra.C1
            expected["insert_failed" if era <= ConfirmEra.C2 else "clash_resolve"] = 1
        else:  # NAT_CLASH: reply-only, fixed 1 s (spec §6.2)
            assert era >= ConfirmEra.C3 and clash_orig and not clash_reply
            assert ct.nat_clash and ct.fixed_timeout and ct.expires_s == self.now + 1.0
            assert peek(self.table, ct.reply) is ct and peek(self.table, ct.orig) is not ct
            expected["clash_resolve"] = 1
            self.shadow[id(ct)] = ct
            self.confirmed_at[id(ct)] = self.now
        assert d == expected, (out, era, d)
        if out in (ConfirmOutcome.DROPPED, ConfirmOutcome.MERGED):
            assert ct.dying and peek(self.table, ct.reply) is not ct
            assert ct not in self.table.bysource(ct.orig.proto, ct.orig.src_ip, ct.orig.src_port)

    def advance_op(self, step_s: float) -> None:
        self.now += step_s

    def state_op(self, pick: int, state: TcpState, seq_bump: int) -> None:
        candidates = [e for e in self.shadow.values() if live(e, self.now) and not e.fixed_timeout]
        if not candidates:
            return
        e = candidates[pick % len(candidates)]
        if e.orig.proto == TCP:
            e.seq_end = (e.seq_end + seq_bump) & 0xFFFF_FFFF
            self.table.set_state(e, state, self.now, assured=True)
        else:  # UDP: a reply was seen, the entry is ASSURED and gets the stream timeout
            self.table.set_state(e, TcpState.NONE, self.now, assured=True)
        assert e.expires_s == self.now + self.table.timeout_for(e)

    def gc_op(self) -> None:
        removed = self.table.gc(self.now)
        assert all(e.expires_s > self.now for e in self.table.entries())
        assert removed >= 0

    # -------------------------------------------------------------- invariants
    def check_table(self) -> None:
        table = self.table
        entries = table.entries()
        assert len(entries) == len(table) == len({id(e) for e in entries})
        keys: Counter[ConnTuple] = Counter()
        for e in entries:
            assert e.confirmed and not e.dying
            assert peek(table, e.reply) is e
            keys[e.reply] += 1
            if e.nat_clash:
                assert peek(table, e.orig) is not e
            else:
                assert peek(table, e.orig) is e
                keys[e.orig] += 1
        assert all(n == 1 for n in keys.values())  # no two entries share a tuple
        # the table holds exactly the confirmed entries that were neither evicted nor collected
        present = {id(e) for e in entries}
        assert present <= set(self.shadow)
        for key, e in list(self.shadow.items()):
            if key in present:
                continue
            assert e.dying
            # only evicted, re-opened or expired entries vanish
            assert key in self.evicted or key in self.reopened or e.expires_s <= self.now
            del self.shadow[key]
        assert len(table) == len(self.shadow)
        # per-destination usage adds up to the table
        per_dst = Counter(
            (e.reply.proto, e.reply.dst_ip, e.reply.src_ip, e.reply.src_port) for e in entries
        )
        assert table.destinations() == dict(per_dst)
        assert sum(table.destinations().values()) == len(table)
        for (proto, nat_ip, dst_ip, dst_port), n in per_dst.items():
            assert table.ports_in_use(proto, nat_ip, dst_ip, dst_port) == n
        # unconfirmed entries are invisible
        for ct, _ in self.pending.values():
            assert not ct.confirmed and peek(table, ct.reply) is not ct
        # counters add up: every NAT attempt is accepted, dropped or still in flight
        o = self.outcomes
        accepted = o[ConfirmOutcome.INSERTED] + o[ConfirmOutcome.NAT_CLASH]
        accepted += o[ConfirmOutcome.MERGED]
        assert self.nat_calls == accepted + o[ConfirmOutcome.DROPPED] + len(self.pending)
        s = table.stats
        era = self.sc.confirm_era
        assert s.insert_failed == o[ConfirmOutcome.DROPPED] + (
            o[ConfirmOutcome.MERGED] if era <= ConfirmEra.C2 else 0
        )
        assert s.drop == (0 if era == ConfirmEra.C0 else o[ConfirmOutcome.DROPPED])
        assert s.found == self.expected_found
        assert s.early_drop == s.chaintoolong == s.search_restart == 0

    def play(self) -> Run:
        for op in self.sc.ops:
            kind, args = op[0], op[1:]
            if kind == "nat":
                self.nat_op(*args)  # type: ignore[arg-type]
            elif kind == "twin":
                self.twin_op(*args)  # type: ignore[arg-type]
            elif kind == "confirm":
                self.confirm_op(*args)  # type: ignore[arg-type]
            elif kind == "advance":
                self.advance_op(*args)  # type: ignore[arg-type]
            elif kind == "state":
                self.state_op(*args)  # type: ignore[arg-type]
            else:
                self.gc_op()
            self.check_table()
        while self.pending:  # drain the CPUs
            self.confirm_cpu(min(self.pending))
            self.check_table()
        self.table.gc(self.now)
        self.check_table()
        return self
