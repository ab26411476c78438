"""Conntrack entry timeouts (spec §10, §12).

The TCP values are the kernel's ``tcp_timeouts[]`` defaults, unchanged from 3.x to 6.x (spec §10).
The UDP values are those of recent kernels (spec §10); older
kernels used 180 s for the replied ("stream") timeout, so pass ``stream_s=180`` to model them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from snatsim.errors import ConfigError

__all__ = ["TcpTimeouts", "UdpTimeouts"]


def _check_positive(obj: object, prefix: str) -> None:
    """Every field a finite number of seconds > 0; errors name ``<prefix><field>``."""
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{prefix}{f.name}", f"{value!r} is not a number of seconds")
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(
                f"{prefix}{f.name}", f"{value!r} must be a finite number of seconds > 0"
            )


@dataclass(frozen=True)
class TcpTimeouts:
    """Conntrack TCP timeouts per state, in seconds (spec §10).

    A SNAT port towards one destination stays "used" while its entry is alive: 120 s after the last
    packet of a cleanly closed connection (TIME_WAIT), 10 s after a RST (CLOSE).
    """

    syn_sent_s: float = 120.0
    syn_recv_s: float = 60.0
    established_s: float = 432_000.0  # 5 days
    fin_wait_s: float = 120.0
    close_wait_s: float = 60.0
    last_ack_s: float = 30.0
    time_wait_s: float = 120.0
    close_s: float = 10.0
    syn_sent2_s: float = 120.0
    retrans_s: float = 300.0
    unacknowledged_s: float = 300.0

    def __post_init__(self) -> None:
        _check_positive(self, "conntrack.tcp_timeout_")


@dataclass(frozen=True)
class UdpTimeouts:
    """Conntrack UDP timeouts, in seconds (spec §10).

    Attributes
    ----------
    unreplied_s:
        An entry that has seen traffic in one direction only.
    stream_s:
        A replied entry ("stream"; 120 s in recent kernels, 180 s in old ones).
    nat_clash_s:
        The fixed lifetime of a reply-only NAT_CLASH entry (spec §2.2 C3, §6.2).
    """

    unreplied_s: float = 30.0
    stream_s: float = 120.0
    nat_clash_s: float = 1.0

    def __post_init__(self) -> None:
        _check_positive(self, "conntrack.udp_timeout_")
