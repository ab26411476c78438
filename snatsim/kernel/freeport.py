"""Jumping over busy ports in the A1 rover walk, with the faithful walk's results (spec §4.4, §5.1).

The A1 search probes up to the whole window, one port at a time, and counts ``found`` for every busy
probe. On an exhausted window that is 64,511 probes per SYN, and the kernel really does walk them.
:func:`skip_busy` gives the same answer without probing every busy port, at a cost that does not
grow with the window (two C-level byte scans and a heap of due expiries):

* a :class:`PortIndex`, kept by the table beside its hash for each reply-tuple prefix (proto, dst
  ip, dst port, NAT ip) a search has asked about, marks the ports whose holder is confirmed and
  was live when last looked at (``skip``); ``bytearray.find`` jumps to the next port that is not;
* a holder's expiry is the only way a marked port can become free without the table hearing of
  it, so every marked holder has a record in the index's ``due`` heap no later than its expiry.
  Before a jump the records due by now are read: an expired holder's port is unmarked, a holder
  whose timeout was extended is filed again. A probe of an unmarked port is a faithful used-check,
  so an expired holder is collected exactly where the one-by-one walk would collect it;
* ``ct``'s own tuples are probed as well (a probe of ``ct`` is never busy);
* every port jumped over was held by a live entry other than ``ct``: ``found`` grows by their
  number, as in the walk. The 5.0+ same-flow exception (spec §5.2) is not in A1; with
  ``same_origin_free`` the caller walks faithfully.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import TYPE_CHECKING

from snatsim.kernel.tuples import PORTS

if TYPE_CHECKING:
    from snatsim.kernel.conntrack import ConntrackTable, Entry

Prefix = tuple[int, str, int, str]  # a hash key without its last field (the port)
Key = tuple[int, str, int, str, int]


class PortIndex:
    """What the fast A1 search knows about the ports of one hash-key prefix.

    ``skip[port]`` is 1 while the key ``prefix + (port,)`` is held by a confirmed entry that was
    live when the index last looked. ``due`` is a heap of ``(expires_s, port)``: every marked
    port's holder has a record at or before its expiry (stale records are skipped when read).
    """

    __slots__ = ("due", "skip")

    def __init__(self) -> None:
        self.skip = bytearray(65536)
        self.due: list[tuple[float, int]] = []

    def held(self, port: int, expires_s: float) -> None:
        """A confirmed entry now holds ``port`` (or its expiry moved earlier)."""
        self.skip[port] = 1
        heapq.heappush(self.due, (expires_s, port))

    def refresh(self, prefix: Prefix, lookup: Callable[[Key], Entry | None], now_s: float) -> None:
        """Unmark every port whose holder has expired by ``now_s`` (``lookup`` is the raw hash)."""
        due = self.due
        skip = self.skip
        proto, ip1, port1, ip2 = prefix
        while due and due[0][0] <= now_s:
            _, port = heapq.heappop(due)
            e = lookup((proto, ip1, port1, ip2, port))
            if e is None:
                continue  # freed: the table unmarked it
            if e.expires_s <= now_s:
                skip[port] = 0  # expired, not yet collected: the walk must probe it
            else:
                heapq.heappush(due, (e.expires_s, port))  # the timeout was extended


def skip_busy(
    table: ConntrackTable,
    key: Prefix,
    lo: int,
    size: int,
    off: int,
    remaining: int,
    ct: Entry,
    now_s: float,
) -> tuple[int, int, int, bool]:
    """Walk ``remaining`` checked probes from offset ``off`` of window ``(lo, size)``.

    ``key`` is the reply tuple without its last field (proto, dst ip, dst port, NAT ip). Returns
    ``(off, probes, busy, free)``: the offset reached (that of the free port when ``free``), the
    probes made and how many were busy, as the one-by-one walk would report them.
    """
    index = table.port_index(key)
    holder, taken = table.raw_lookup, table.entry_taken
    index.refresh(key, holder, now_s)
    skip = index.skip
    own = [t[4] for t in (ct.reply, ct.orig) if t[:4] == key]  # probed: never busy for ct
    stats = table.stats
    proto, dst_ip, dst_port, src_ip = key
    probes = busy = 0
    while remaining > 0:
        i = off % size
        n = min(remaining, 65536 - off, size - i)  # a stretch where neither off nor port wraps
        p0 = lo + i
        p1 = p0 + n
        stop = skip.find(0, p0, p1)
        if stop < 0:
            stop = p1
        for port in own:
            if p0 <= port < stop:
                stop = port
        jumped = stop - p0  # held by live entries: each one a busy probe that counts found
        stats.found += jumped
        probes += jumped
        busy += jumped
        remaining -= jumped
        off = (off + jumped) & 0xFFFF
        if stop == p1:
            continue
        probes += 1
        remaining -= 1
        e = holder((proto, dst_ip, dst_port, src_ip, PORTS[stop]))
        if e is None or not taken(e, ct, now_s):
            return off, probes, busy, True
        busy += 1
        index.held(stop, e.expires_s)  # live after all (its timeout was extended): mark it again
        off = (off + 1) & 0xFFFF
    return off, probes, busy, False
