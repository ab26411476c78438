"""Era names of the kernel-behaviour tables (spec §2).

Each family is ordered: a later era includes the behaviour of the earlier ones unless the spec says
otherwise, so code compares eras with ``>=`` (e.g. ``confirm_era >= ConfirmEra.C3``).
"""

from __future__ import annotations

from enum import IntEnum


class _Era(IntEnum):
    """An ordered era; ``str()`` gives the spec's name ("A1", "T0'")."""

    def __str__(self) -> str:
        return self.name.replace("p", "'")

    @classmethod
    def parse(cls, name: str) -> _Era:
        """Parse a spec name such as ``"A3"`` or ``"T0'"`` (case-insensitive)."""
        wanted = name.strip().upper() if isinstance(name, str) else ""
        for member in cls:
            if str(member).upper() == wanted:
                return member
        valid = ", ".join(str(m) for m in cls)
        raise ValueError(f"unknown {cls.__name__} {name!r}; expected one of {valid}")


class NatEra(_Era):
    """NAT source-port allocator, spec §2.1."""

    A1 = 1  # <= 4.20: global per-protocol rover, whole-window search
    A2 = 2  # 5.0-6.4: PRNG offset, rounds 128/64/32/16/8 (<= 248 probes)
    A3 = 3  # 6.5+: + TIME_WAIT/CLOSE eviction for TCP SYN_SENT with <= 32 probes left
    A4 = 4  # 6.12+: + used_tuple_new for the preservation check (UDP only)


class ConfirmEra(_Era):
    """Conntrack confirm and clash resolution, spec §2.2."""

    C0 = 0  # <= 4.7: every clash drops; insert_failed only
    C1 = 1  # 4.8-4.18: UDP adopts a winner with no NAT bits (never on a NAT box)
    C2 = 2  # 4.19-5.5: UDP merges entries identical in both directions
    C3 = 3  # 5.6+: UDP loser inserted reply-only (NAT_CLASH, 1 s); clash_resolve counter
    C4 = 4  # 5.15+: chain-length limit at confirm (chaintoolong)
    C5 = 5  # 6.12+: exact-reverse entries are mergeable


class ClientEra(_Era):
    """Pod-side ephemeral port choice on connect(), spec §2.3."""

    P0 = 0  # <= 4.1: range 32768-61000, shared hint + hash
    P1 = 1  # 4.2-5.11: 32768-60999, even ports first (step 2), global hint
    P2 = 2  # 5.12-5.17: 256-entry perturbation table
    P3 = 3  # 5.18+: 65,536-entry table, siphash halves, 10 s re-salt
    P4 = 4  # 6.3+: per-socket IP_LOCAL_PORT_RANGE (otherwise as P3)


class SynEra(_Era):
    """TCP SYN retransmission schedule, spec §2.4."""

    T0 = 0  # < 3.1: initial RTO 3 s, 5 retries
    T0p = 1  # 3.1-3.6: initial RTO 1 s, 5 retries  (printed "T0'")
    T1 = 2  # 3.7-6.4: 1 s, 6 retries, exponential
    T2 = 3  # 6.5+: 1 s, 6 retries + tcp_syn_linear_timeouts=4 linear backoffs
