"""Jumping over busy ports in the A1 rover walk, with the faithful walk's results (spec §4.4, §5.1).

The A1 search probes up to the whole window, one port at a time, and counts ``found`` for every busy
probe. On a full window that is 64,511 probes per SYN. :func:`skip_busy` gives the same answer
without probing every busy port:

* the table's held-port index (:meth:`ConntrackTable.held_index`) says which reply tuples of the
  candidate's (proto, dst ip, dst port, NAT ip) are in the hash; ``bytearray.find`` jumps to the
  next one that is not;
* a port held by an entry is busy unless that entry is ``ct`` itself or has expired (the 5.0+
  same-flow exception is not in A1; with ``same_origin_free`` the caller walks faithfully). Expired
  holders are listed by :meth:`ConntrackTable.expiry_suspects`; those ports, ``ct``'s own and the
  first port missing from the hash are probed with the table's own used-check, so any collection of
  an expired entry happens exactly as in the walk;
* every port jumped over was held and taken: ``found`` grows by their number.
"""

from __future__ import annotations

from bisect import bisect_left

from snatsim.kernel.conntrack import ConntrackTable, Entry
from snatsim.kernel.tuples import PORTS


def skip_busy(
    table: ConntrackTable,
    key: tuple[int, str, int, str],
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
    held = table.held_index(key)
    suspects = table.expiry_suspects(key, now_s)
    for own in (ct.reply, ct.orig):
        if own[:4] == key:
            suspects.append(own[4])
    suspects.sort()
    holder, taken = table.raw_lookup, table.entry_taken
    stats = table.stats
    proto, dst_ip, dst_port, src_ip = key
    probes = busy = 0
    while remaining > 0:
        i = off % size
        n = min(remaining, 65536 - off, size - i)  # a stretch where neither off nor port wraps
        p0 = lo + i
        p1 = p0 + n
        stop = held.find(0, p0, p1)
        if stop < 0:
            stop = p1
        k = bisect_left(suspects, p0)
        if k < len(suspects) and suspects[k] < stop:
            stop = suspects[k]
        jumped = stop - p0  # held and taken: each one a busy probe that counts found
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
        off = (off + 1) & 0xFFFF
    return off, probes, busy, False
