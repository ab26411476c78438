"""What a simulation engine hands over: the record schema and the raw data of one run.

Every engine (the SimPy model now; the Monte Carlo core later) fills a :class:`RunData` with rows of
:class:`ConnectionRow` records and a :class:`Series`; :mod:`snatsim.results` turns it into a
:class:`~snatsim.results.SimulationResult` with the same summary keys whatever the engine. This
module sits below the engines and imports none of them (STYLE.md: one-way layers).

Definitions used by the summary:

* A connection is *measured* when it started at or after ``warmup_s``.
* Packet counts (TCP SYNs and UDP queries, kept apart), drops and their causes count packets
  sent / dropped at or after ``warmup_s`` (the same window as the ``conntrack -S`` counters).
* The time series covers the whole run, warm-up included, one row per simulated second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import numpy as np

    from snatsim.config import Scenario

CAUSES = ("race", "eviction", "exhaustion")
OUTCOMES = ("established", "failed", "app_timeout", "local_error", "in_flight")



class ConnectionRow(NamedTuple):
    """One measured connection (TCP connect()) or request (UDP lookup), as the summary reads it."""

    id: int
    workload: str
    pod: int
    destination: str  # "ip:port"
    protocol: str  # "tcp" or "udp"
    start_s: float
    end_s: float | None  # None while in flight at the end of the run
    pod_port: int
    nat_port: int | None  # the translated source port of the last packet through NAT
    nat_outcome: str | None  # NatOutcome of that packet
    preserved: bool  # nat_port equals the pod's own port
    syns: int  # SYNs sent (TCP) or tries of the lookup (UDP)
    lost: int  # packets of this connection dropped at NAT/confirm
    outcome: str  # one of OUTCOMES
    latency_s: float | None  # connect() (or lookup) latency; None when it never completed
    first_drop_cause: str | None  # one of CAUSES (or "table-full"), None when nothing was lost


COLUMNS = ConnectionRow._fields
PROTOCOL_NAMES = {6: "tcp", 17: "udp"}  # IPPROTO_TCP, IPPROTO_UDP (rundata imports no kernel code)




def destination_label(key: tuple[int, str, str, int]) -> str:
    """``"tcp 192.0.2.10 -> 203.0.113.10:443"`` for a (proto, nat ip, dst ip, dst port) key."""
    proto, nat_ip, dst_ip, dst_port = key
    return f"{PROTOCOL_NAMES[proto]} {nat_ip} -> {dst_ip}:{dst_port}"


@dataclass
class Series:
    """Per-second time series (index = second)."""

    new_connections: list[int] = field(default_factory=list)
    syn_drops: list[int] = field(default_factory=list)
    query_drops: list[int] = field(default_factory=list)  # UDP queries (A/AAAA) dropped
    conntrack_entries: list[int] = field(default_factory=list)
    max_ports_in_use: list[int] = field(default_factory=list)
    ports_in_use: dict[str, list[int]] = field(default_factory=dict)

    def bump(self, name: str, second: int) -> None:
        """Add one to ``name`` at ``second``."""
        col: list[int] = getattr(self, name)
        if second >= len(col):
            col.extend([0] * (second + 1 - len(col)))
        col[second] += 1


@dataclass
class RunData:
    """The raw outcome of one run, as an engine produced it.

    ``counters`` are the ``conntrack -S`` counters of the measured window, ``counters_total`` those
    of the whole run; ``rows`` hold one :class:`ConnectionRow` per measured connection.
    ``seed`` is the integer seed given (None if none was), ``seed_sequence`` the run's root.
    """

    scenario: Scenario
    profile: dict[str, str]
    counters: dict[str, int]
    counters_total: dict[str, int]
    packets_sent: dict[str, int]
    packets_dropped: dict[str, int]
    drop_causes: dict[str, int]
    rows: list[ConnectionRow]
    series: Series
    seed: int | None
    seed_sequence: np.random.SeedSequence
    wall_s: float
    trace: list[dict[str, Any]] | None = None
