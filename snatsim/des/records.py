"""What the model remembers: connections, packets in flight, counts and per-second series.

The record schema (columns, outcomes, causes, the per-second :class:`~snatsim.rundata.Series`) and
the definitions the summary uses are in :mod:`snatsim.rundata`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from snatsim.kernel.conntrack import TCP, Entry
from snatsim.kernel.nat import NatOutcome, NatResult
from snatsim.kernel.tuples import ConnTuple
from snatsim.rundata import CAUSES, ConnectionRow, ConnectionStats, Series

if TYPE_CHECKING:
    from snatsim.des.setup import DestinationRuntime, WorkloadRuntime
    from snatsim.kernel.tcp import SynSchedule

_NO_TUPLE = ConnTuple(0, "", 0, "", 0)


class Connection:
    """One connect() (TCP) or one DNS-like request (UDP) from a client.

    Fields that start the same for every connection are class defaults, set on the instance only
    when they change (one object per connection: the constructor stays short).
    """

    orig: ConnTuple = _NO_TUPLE  # the pod's tuple, set once the local port is chosen
    isn = 0
    schedule: SynSchedule | None = None
    syns = 0
    lost = 0
    tries = 0
    answered = 0
    retry_pending = False
    connecting = False  # started, no answer yet (see Recorder.resolved)
    entry: Entry | None = None
    nat_port: int | None = None
    nat_outcome: NatOutcome | None = None
    first_cause: str | None = None
    outcome: str | None = None
    latency_s: float | None = None
    t_end: float | None = None

    def __init__(self, cid: int, wl: WorkloadRuntime, pod: int, dst: DestinationRuntime, client_cpu: int,
                 t0: float, measured: bool, on_done: Callable[[Connection], None] | None) -> None:
        self.id = cid
        self.wl = wl
        self.pod = pod
        self.dst = dst
        self.client_cpu = client_cpu
        self.t0 = t0
        self.measured = measured
        self.on_done = on_done

    @property
    def preserved(self) -> bool:
        """Did SNAT keep the pod's own source port (spec §4.4 port preservation)?"""
        return self.nat_port is not None and self.nat_port == self.orig.src_port


class Packet:
    """A packet between the NAT hook and confirm on one CPU."""

    __slots__ = ("conn", "cpu", "entry", "nat", "window_s")

    def __init__(self, conn: Connection, cpu: int, window_s: float) -> None:
        self.conn = conn
        self.cpu = cpu
        self.window_s = window_s
        self.entry: Entry | None = None
        self.nat: NatResult | None = None


class Recorder:
    """Collects counts, streams each measured connection into :class:`ConnectionStats`, and keeps
    its :class:`ConnectionRow` while fewer than ``rows_cap`` are kept (``None``: no cap)."""

    def __init__(self, warmup_s: float, workloads: list[str] | None = None,
                 rows_cap: int | None = 0) -> None:
        self.warmup_s = warmup_s
        self.stats = ConnectionStats(workloads or [])
        self.rows: list[ConnectionRow] = []
        self.rows_cap = rows_cap
        self.rows_omitted = 0
        self.active: dict[int, Connection] = {}
        self.connecting = 0  # connects started and not yet resolved (measured or not)
        # packets sent / dropped at or after warm-up: TCP SYNs and UDP queries
        self.sent = {"syn": 0, "query": 0}
        self.lost = {"syn": 0, "query": 0}
        self.drop_causes: dict[str, int] = dict.fromkeys((*CAUSES, "table-full"), 0)
        self.series = Series()

    def started(self, conn: Connection) -> None:
        """A connection began (its pod port is chosen)."""
        self.series.bump("new_connections", int(conn.t0))
        conn.connecting = True
        self.connecting += 1
        if conn.measured:
            self.active[conn.id] = conn

    def packet_sent(self, kind: str, now_s: float) -> None:
        """A SYN (first or retransmit) or a UDP query left the client (``kind``: syn / query)."""
        if now_s >= self.warmup_s:
            self.sent[kind] += 1

    def dropped(self, conn: Connection, now_s: float, cause: str) -> None:
        """A packet of ``conn`` was dropped in the node (clash at confirm, or table full)."""
        if conn.first_cause is None:
            conn.first_cause = cause
        kind = "syn" if conn.orig.proto == TCP else "query"
        self.series.bump(f"{kind}_drops", int(now_s))
        if now_s >= self.warmup_s:
            self.lost[kind] += 1
            self.drop_causes[cause] += 1

    def finish(self, conn: Connection, now_s: float) -> None:
        """The connection ended (closed, failed, timed out); store its record and notify."""
        conn.t_end = now_s
        self.resolved(conn)
        if conn.measured:
            self.active.pop(conn.id, None)
            self._record(conn)
        if conn.on_done is not None:
            conn.on_done(conn)

    def resolved(self, conn: Connection) -> None:
        """``conn``'s connect (or lookup) has its answer: established, failed or timed out."""
        if conn.connecting:
            conn.connecting = False
            self.connecting -= 1

    def unresolved(self) -> bool:
        """Is any connect still waiting (no answer yet, no failure, no timeout)?"""
        return self.connecting > 0

    def close_run(self) -> None:
        """End of run: connections still open are recorded as they stand."""
        for conn in self.active.values():
            if conn.outcome is None:
                conn.outcome = "in_flight"
            self._record(conn)
        self.active.clear()

    def _record(self, c: Connection) -> None:
        """Stream a measured connection into the stats; keep its row if the cap allows."""
        assert c.outcome is not None
        self.stats.add(c.wl.name, c.outcome, c.latency_s, c.lost, c.nat_port, c.preserved)
        cap = self.rows_cap
        if cap is None or len(self.rows) < cap:
            self.rows.append(self._row(c))
        else:
            self.rows_omitted += 1

    @staticmethod
    def _row(c: Connection) -> ConnectionRow:
        o = c.orig
        tcp = c.wl.proto == TCP  # not o.proto: a local error never got a tuple
        assert c.outcome is not None
        return ConnectionRow(
            c.id, c.wl.name, c.pod, c.dst.address, "tcp" if tcp else "udp", c.t0, c.t_end,
            o.src_port, c.nat_port, None if c.nat_outcome is None else str(c.nat_outcome),
            c.preserved, c.syns if tcp else c.tries,
            c.lost, c.outcome, c.latency_s, c.first_cause,
        )
