"""TCP SYN retransmission schedule of a connecting socket (spec §2.4, §9, §12).

A dropped SYN (for example the loser of a SNAT clash at confirm, spec §6) produces no SYN-ACK, so
the socket stays in SYN_SENT with the same local port and retransmits when its RTO fires (spec §9).
:func:`syn_schedule` gives the send times of every SYN and the time ``connect()`` fails with
ETIMEDOUT, per SYN era.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from snatsim.errors import ConfigError
from snatsim.kernel.eras import SynEra

__all__ = ["MAX_TCP_SYNCNT", "SynSchedule", "syn_schedule"]

MAX_TCP_SYNCNT = 127
"""Upper bound of ``tcp_syn_retries`` and ``tcp_syn_linear_timeouts`` (kernel sysctl limit)."""

# era -> (initial RTO s, tcp_syn_retries, tcp_syn_linear_timeouts); spec §2.4 and §12.
_ERA_DEFAULTS: dict[SynEra, tuple[float, int, int]] = {
    SynEra.T0: (3.0, 5, 0),
    SynEra.T0p: (1.0, 5, 0),
    SynEra.T1: (1.0, 6, 0),
    SynEra.T2: (1.0, 6, 4),
}


@dataclass(frozen=True)
class SynSchedule:
    """When a connecting socket sends its SYNs and when it gives up (spec §9).

    Attributes
    ----------
    send_times_s:
        The first SYN at 0, then each retransmit, in seconds after the first SYN.
    give_up_s:
        When ``connect()`` fails with ETIMEDOUT: the last send plus the RTO then in force.
    """

    send_times_s: tuple[float, ...]
    give_up_s: float

    @property
    def retransmits(self) -> int:
        """How many retransmits are sent before giving up."""
        return len(self.send_times_s) - 1

    def latency_after_losses_s(self, k: int) -> float | None:
        """Connect delay (excluding the RTT) when the first ``k`` SYNs are lost (spec §9 table).

        Returns ``None`` when ``k`` is at least the number of sends: ``connect()`` fails with
        ETIMEDOUT at :attr:`give_up_s`.
        """
        if k < 0:
            raise ValueError(f"k must be >= 0 (number of lost SYNs), got {k}")
        if k >= len(self.send_times_s):
            return None
        return self.send_times_s[k]


def _check_count(value: int, field: str, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(field, f"{value!r} is not an integer; use {lo}..{MAX_TCP_SYNCNT}")
    if not lo <= value <= MAX_TCP_SYNCNT:
        raise ConfigError(
            field, f"{value} is out of range; the kernel accepts {lo}..{MAX_TCP_SYNCNT}"
        )
    return value


def _check_seconds(value: float, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(field, f"{value!r} is not a number of seconds")
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(field, f"{value!r} must be a finite number of seconds > 0")
    return float(value)


def syn_schedule(
    era: SynEra,
    *,
    syn_retries: int | None = None,
    linear_timeouts: int | None = None,
    rto_init_s: float | None = None,
    rto_max_s: float = 120.0,
) -> SynSchedule:
    """The SYN send times and give-up time of one ``connect()`` (spec §2.4, §9).

    Defaults per era (spec §2.4, §12): T0 RTO 3 s and 5 retries; T0' 1 s and 5; T1 1 s and 6;
    T2 1 s, 6 retries and 4 linear timeouts. After retransmit *k* the RTO is kept when the era is
    T2 and *k* ≤ ``linear_timeouts``, otherwise doubled, and capped at ``rto_max_s`` (spec §9). The
    socket gives up when the retransmit count reaches ``syn_retries + linear_timeouts`` (T2) or
    ``syn_retries`` (earlier eras), once the RTO then in force has expired (the time budget is [I]
    in the spec; it reproduces the 127 s / 131 s of spec §2.4).

    Parameters
    ----------
    era:
        The SYN era of the kernel.
    syn_retries:
        ``net.ipv4.tcp_syn_retries`` (or the per-socket ``TCP_SYNCNT``); 1..127.
    linear_timeouts:
        ``net.ipv4.tcp_syn_linear_timeouts``, T2 only; 0..127. ``0`` restores the exponential
        1/3/7 s backoff on 6.5+ (spec §16.7).
    rto_init_s:
        The initial RTO (``TCP_TIMEOUT_INIT``; a BPF sock_ops hook can change it, spec §9).
    rto_max_s:
        ``TCP_RTO_MAX``.

    Raises
    ------
    ConfigError
        Fields ``tcp.syn_retries``, ``tcp.syn_linear_timeouts``, ``tcp.rto_init_s``,
        ``tcp.rto_max_s``.
    """
    era = SynEra(era)
    default_rto, default_retries, default_linear = _ERA_DEFAULTS[era]
    retries = (
        default_retries if syn_retries is None else _check_count(syn_retries, "tcp.syn_retries", 1)
    )
    if linear_timeouts is None:
        linear = default_linear
    else:
        linear = _check_count(linear_timeouts, "tcp.syn_linear_timeouts", 0)
        if linear and era < SynEra.T2:
            raise ConfigError(
                "tcp.syn_linear_timeouts",
                f"{linear} is set but kernels before 6.5 (SYN era {era}) have no linear phase; "
                "leave it unset or use SYN era T2",
            )
    rto_max = _check_seconds(rto_max_s, "tcp.rto_max_s")
    rto = default_rto if rto_init_s is None else _check_seconds(rto_init_s, "tcp.rto_init_s")
    if rto > rto_max:
        raise ConfigError(
            "tcp.rto_init_s",
            f"{rto} s exceeds tcp.rto_max_s ({rto_max} s); lower one or raise the other",
        )

    max_retransmits = retries + linear if era >= SynEra.T2 else retries
    t = 0.0
    sends = [t]
    for k in range(1, max_retransmits + 1):
        t += rto
        sends.append(t)
        if not (era >= SynEra.T2 and k <= linear):
            rto = min(2.0 * rto, rto_max)
    return SynSchedule(send_times_s=tuple(sends), give_up_s=t + rto)
