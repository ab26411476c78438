"""Era names of the kernel-behaviour tables (spec §2).

Each family is ordered: a later era includes the behaviour of the earlier ones unless the spec says
otherwise, so code compares eras with ``>=`` (e.g. ``confirm_era >= ConfirmEra.C3``). What each
code means, and in which kernels, is in :mod:`snatsim.kernel.legend` (one line per code).
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

    A1 = 1
    A2 = 2
    A3 = 3
    A4 = 4


class ConfirmEra(_Era):
    """Conntrack confirm and clash resolution, spec §2.2."""

    C0 = 0
    C1 = 1
    C2 = 2
    C3 = 3
    C4 = 4
    C5 = 5


class ClientEra(_Era):
    """Pod-side ephemeral port choice on connect(), spec §2.3."""

    P0 = 0
    P1 = 1
    P2 = 2
    P3 = 3
    P4 = 4


class SynEra(_Era):
    """TCP SYN retransmission schedule, spec §2.4."""

    T0 = 0
    T0p = 1  # printed "T0'"
    T1 = 2
    T2 = 3
