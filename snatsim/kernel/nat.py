"""SNAT/MASQUERADE source selection: ``nf_nat_setup_info`` / ``get_unique_tuple`` (spec §4, §5).

The decision reads only the *confirmed* table (plus, in era A1, the global rover). It happens at
the NAT hook; the entry becomes visible to other CPUs only at confirm (spec §3.2). Random draws come
from the caller's :class:`~snatsim.rng.Draws`, in this order: one ``u16()`` per search round (A1
``--random-fully`` uses one ``u16()`` for its single offset; A1 default and ``--random`` draw none).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from snatsim.kernel.conntrack import (
    NAT_DONE,
    SRC_NAT,
    TCP,
    ConntrackTable,
    Entry,
    TcpState,
    seq_after,
)
from snatsim.kernel.eras import NatEra
from snatsim.kernel.freeport import skip_busy
from snatsim.kernel.hashing import jhash2, keyed_hash32
from snatsim.kernel.tuples import PORTS, ConnTuple, conn_tuple, ip_to_int
from snatsim.kernel.window import port_window
from snatsim.rng import Draws

NF_NAT_MAX_ATTEMPTS = 128
EVICT_THRESHOLD = 32
FAST_AFTER = 32  # A1: probes walked one by one before a first jump over busy ports (freeport)


@dataclass(frozen=True)
class NatRange:
    """What the SNAT/MASQUERADE rule asks for (``struct nf_nat_range2``, spec §4.1).

    ``ips`` is the address pool (MASQUERADE: the node address). ``ports`` is ``--to-ports``
    (``NF_NAT_RANGE_PROTO_SPECIFIED``) or None.
    """

    ips: tuple[str, ...]
    ports: tuple[int, int] | None = None
    random: bool = False
    random_fully: bool = False
    persistent: bool = False

    @property
    def random_any(self) -> bool:
        """``NF_NAT_RANGE_PROTO_RANDOM_ALL``: either random flag."""
        return self.random or self.random_fully

    def ip_in_range(self, ip: str) -> bool:
        """Is ``ip`` one of the pool's addresses?"""
        return ip in self.ips

    def __post_init__(self) -> None:
        if self.ports is not None and self.ports[0] > self.ports[1]:
            object.__setattr__(self, "ports", (self.ports[1], self.ports[0]))  # kernel swaps

    def port_in_range(self, port: int) -> bool:
        """Is ``port`` inside ``--to-ports`` (always true without it)?"""
        return self.ports is None or self.ports[0] <= port <= self.ports[1]


class NatOutcome(StrEnum):
    """How ``get_unique_tuple`` ended (spec §4.2 steps)."""

    PRESERVED = "preserved"  # step 1: the original tuple kept (pod IP inside the SNAT range)
    BYSOURCE = "bysource"  # step 1: the NAT ip:port of an earlier flow from the same socket
    PORT_KEPT = "port-kept"  # step 3: port preservation on the chosen NAT IP
    SEARCHED = "searched"  # step 4: a free port found by the search
    GAVE_UP = "gave-up"  # step 4 (or one-port range): returned a port known to be busy


# members as plain module constants: ``NatOutcome.X`` costs a Python-level lookup on 3.11
_PRESERVED, _PORT_KEPT, _SEARCHED, _GAVE_UP = (
    NatOutcome.PRESERVED, NatOutcome.PORT_KEPT, NatOutcome.SEARCHED, NatOutcome.GAVE_UP
)
_SYN_SENT, _TIME_WAIT = TcpState.SYN_SENT, TcpState.TIME_WAIT


class NatResult:
    """The tuple chosen for an entry and how it was found.

    ``probes`` counts port candidates tried by the search; ``busy_probes`` how many of them were
    busy; ``evicted`` lists entries removed by 6.5+ eviction; ``evict_refused`` counts closing
    (TIME_WAIT/CLOSE) SNAT entries whose eviction the sequence test refused (spec §5.3, §16.1).
    Fields other than ``tuple`` and ``outcome`` keep their class defaults unless set (one object
    per NAT decision, so it is kept cheap).
    """

    probes = 0
    busy_probes = 0
    rounds = 0
    evict_refused = 0
    reply: ConnTuple | None = None  # the chosen tuple's inverse, when already built
    _evicted: list[Entry] | None = None

    def __init__(self, chosen: ConnTuple, outcome: NatOutcome, *, probes: int = 0,
                 busy_probes: int = 0, rounds: int = 0) -> None:
        self.tuple = chosen
        self.outcome = outcome
        if probes or busy_probes or rounds:
            self.probes = probes
            self.busy_probes = busy_probes
            self.rounds = rounds

    @property
    def evicted(self) -> list[Entry]:
        """Entries removed by 6.5+ eviction during this decision (oldest first)."""
        return self._evicted if self._evicted is not None else []

    def add_evicted(self, e: Entry) -> None:
        """Record an entry this decision evicted."""
        if self._evicted is None:
            self._evicted = []
        self._evicted.append(e)

    @property
    def port(self) -> int:
        """The chosen NAT source port."""
        return self.tuple.src_port

    @property
    def known_busy(self) -> bool:
        """True when NAT handed out a tuple it saw taken: confirm will clash unless it frees up."""
        return self.outcome is _GAVE_UP

    def __repr__(self) -> str:
        return (f"NatResult({self.tuple}, {self.outcome}, probes={self.probes}, "
                f"busy={self.busy_probes}, rounds={self.rounds})")


class SnatAllocator:
    """A node's SNAT port allocator for one rule, era by era (spec §4.2, §4.4).

    Holds the A1 global per-protocol rover (shared by all CPUs, not atomic) and the boot secret of
    the keyed hash used by A1 ``--random``.
    """

    def __init__(self, era: NatEra, nat_range: NatRange, *, secret: bytes = b"snatsim") -> None:
        if not nat_range.ips:
            raise ValueError("NatRange.ips must name at least one address")
        self.era = era
        self.range = nat_range
        self.secret = secret
        self.rover: dict[int, int] = {}
        self._preserve = not nat_range.random_any  # steps 1 and 3 run (spec §4.2)
        self._rover = era == NatEra.A1  # the A1 search; else rounds (A2+)
        self._harder = era >= NatEra.A3  # eviction in the last probes of a round
        self._used_new = era >= NatEra.A4  # the 6.12 preservation check
        self.faithful = False  # True: the A1 walk probes every port one by one (the reference)
        self.evicted = 0  # TIME_WAIT entries freed by 6.5+ eviction (spec §5.3; no kernel counter)
        self.fast_after = FAST_AFTER

    # ------------------------------------------------------------------ nf_nat_setup_info
    def setup(self, ct: Entry, table: ConntrackTable, now_s: float, draws: Draws) -> NatResult:
        """Choose the source for ``ct`` and record it: rewrite the reply tuple, index by source."""
        result = self.get_unique_tuple(ct, table, now_s, draws)
        new = result.tuple
        if new != ct.orig:
            ct.reply = result.reply or new.inverted()
            ct.status |= NAT_DONE | SRC_NAT
        else:
            ct.status |= NAT_DONE
        table.add_bysource(ct)
        return result

    def get_unique_tuple(
        self, ct: Entry, table: ConntrackTable, now_s: float, draws: Draws
    ) -> NatResult:
        """``get_unique_tuple`` for SNAT, spec §4.2 (steps 1-4).

        A used-check whose reply tuple is not in the hash at all is answered without calling
        :meth:`ConntrackTable.tuple_taken` (a miss there means "free"; same answer, fewer calls).
        """
        rng = self.range
        orig = ct.orig
        proto, src_ip, src_port, dst_ip, dst_port = orig
        if self._preserve:
            # step 1: keep the original tuple, or reuse the mapping of the same socket
            if src_ip in rng.ips and rng.port_in_range(src_port):
                busy = (
                    table.used_new(orig, ct, now_s)
                    if self._used_new
                    else table.used(orig, ct, now_s)
                )
                if not busy:
                    return NatResult(orig, _PRESERVED)
            elif table.has_bysource(orig):
                for other in table.bysource(proto, src_ip, src_port):
                    mapped = other.nat_tuple
                    cand = orig.with_source(mapped.src_ip, mapped.src_port)
                    if rng.ip_in_range(cand.src_ip) and rng.port_in_range(cand.src_port):
                        if not table.used(cand, ct, now_s):
                            return NatResult(cand, NatOutcome.BYSOURCE)
                        break
        # step 2: the NAT address
        ip = self.pick_ip(orig)
        cand = conn_tuple((proto, ip, src_port, dst_ip, dst_port))
        # step 3: port preservation
        if self._preserve:
            ports = rng.ports
            if ports is not None:
                if rng.port_in_range(src_port):
                    if ports[0] == ports[1]:
                        # a one-port range keeps the port even if busy
                        busy = table.find(cand.inverted(), now_s) is not None
                        return NatResult(cand, _GAVE_UP if busy else _PORT_KEPT)
                    if not table.used(cand, ct, now_s):
                        return NatResult(cand, _PORT_KEPT)
            else:
                reply = conn_tuple((proto, dst_ip, dst_port, ip, src_port))
                held = table.raw_lookup(reply)
                if held is None or not table.entry_taken(held, ct, now_s):
                    result = NatResult(cand, _PORT_KEPT)
                    result.reply = reply
                    return result
        # step 4: search
        if self._rover:
            return self._search_rover(cand, ct, table, now_s, draws)
        return self._search_rounds(cand, ct, table, now_s, draws)

    # ------------------------------------------------------------------ step 2
    def pick_ip(self, orig: ConnTuple) -> str:
        """``find_best_ips_proto`` (spec §4.3): Jenkins hash of the source IP, seeded by dst IP.

        The pool is ``self.range.ips``; for a contiguous pool this is the kernel's
        ``min_ip + reciprocal_scale(h, max - min + 1)``.
        """
        ips = self.range.ips
        if len(ips) == 1:
            return ips[0]
        # the kernel hashes the 4-word u3 union of the source address, read as host-order words
        src_word = int.from_bytes(ip_to_int(orig.src_ip).to_bytes(4, "big"), "little")
        seed = (
            0
            if self.range.persistent
            else int.from_bytes(ip_to_int(orig.dst_ip).to_bytes(4, "big"), "little")
        )
        h = jhash2((src_word, 0, 0, 0), seed)
        return ips[(h * len(ips)) >> 32]

    # ------------------------------------------------------------------ step 4, A1
    def _search_rover(
        self, cand: ConnTuple, ct: Entry, table: ConntrackTable, now_s: float, draws: Draws
    ) -> NatResult:
        """A1 (<= 4.20) search: rover / keyed hash / PRNG start, +1 steps, whole window (spec §4.4).

        On the ``size``-th probe the port is returned without checking, busy or not.
        """
        rng = self.range
        lo, size = port_window(cand.src_port, rng.ports)
        if rng.random:
            off = keyed_hash32(self.secret, cand.src_ip, cand.dst_ip, cand.dst_port) & 0xFFFF
        elif rng.random_fully:
            off = draws.u16()
        else:
            off = self.rover.get(cand.proto, 0)
        proto, src_ip, dst_ip, dst_port = cand.proto, cand.src_ip, cand.dst_ip, cand.dst_port
        holder, taken = table.raw_lookup, table.entry_taken  # a probe as in _search_rounds
        probes = busy = 0
        # jump over busy ports (same results; not with the 5.0+ exception): at once where a
        # search has needed it before, else after fast_after probes one by one
        prefix = (proto, dst_ip, dst_port, src_ip)
        if self.faithful or table.same_origin_free:
            head = size
        else:
            head = 0 if prefix in table.port_indexes else self.fast_after
        while True:
            if probes == head:
                off, n, b, free = skip_busy(table, prefix, lo, size, off, size - 1 - probes, ct,
                                            now_s)
                probes += n if free else n + 1  # + the size-th probe, not checked
                busy += b
                port = PORTS[lo + off % size]
                break
            port = PORTS[lo + off % size]
            probes += 1
            if probes != size:
                held = holder((proto, dst_ip, dst_port, src_ip, port))
                if held is not None and taken(held, ct, now_s):
                    busy += 1
                    off = (off + 1) & 0xFFFF
                    continue
            break
        if not rng.random_any:
            self.rover[cand.proto] = off
        t = conn_tuple((proto, src_ip, port, dst_ip, dst_port))
        result = NatResult(t, _SEARCHED, probes=probes, busy_probes=busy, rounds=1)
        result.reply = conn_tuple((proto, dst_ip, dst_port, src_ip, port))
        # the size-th probe is returned unchecked: busy when the window is full
        if probes == size and table.find(result.reply, now_s) is not None:
            result.outcome = _GAVE_UP
        return result

    # ------------------------------------------------------------------ step 4, A2+
    def _search_rounds(
        self, cand: ConnTuple, ct: Entry, table: ConntrackTable, now_s: float, draws: Draws
    ) -> NatResult:
        """A2-A4 (5.0+) search: PRNG offset, rounds of 128/64/32/16/8 probes (spec §4.4).

        Gives up (keeping a busy port) after a round that covered the whole window or was shorter
        than 16 probes: at most 248 probes. From A3 the last 32 probes of each round may evict.
        """
        lo, size = port_window(cand.src_port, self.range.ports)
        harder = self._harder
        attempts = min(size, NF_NAT_MAX_ATTEMPTS)
        proto, src_ip, dst_ip, dst_port = cand.proto, cand.src_ip, cand.dst_ip, cand.dst_port
        holder = table.raw_lookup  # plain dict lookup: a miss is a free port, no more to check
        taken = table.entry_taken
        result = NatResult(cand, _SEARCHED)
        probes = busy = 0
        port = 0
        while True:
            off = draws.u16()
            result.rounds += 1
            for i in range(attempts):
                port = PORTS[lo + off % size]
                probes += 1
                # a plain tuple hashes and compares like the ConnTuple it stands for
                key = (proto, dst_ip, dst_port, src_ip, port)
                held = holder(key)
                if held is not None:
                    if harder and attempts - i <= EVICT_THRESHOLD:
                        reply = conn_tuple(key)
                        in_use = self._used_or_evict(reply, ct, table, now_s, result)
                    else:
                        in_use = taken(held, ct, now_s)
                    if in_use:
                        busy += 1
                        off = (off + 1) & 0xFFFF
                        continue
                break
            else:
                if attempts < size and attempts >= 16:
                    attempts //= 2
                    continue
                result.outcome = _GAVE_UP  # keeps the last (busy) candidate
            result.tuple = conn_tuple((proto, src_ip, port, dst_ip, dst_port))
            result.reply = conn_tuple((proto, dst_ip, dst_port, src_ip, port))
            result.probes, result.busy_probes = probes, busy
            return result

    def _used_or_evict(
        self, reply: ConnTuple, ct: Entry, table: ConntrackTable, now_s: float, result: NatResult
    ) -> bool:
        """``nf_nat_used_tuple_harder`` (A3+, spec §5.3): a TCP SYN may evict a closing SNAT entry.

        ``reply`` is the candidate's reply tuple. Does not count ``found`` (spec §16.3).
        """
        if reply.proto != TCP or ct.state != _SYN_SENT:
            return table.tuple_taken(reply, ct, now_s)
        old = table.find(reply, now_s)
        if old is None or old is ct:
            return False
        if old.orig == reply:
            return True  # the match is that entry's original direction
        if (
            old.state >= _TIME_WAIT
            and not old.fixed_timeout
            and not old.dying
            and old.snat
        ):
            if seq_after(ct.seq_end, old.seq_end):
                table.destroy(old)
                result.add_evicted(old)
                self.evicted += 1
                return False
            result.evict_refused += 1
        return True
