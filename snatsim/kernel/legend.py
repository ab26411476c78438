"""What each era code means, in one line: the one place for ``snatsim kernels`` and docs/kernel.md §2.6.

Each behaviour family (spec §2.1–§2.4) has a code per era (``A3``, ``C5``, ``P4``, ``T2``); a
kernel version resolves to one code per family (spec §2.5). ``tests/test_kernel_legend.py`` checks
that every era of :mod:`snatsim.kernel.eras` has a line here and that docs/kernel.md §2.6 shows
exactly :func:`legend_markdown` (print it with ``python -m snatsim.kernel.legend``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

from snatsim.kernel.eras import ClientEra, ConfirmEra, NatEra, SynEra, _Era

__all__ = ["FAMILIES", "EraFamily", "legend", "legend_markdown", "meaning"]


@dataclass(frozen=True)
class EraFamily:
    """One behaviour family: its profile key, title, section of docs/kernel.md and era meanings."""

    key: str
    title: str
    section: str
    eras: type[_Era]
    meanings: Mapping[str, str]


FAMILIES: tuple[EraFamily, ...] = (
    EraFamily("nat_era", "NAT source-port allocator", "§2.1", NatEra, {
        "A1": "≤ 4.20: one global rover per protocol, shared by all CPUs; the search walks the "
        "whole window one port at a time",
        "A2": "5.0–6.4: a random start whatever the flags; rounds of 128, 64, 32, 16, 8 probes "
        "(at most 248), then gives up on a busy port",
        "A3": "6.5+: as A2, and a TCP SYN may evict a TIME_WAIT/CLOSE entry while ≤ 32 probes "
        "are left in a round",
        "A4": "6.12+: as A3; the keep-the-port check ignores an exact-reverse UDP entry (TCP "
        "unchanged)",
    }),
    EraFamily("confirm_era", "Confirm and clash resolution", "§2.2", ConfirmEra, {
        "C0": "≤ 4.7: every clash drops the packet; only insert_failed counts it",
        "C1": "4.8–4.18: a UDP clash merges only if the winner has no NAT (never on a NAT node)",
        "C2": "4.19–5.5: UDP entries identical in both directions merge; other clashes drop",
        "C3": "5.6+: a UDP loser whose reply tuple is unique is kept reply-only for 1 s "
        "(clash_resolve); TCP still drops",
        "C4": "5.15+: as C3, plus a hash-chain length limit at confirm (chaintoolong)",
        "C5": "6.12+: as C4, and exact-reverse UDP entries merge too",
    }),
    EraFamily("client_era", "Pod connect() ephemeral port", "§2.3", ClientEra, {
        "P0": "≤ 4.1: range 32768–61000, scanned from a shared hint plus a hash",
        "P1": "4.2–5.11: range 32768–60999, even ports first in steps of 2, one global hint",
        "P2": "5.12–5.17: as P1 with a 256-entry perturbation table",
        "P3": "5.18+: a 65,536-entry perturbation table; the hash secret changes every 10 s",
        "P4": "6.3+: as P3; a socket may set its own range (IP_LOCAL_PORT_RANGE)",
    }),
    EraFamily("syn_era", "TCP SYN retransmission", "§2.4", SynEra, {
        "T0": "< 3.1: first timeout 3 s, 5 retries: SYNs at 0, 3, 9, 21, 45, 93 s",
        "T0'": "3.1–3.6: first timeout 1 s, 5 retries: SYNs at 0, 1, 3, 7, 15, 31 s",
        "T1": "3.7–6.4: 1 s, 6 retries, doubling: one lost SYN costs 1 s, two 3 s; gives up "
        "at 127 s",
        "T2": "6.5+: 1 s, 4 linear retries then doubling: lost SYNs cost 1, 2, 3 s; gives up "
        "at 131 s",
    }),
)


def meaning(family: str, code: str) -> str:
    """The one-line meaning of era ``code`` of ``family`` (a profile key such as ``"nat_era"``)."""
    for fam in FAMILIES:
        if fam.key == family:
            return fam.meanings[code]
    raise KeyError(family)


def legend() -> dict[str, dict[str, str]]:
    """Profile key -> era code -> meaning (the ``legend`` of ``snatsim kernels --json``)."""
    return {fam.key: dict(fam.meanings) for fam in FAMILIES}


def legend_markdown() -> str:
    """The legend as the Markdown of docs/kernel.md §2.6 (one table per family)."""
    out: list[str] = []
    for fam in FAMILIES:
        out += [f"**{fam.title}** (`kernel.{fam.key}`, {fam.section})", "",
                "| code | kernels and meaning |", "|---|---|"]
        out += [f"| {code} | {text} |" for code, text in fam.meanings.items()]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(legend_markdown())
