"""Conntrack confirm: clash detection and resolution, era by era (spec §6, §7).

Confirm runs at the end of POSTROUTING for the packet that created the entry. With both bucket
locks held it looks for a confirmed entry holding the original tuple, then the reply tuple. The
first found is the *winner*; what happens to the loser depends on protocol and era (spec §2.2).
"""

from __future__ import annotations

from enum import StrEnum

from snatsim.kernel.conntrack import DYING, TCP, ConntrackTable, Entry
from snatsim.kernel.eras import ConfirmEra


class ConfirmOutcome(StrEnum):
    """What confirm did with the packet's entry."""

    INSERTED = "inserted"  # no clash: hashed in both directions, timeout started
    MERGED = "merged"  # UDP clash resolved by attaching the packet to the winner
    NAT_CLASH = "nat-clash"  # UDP loser inserted reply-only, 1 s fixed timeout (C3+)
    DROPPED = "dropped"  # clash not resolved (TCP always): insert_failed, drop, packet freed

    @property
    def accepted(self) -> bool:
        """Did the packet go on (everything but a drop)?"""
        return self is not ConfirmOutcome.DROPPED


# members as plain module constants: ``ConfirmEra.X`` costs a Python-level lookup on 3.11
_C0, _C1, _C2, _C3, _C5 = ConfirmEra.C0, ConfirmEra.C1, ConfirmEra.C2, ConfirmEra.C3, ConfirmEra.C5
_INSERTED, _MERGED, _NAT_CLASH, _DROPPED = (
    ConfirmOutcome.INSERTED, ConfirmOutcome.MERGED, ConfirmOutcome.NAT_CLASH, ConfirmOutcome.DROPPED
)


def _identical(a: Entry, b: Entry) -> bool:
    return a.orig == b.orig and a.reply == b.reply


def _exact_reverse(a: Entry, b: Entry) -> bool:
    return a.orig == b.reply and a.reply == b.orig


def confirm(table: ConntrackTable, ct: Entry, now_s: float, era: ConfirmEra) -> ConfirmOutcome:
    """``__nf_conntrack_confirm`` + ``nf_ct_resolve_clash`` (spec §6.2, counters per spec §7).

    * No clash: insert (``insert``+1 only in C0, the 3.x era).
    * TCP (no ``allow_clash``) or C0: drop. ``insert_failed``+1; ``drop``+1 from C1 on.
    * UDP, C1+: merge when the winner has no NAT binding; C2+: also when identical both ways;
      C5: also an exact reverse. C1/C2 count every clash as ``insert_failed`` (resolved or not);
      C3+ count ``clash_resolve`` instead for resolved clashes.
    * UDP, C3+: if the reply tuple is unique (so the clash was on the original tuple), insert the
      loser reply-only with the NAT_CLASH flag and a fixed 1 s timeout.

    A merged or dropped entry is destroyed (it leaves the by-source index). Expired entries met on
    the way are collected (approximation: the kernel's confirm walk does not test expiry, but the NAT
    used-check on the same tuple has already collected them).
    """
    stats = table.stats
    if ct.status & DYING:
        return _drop(table, ct, era)
    raw = table.raw_lookup
    winner = None
    if raw(ct.orig) is not None or raw(ct.reply) is not None:  # else nothing can clash: skip finds
        winner = table.find(ct.orig, now_s)
        if winner is None:
            winner = table.find(ct.reply, now_s)
    if winner is None:
        table.insert(ct, now_s)
        if era == _C0:
            stats.insert += 1
        return _INSERTED

    if ct.orig.proto == TCP or era == _C0:
        return _drop(table, ct, era)
    if (
        not winner.nat_done
        or (era >= _C2 and _identical(winner, ct))
        or (era >= _C5 and _exact_reverse(winner, ct))
    ):
        table.destroy(ct)  # the loser is discarded; the packet rides on the winner
        outcome = _MERGED
    elif era >= _C3 and table.find(ct.reply, now_s) is None:  # so the clash was on orig
        ct.nat_clash = True
        ct.fixed_timeout = True
        table.insert(ct, now_s, reply_only=True)
        outcome = _NAT_CLASH
    else:
        return _drop(table, ct, era)
    if era <= _C2:
        stats.insert_failed += 1  # C1/C2 count every clash, resolved or not
    else:
        stats.clash_resolve += 1
    return outcome


def _drop(table: ConntrackTable, ct: Entry, era: ConfirmEra) -> ConfirmOutcome:
    """Unresolved clash: ``insert_failed``+1, ``drop``+1 from C1 on (spec §7); entry destroyed."""
    table.stats.insert_failed += 1
    if era >= _C1:
        table.stats.drop += 1
    table.destroy(ct)
    return _DROPPED
