"""The conntrack table as NAT and confirm see it (spec §3.2, §5, §7, §10).

* An :class:`Entry` is created *unconfirmed* by conntrack "in"; NAT rewrites its reply tuple; confirm
  inserts it into the hash in both directions. Only confirmed entries are visible to lookups.
* :class:`ConntrackTable` is that hash (one dict keyed by tuple, both directions of every entry),
  the NAT by-source index, the ``conntrack -S`` counters and the timeouts.

Expiry is lazy, as in the kernel: an expired entry stays in the hash until a lookup trips over it
(and garbage-collects it on the spot, spec §5.1) or :meth:`ConntrackTable.gc` runs (the GC worker).

Approximations (documented in docs too):

* Hash buckets and chains are not modelled, so ``chaintoolong`` (C4) never moves: with 262,144
  buckets and a per-boot hash seed, chains of 50+ need an attack, not a workload.
* Early drop (spec §10) scans 8 buckets from the new flow's bucket in the kernel; here it evicts the
  oldest confirmed, non-ASSURED, non-dying entry anywhere in the table.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, fields
from enum import IntEnum
from math import ceil as _ceil

from snatsim.kernel.freeport import PortIndex, Prefix
from snatsim.kernel.timeouts import TcpTimeouts, UdpTimeouts
from snatsim.kernel.tuples import ConnTuple, Proto, conn_tuple

TCP = int(Proto.TCP)
UDP = int(Proto.UDP)


class TcpState(IntEnum):
    """Conntrack TCP states in kernel order (``enum tcp_conntrack``)."""

    NONE = 0
    SYN_SENT = 1
    SYN_RECV = 2
    ESTABLISHED = 3
    FIN_WAIT = 4
    CLOSE_WAIT = 5
    LAST_ACK = 6
    TIME_WAIT = 7
    CLOSE = 8


# ct->status bits (the kernel's IPS_* flags, reduced); hot paths test them directly
CONFIRMED, ASSURED, NAT_DONE, SRC_NAT, NAT_CLASH, FIXED_TIMEOUT, DYING = 1, 2, 4, 8, 16, 32, 64
# members as plain module constants: ``TcpState.X`` costs a Python-level lookup on 3.11 (0.37 us
# against 0.04 us for a module constant, timeit; removing the copies would cost the hot path)
_SYN_SENT = TcpState.SYN_SENT
_TIME_WAIT = TcpState.TIME_WAIT
_NONE = TcpState.NONE


def _status_bit(bit: int, doc: str) -> property:
    """A boolean view of one bit of ``Entry.status`` (like the kernel's ``ct->status``)."""

    def get(self: Entry) -> bool:
        return bool(self.status & bit)

    def set_(self: Entry, value: bool) -> None:
        self.status = self.status | bit if value else self.status & ~bit

    return property(get, set_, doc=doc)


class Entry:
    """One conntrack entry (``struct nf_conn``), reduced to what NAT and confirm look at.

    ``seq_end`` is the highest original-direction sequence end seen (u32), used by the 6.5+ eviction
    test (spec §5.3). The boolean flags share one status word, as in the kernel, which keeps an
    entry small.
    """

    __slots__ = ("expires_s", "gc_at", "orig", "reply", "seq_end", "state", "status")

    confirmed = _status_bit(CONFIRMED, "in the hash: visible to lookups (IPS_CONFIRMED)")
    assured = _status_bit(ASSURED, "seen both ways, past the handshake (IPS_ASSURED)")
    nat_done = _status_bit(NAT_DONE, "a NAT binding, possibly null, was set up (IPS_NAT_DONE_MASK)")
    snat = _status_bit(SRC_NAT, "the source was rewritten (IPS_SRC_NAT)")
    nat_clash = _status_bit(NAT_CLASH, "reply-only clash entry (IPS_NAT_CLASH), spec §6.2")
    fixed_timeout = _status_bit(FIXED_TIMEOUT, "timeout never refreshed (IPS_FIXED_TIMEOUT)")
    dying = _status_bit(DYING, "killed or being destroyed (IPS_DYING)")

    def __init__(self, orig: ConnTuple, seq_end: int = 0) -> None:
        self.orig = orig
        self.reply = conn_tuple((orig[0], orig[3], orig[4], orig[1], orig[2]))
        self.state = _SYN_SENT if orig[0] == TCP else _NONE
        self.expires_s = 0.0
        self.gc_at = -1  # the GC wheel slot holding this entry's earliest record (see gc)
        self.status = 0
        self.seq_end = seq_end & 0xFFFFFFFF

    @property
    def nat_tuple(self) -> ConnTuple:
        """The original tuple as it leaves the node (source rewritten by SNAT)."""
        return self.reply.inverted()

    def __repr__(self) -> str:
        flags = "C" if self.confirmed else "u"
        return f"<Entry {self.orig} nat={self.nat_tuple.src_port} {self.state.name} {flags}>"


@dataclass
class ConntrackStats:
    """The ``conntrack -S`` counters (summed over CPUs), spec §7."""

    found: int = 0
    insert: int = 0
    insert_failed: int = 0
    drop: int = 0
    early_drop: int = 0
    clash_resolve: int = 0
    chaintoolong: int = 0
    search_restart: int = 0

    def as_dict(self) -> dict[str, int]:
        """Counters by name, in ``conntrack -S`` order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def seq_after(a: int, b: int) -> bool:
    """``after(a, b)`` for u32 TCP sequence numbers: a is ahead of b (signed 32-bit difference)."""
    d = (a - b) & 0xFFFFFFFF
    return 0 < d < 0x80000000


class ConntrackTable:
    """Confirmed conntrack entries, the NAT by-source index and the counters (spec §5, §7, §10).

    Parameters
    ----------
    max_entries:
        ``nf_conntrack_max``.
    tcp_timeouts, udp_timeouts:
        Per-state timeouts (spec §10); override any field to model sysctl changes.
    same_origin_free:
        5.0+ same-flow exception of the used-check (spec §5.2).
    """

    def __init__(
        self,
        *,
        max_entries: int = 262_144,
        tcp_timeouts: TcpTimeouts | None = None,
        udp_timeouts: UdpTimeouts | None = None,
        same_origin_free: bool = True,
    ) -> None:
        self.max_entries = max_entries
        self.tcp_timeouts = tcp_timeouts or TcpTimeouts()
        self.udp_timeouts = udp_timeouts or UdpTimeouts()
        self.same_origin_free = same_origin_free
        self.stats = ConntrackStats()
        # keyed by ConnTuple; a plain 5-tuple of the same values finds the same entry
        self._hash: dict[tuple[int, str, int, str, int], Entry] = {}
        # the raw hash lookup (no expiry or confirm checks): a None answer means "free" for sure
        self.raw_lookup = self._hash.get
        # by-source index: (proto, source ip, source port) -> entry (or entries, oldest first)
        self._bysource: dict[tuple[int, str, int], Entry | list[Entry]] = {}
        self._unassured: dict[Entry, None] = {}  # insertion-ordered, for early drop
        self._wheel: dict[int, list[Entry]] = {}  # GC timer wheel: expiry second -> entries
        self._wheel_slots: list[int] = []  # heap of the wheel's occupied seconds
        self.count = 0  # confirmed entries in the hash (live or expired-not-yet-collected)
        # live confirmed entries per (proto, nat ip, dst ip, dst port): a destination's port usage
        self._per_destination: dict[tuple[int, str, str, int], int] = {}
        # port indexes for the A1 fast search (snatsim.kernel.freeport), by hash-key prefix
        # (proto, ip, port, ip): none until a search asks for one, then kept by insert,
        # set_state and destroy
        self.port_indexes: dict[Prefix, PortIndex] = {}
        tcp = self.tcp_timeouts
        self._tcp_timeout = {
            TcpState.NONE: tcp.syn_sent_s,
            TcpState.SYN_SENT: tcp.syn_sent_s,
            TcpState.SYN_RECV: tcp.syn_recv_s,
            TcpState.ESTABLISHED: tcp.established_s,
            TcpState.FIN_WAIT: tcp.fin_wait_s,
            TcpState.CLOSE_WAIT: tcp.close_wait_s,
            TcpState.LAST_ACK: tcp.last_ack_s,
            TcpState.TIME_WAIT: tcp.time_wait_s,
            TcpState.CLOSE: tcp.close_s,
        }

    # ------------------------------------------------------------------ lookups
    def __len__(self) -> int:
        return self.count

    def find(self, t: ConnTuple, now_s: float) -> Entry | None:
        """The confirmed, unexpired entry holding tuple ``t`` in either direction (GCs expired)."""
        e = self._hash.get(t)
        if e is not None and e.expires_s <= now_s and not e.status & DYING:
            self.destroy(e)
            return None
        return e

    def lookup_new_packet(self, t: ConnTuple, now_s: float) -> Entry | None:
        """Conntrack "in" for a packet opening a flow: the entry it belongs to, if any (spec §3.2).

        A TCP SYN that hits an entry in TIME_WAIT or CLOSE re-opens the connection: the kernel's
        TCP tracker kills the old entry and the packet starts a fresh one (``nf_conntrack_proto_tcp``
        "reopen"; not in the spec, read from the tracker's state table [I]). Then None is returned.
        """
        e = self.find(t, now_s)
        if e is not None and t[0] == TCP and e.state >= _TIME_WAIT:
            self.destroy(e)
            return None
        return e

    def tuple_taken(self, t: ConnTuple, ignored: Entry | None, now_s: float) -> bool:
        """``nf_conntrack_tuple_taken``: is ``t`` held by another confirmed entry? (spec §5.1, §5.2).

        Counts ``found`` once per busy answer.
        """
        e = self._hash.get(t)
        return e is not None and self.entry_taken(e, ignored, now_s)

    def entry_taken(self, e: Entry, ignored: Entry | None, now_s: float) -> bool:
        """:meth:`tuple_taken` for the entry a hash probe already found (no second lookup)."""
        if e is ignored:
            return False
        if e.expires_s <= now_s:
            self.destroy(e)
            return False
        if self.same_origin_free and ignored is not None and e.orig == ignored.orig:
            return False
        self.stats.found += 1
        return True

    def used(self, cand: ConnTuple, ct: Entry, now_s: float) -> bool:
        """``nf_nat_used_tuple``: would the reply to ``cand`` hit a confirmed entry? (spec §5.1)."""
        return self.tuple_taken(cand.inverted(), ct, now_s)

    def used_new(self, cand: ConnTuple, ct: Entry, now_s: float) -> bool:
        """``nf_nat_used_tuple_new`` for the preservation check on the original tuple (spec §5.4).

        For TCP identical to :meth:`used`. For protocols that allow clashes (UDP) a collision with a
        non-NAT entry that is the exact reverse of ours does not count (it will merge at confirm).
        """
        if cand.proto == TCP:
            return self.used(cand, ct, now_s)
        reply = cand.inverted()
        e = self.find(reply, now_s)
        if e is not None and e is not ct and not e.snat and e.orig == reply and e.reply == cand:
            return False  # exact reverse of a non-NAT entry: confirm will merge it (C5)
        return self.tuple_taken(reply, ct, now_s)

    def bysource(self, proto: int, src_ip: str, src_port: int) -> list[Entry]:
        """Entries NATed from the same source (``find_appropriate_src``), newest first."""
        found = self._bysource.get((proto, src_ip, src_port))
        if found is None:
            return []
        return found[::-1] if isinstance(found, list) else [found]

    def has_bysource(self, orig: ConnTuple) -> bool:
        """Is any entry indexed under ``orig``'s source? (a cheap test before :meth:`bysource`)."""
        return orig[:3] in self._bysource

    def add_bysource(self, e: Entry) -> None:
        """Index ``e`` by its original source; done at NAT setup, before confirm (spec §3.2 step 2)."""
        key = e.orig[:3]
        found = self._bysource.get(key)
        if found is None:
            self._bysource[key] = e
        elif isinstance(found, list):
            found.append(e)
        else:
            self._bysource[key] = [found, e]

    def timeout_for(self, e: Entry) -> float:
        """Timeout for the entry's current state (spec §10)."""
        if e.status & NAT_CLASH:
            return self.udp_timeouts.nat_clash_s
        if e.orig[0] == TCP:
            return self._tcp_timeout[e.state]
        return self.udp_timeouts.stream_s if e.status & ASSURED else self.udp_timeouts.unreplied_s

    def insert(self, e: Entry, now_s: float, *, reply_only: bool = False) -> None:
        """Hash ``e`` (both directions, or the reply only) and start its timeout."""
        status = e.status = e.status | CONFIRMED
        e.expires_s = now_s + (
            self._tcp_timeout[e.state] if e.orig[0] == TCP and not status & NAT_CLASH
            else self.timeout_for(e)
        )
        h = self._hash
        r = e.reply
        if not reply_only:
            h[e.orig] = e
        h[r] = e
        if self.port_indexes:
            self._index_held(r, e.expires_s)
            if not reply_only:
                self._index_held(e.orig, e.expires_s)
        self.count += 1
        key = (r[0], r[3], r[1], r[2])  # (proto, nat ip, dst ip, dst port)
        per = self._per_destination
        per[key] = per.get(key, 0) + 1
        if not status & ASSURED:
            self._unassured[e] = None
        self._push_expiry(e)

    def set_state(
        self, e: Entry, state: TcpState, now_s: float, *, assured: bool | None = None
    ) -> None:
        """Move ``e`` to a new TCP state (or refresh a UDP entry) and restart its timeout."""
        e.state = state
        status = e.status
        if assured is not None and assured != bool(status & ASSURED):
            if assured:
                e.status = status = status | ASSURED
                self._unassured.pop(e, None)
            else:
                e.status = status = status & ~ASSURED
        if not status & FIXED_TIMEOUT:
            before_s = e.expires_s
            e.expires_s = expires = now_s + (
                self._tcp_timeout[state] if e.orig[0] == TCP and not status & NAT_CLASH
                else self.timeout_for(e)
            )
            if status & CONFIRMED:
                # a later expiry is picked up when the old record is due (GC wheel, port index)
                if _ceil(expires) < e.gc_at:
                    self._push_expiry(e)
                if self.port_indexes and expires < before_s:
                    for key in (e.reply, e.orig):
                        if self._hash.get(key) is e:
                            self._index_held(key, expires)

    def destroy(self, e: Entry) -> None:
        """Remove ``e`` from the hash and the by-source index (``nf_ct_kill`` + cleanup)."""
        h = self._hash
        r = e.reply
        held = h.pop(r, None) if e.status & CONFIRMED else None
        if held is not None and held is not e:
            h[r] = held  # the slot belongs to another entry (e was already removed): put it back
        elif held is not None:
            indexes = self.port_indexes
            if indexes:
                self._index_freed(r)
            held = h.pop(e.orig, None)
            if held is not None and held is not e:
                h[e.orig] = held  # reply-only entry, or the orig slot is another entry's
            elif held is not None and indexes:
                self._index_freed(e.orig)
            self.count -= 1
            key = (r[0], r[3], r[1], r[2])
            per = self._per_destination
            left = per[key] - 1
            if left:
                per[key] = left
            else:
                del per[key]
            if not e.status & ASSURED:
                self._unassured.pop(e, None)
        e.status |= DYING
        key3 = e.orig[:3]
        bysource = self._bysource
        found = bysource.pop(key3, None)
        if found is None or found is e:
            return
        if isinstance(found, list) and e in found:
            found.remove(e)
        bysource[key3] = found[0] if isinstance(found, list) and len(found) == 1 else found

    def early_drop(self) -> bool:
        """Evict one non-ASSURED confirmed entry to make room (spec §10; approximation, see module)."""
        for e in self._unassured:
            if not e.status & DYING:
                self.destroy(e)
                self.stats.early_drop += 1
                return True
        return False

    def admit_new(self) -> bool:
        """Conntrack "in" allocation check: make room when the table is full (spec §10).

        Returns False when the table is full and nothing can be early-dropped; the caller then drops
        the packet ("table full, dropping packet"), and ``drop`` is counted here.
        """
        if self.count < self.max_entries or self.early_drop():
            return True
        self.stats.drop += 1
        return False

    def gc(self, now_s: float) -> int:
        """Collect every entry expired by ``now_s`` (the GC worker); return how many went.

        Entries wait in a timer wheel of one-second slots: slot *k* holds entries expiring in
        (k-1, k], so a GC at a whole second finds every entry of its slots expired and visits each
        once. Each confirmed entry has a record in the slot of its expiry or an earlier one
        (``gc_at``); a record met in a slot that is no longer the entry's is stale and skipped, one
        whose entry's timeout was extended moves on.
        """
        wheel = self._wheel
        slots = self._wheel_slots
        last = _ceil(now_s)
        removed = 0
        while slots and slots[0] <= last:
            slot = heapq.heappop(slots)
            kept: list[Entry] = []
            for e in wheel.pop(slot):
                if e.status & (CONFIRMED | DYING) != CONFIRMED or e.gc_at != slot:
                    continue  # dead entry, or a stale record
                if e.expires_s <= now_s:
                    self.destroy(e)
                    removed += 1
                elif _ceil(e.expires_s) == slot:
                    kept.append(e)  # a GC between whole seconds: expires later in this slot
                else:
                    self._push_expiry(e)
            if kept:
                wheel[slot] = kept
                heapq.heappush(slots, slot)
                break  # only the current second can keep entries
        return removed

    # ------------------------------------------------------------------ occupancy
    def ports_in_use(self, proto: int, nat_ip: str, dst_ip: str, dst_port: int) -> int:
        """Confirmed entries using ``nat_ip`` towards ``dst_ip:dst_port`` (incl. uncollected expired)."""
        return self._per_destination.get((proto, nat_ip, dst_ip, dst_port), 0)

    def destinations(self) -> dict[tuple[int, str, str, int], int]:
        """Port usage per (proto, nat ip, dst ip, dst port)."""
        return dict(self._per_destination)

    def entries(self) -> list[Entry]:
        """All confirmed entries (each once)."""
        seen: dict[int, Entry] = {}
        for e in self._hash.values():
            seen[id(e)] = e
        return list(seen.values())

    def port_index(self, prefix: Prefix) -> PortIndex:
        """The port index of ``prefix`` (built from the hash on first use, then kept)."""
        index = self.port_indexes.get(prefix)
        if index is None:
            index = self.port_indexes[prefix] = PortIndex()
            for key, e in self._hash.items():
                if key[:4] == prefix:
                    index.held(key[4], e.expires_s)
        return index

    def _index_held(self, key: tuple[int, str, int, str, int], expires_s: float) -> None:
        """Tell ``key``'s port index (if its prefix has one) that ``key`` is held."""
        index = self.port_indexes.get(key[:4])
        if index is not None:
            index.held(key[4], expires_s)

    def _index_freed(self, key: tuple[int, str, int, str, int]) -> None:
        """Tell ``key``'s port index (if its prefix has one) that ``key`` left the hash."""
        index = self.port_indexes.get(key[:4])
        if index is not None:
            index.skip[key[4]] = 0

    def __contains__(self, t: object) -> bool:
        return t in self._hash

    def _push_expiry(self, e: Entry) -> None:
        """File ``e`` in the GC wheel slot of its expiry (the next whole second, see gc)."""
        slot = _ceil(e.expires_s)
        e.gc_at = slot
        records = self._wheel.get(slot)
        if records is None:
            self._wheel[slot] = [e]
            heapq.heappush(self._wheel_slots, slot)
        else:
            records.append(e)
