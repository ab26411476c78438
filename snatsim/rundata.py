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

Memory stays bounded whatever the duration: what the summary needs is streamed into a
:class:`ConnectionStats` as each measured connection ends (counts, delayed counts per threshold,
a latency :class:`~snatsim.sketch.QuantileSketch`); a :class:`ConnectionRow` per connection is
kept only when asked for (``rows=`` of :func:`snatsim.simulate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from snatsim.errors import ConfigError
from snatsim.sketch import QuantileSketch

if TYPE_CHECKING:
    import numpy as np

    from snatsim.config import Scenario

CAUSES = ("race", "eviction", "exhaustion")
OUTCOMES = ("established", "failed", "app_timeout", "local_error", "in_flight")
NEVER_COMPLETED = ("failed", "app_timeout")  # count as delayed at every threshold
# connect() / lookup latency thresholds of the delayed counts: the SYN retransmits at 1 s and
# 1 + 2 s (spec §9) in every run; the resolver's retry after timeout:5 (spec §12) in UDP runs
DELAY_THRESHOLDS_S = (1.0, 2.0, 3.0)
UDP_RETRY_THRESHOLD_S = 5.0
COUNTED_THRESHOLDS_S = (*DELAY_THRESHOLDS_S, UDP_RETRY_THRESHOLD_S)
ROWS_TRUE_CAP = 1_000_000  # rows=True keeps at most this many rows (~400 bytes each)


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


def rows_cap(rows: bool | int | str) -> int | None:
    """The row cap that ``rows=`` asks for: ``False`` 0 (none), ``True`` :data:`ROWS_TRUE_CAP`,
    an int that many, ``"all"`` None (no cap); ``"none"`` is 0 too."""
    if isinstance(rows, bool):
        return ROWS_TRUE_CAP if rows else 0
    if isinstance(rows, int) and rows >= 0:
        return rows
    if isinstance(rows, str) and rows.strip().lower() in ("all", "none"):
        return None if rows.strip().lower() == "all" else 0
    raise ConfigError(
        "rows", f"rows={rows!r}: pass False (no per-connection rows), True (up to "
        f"{ROWS_TRUE_CAP:,}), a number of rows >= 0, or 'all'"
    )


def destination_label(key: tuple[int, str, str, int]) -> str:
    """``"tcp 192.0.2.10 -> 203.0.113.10:443"`` for a (proto, nat ip, dst ip, dst port) key."""
    proto, nat_ip, dst_ip, dst_port = key
    return f"{PROTOCOL_NAMES[proto]} {nat_ip} -> {dst_ip}:{dst_port}"


class WorkloadCounts:
    """One workload's measured connections: attempted, completed, delayed ≥ 1 s, lost packets."""

    __slots__ = ("attempted", "delayed_ge_1s", "established", "lost_packets")

    def __init__(self) -> None:
        self.attempted = 0
        self.established = 0  # the connect (lookup) completed: it has a latency
        self.delayed_ge_1s = 0  # completed in >= 1 s, or never completed
        self.lost_packets = 0

    def as_dict(self) -> dict[str, int]:
        """The counts by name (the summary's ``per_workload`` entry)."""
        return {k: getattr(self, k) for k in ("attempted", "established", "delayed_ge_1s",
                                              "lost_packets")}


class ConnectionStats:
    """What the summary needs of the measured connections, streamed one connection at a time.

    Exact: outcome counts, per-workload counts, delayed counts per threshold
    (:data:`COUNTED_THRESHOLDS_S`), the latency count, max and (compensated) sum, preserved ports.
    Approximate: latency quantiles, from a :class:`~snatsim.sketch.QuantileSketch` (relative error
    :data:`snatsim.sketch.REL_ERROR`). Memory does not depend on the number of connections.
    """

    def __init__(self, workloads: tuple[str, ...] | list[str] = ()) -> None:
        self.outcomes = dict.fromkeys(OUTCOMES, 0)
        self.workloads = {name: WorkloadCounts() for name in workloads}
        self.latency = QuantileSketch()
        self.delayed = [0] * len(COUNTED_THRESHOLDS_S)  # completed with latency >= threshold
        self.latency_sum_s = 0.0
        self._latency_carry_s = 0.0  # Neumaier compensation of latency_sum_s
        self.preserved = 0  # the NAT kept the pod's port
        self.nat_known = 0  # a packet went through NAT (nat_port known)

    @property
    def attempted(self) -> int:
        """Measured connections recorded."""
        return sum(self.outcomes.values())

    @property
    def never_completed(self) -> int:
        """Connects that failed or timed out (delayed at every threshold)."""
        return sum(self.outcomes[o] for o in NEVER_COMPLETED)

    def add(self, workload: str, outcome: str, latency_s: float | None, lost: int,
            nat_port: int | None, preserved: bool) -> None:
        """Record one measured connection (the fields of its :class:`ConnectionRow`)."""
        self.outcomes[outcome] += 1
        wl = self.workloads.get(workload)
        if wl is None:
            wl = self.workloads[workload] = WorkloadCounts()
        wl.attempted += 1
        wl.lost_packets += lost
        if latency_s is not None:
            wl.established += 1
            if latency_s >= 1.0:
                wl.delayed_ge_1s += 1
            self.latency.add(latency_s)
            total = self.latency_sum_s + latency_s
            if abs(self.latency_sum_s) >= abs(latency_s):
                self._latency_carry_s += (self.latency_sum_s - total) + latency_s
            else:
                self._latency_carry_s += (latency_s - total) + self.latency_sum_s
            self.latency_sum_s = total
            delayed = self.delayed
            for i, threshold in enumerate(COUNTED_THRESHOLDS_S):
                if latency_s < threshold:
                    break
                delayed[i] += 1
        if outcome in NEVER_COMPLETED:
            wl.delayed_ge_1s += 1
        if nat_port is not None:
            self.nat_known += 1
            if preserved:
                self.preserved += 1

    def latency_mean_s(self) -> float | None:
        """Mean latency of the completed connects (None when none completed)."""
        n = self.latency.count
        return (self.latency_sum_s + self._latency_carry_s) / n if n else None


@dataclass
class Series:
    """Per-second time series (index = second)."""

    new_connections: list[int] = field(default_factory=list)
    syn_drops: list[int] = field(default_factory=list)  # TCP SYNs dropped (first or retransmit)
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
    of the whole run; ``stats`` streams every measured connection (the summary reads only that);
    ``rows`` hold one :class:`ConnectionRow` per measured connection, in the order they ended,
    up to ``rows_cap`` of them (``None``: all; ``0``: none kept), ``rows_omitted`` counts those
    past the cap. ``time_wait_evicted`` counts TIME_WAIT entries freed by 6.5+ eviction in the
    measured window (spec §5.3). ``seed`` is the integer seed given (None if none was),
    ``seed_sequence`` the run's root.
    """

    scenario: Scenario
    profile: dict[str, str]
    counters: dict[str, int]
    counters_total: dict[str, int]
    packets_sent: dict[str, int]
    packets_dropped: dict[str, int]
    drop_causes: dict[str, int]
    stats: ConnectionStats
    rows: list[ConnectionRow]
    rows_cap: int | None
    rows_omitted: int
    time_wait_evicted: int
    series: Series
    seed: int | None
    seed_sequence: np.random.SeedSequence
    wall_s: float
    trace: list[dict[str, Any]] | None = None


def pod_ip(index: int) -> str:
    """Address of the ``index``-th pod on the node (10.244.0.2, 10.244.0.3, ...)."""
    return f"10.244.{index // 250}.{index % 250 + 2}"
