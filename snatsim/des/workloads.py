"""Arrival processes: when each client calls connect() (see the workload fields in the config).

* ``poisson``: one Poisson process per group at ``rate_per_s``; each arrival picks a client
  uniformly at random.
* ``periodic``: one ticker per client, tick *n* at ``phase + n·period_s + jitter_n`` (jitter does
  not accumulate). Phases are uniform in ``[0, period_s)`` unless ``align_phase`` (cron-like).
* ``closed-loop``: each client connects, keeps the connection for its requests, closes (or fails),
  thinks ``think_time_s`` and connects again. Clients start at uniform phases over one mean cycle.
* ``burst``: every ``burst_interval_s`` the group opens ``burst_size`` connections at the same
  instant, from its clients in turn (so from different pods); the first burst is at a uniform
  phase in ``[0, burst_interval_s)``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

LOCAL_ERROR_BACKOFF_S = 0.1

if TYPE_CHECKING:
    from snatsim.des.node import Node
    from snatsim.des.records import Connection
    from snatsim.des.setup import Client, WorkloadRuntime


def start(node: Node, wl: WorkloadRuntime) -> None:
    """Schedule the arrivals of one workload group.

    Every driver schedules its next arrival *before* calling ``node.connect`` and calls it last,
    which the node's inline confirm relies on (see :mod:`snatsim.des.node`). Drivers stop when
    the node stops accepting connections (the drain after the end of the run).
    """
    cfg = wl.cfg
    u = wl.uniform
    if cfg.arrival == "poisson":
        assert cfg.rate_per_s is not None
        _Poisson(node, wl, cfg.rate_per_s).schedule_next(0.0)
    elif cfg.arrival == "periodic":
        assert cfg.period_s is not None
        for client in wl.clients:
            phase = 0.0 if cfg.align_phase else u.uniform() * cfg.period_s
            _Ticker(node, client, cfg.period_s, phase).schedule(0)
    elif cfg.arrival == "closed-loop":
        rtt_mean_s = node.s.scenario.network.rtt_s.mean
        cycle_s = wl.requests * cfg.hold_s.mean + cfg.think_time_s.mean + rtt_mean_s
        for client in wl.clients:
            node.at(u.uniform() * cycle_s, _Loop(node, client).go, None)
    else:
        assert cfg.burst_size is not None and cfg.burst_interval_s is not None
        burst = _Burst(node, wl, cfg.burst_size, cfg.burst_interval_s)
        node.at(u.uniform() * cfg.burst_interval_s, burst.fire, None)


class _Poisson:
    def __init__(self, node: Node, wl: WorkloadRuntime, rate_per_s: float) -> None:
        self.node = node
        self.wl = wl
        self.mean_gap_s = 1.0 / rate_per_s
        self.n = len(wl.clients)

    def schedule_next(self, now: float) -> None:
        gap = -math.log(1.0 - self.wl.uniform.uniform()) * self.mean_gap_s  # exponential
        self.node.at(now + gap, self.fire, None)

    def fire(self, _: object, now: float) -> None:
        if not self.node.accepting:
            return  # the run has ended: no more arrivals
        wl = self.wl
        client = wl.clients[wl.uniform.below(self.n)] if self.n > 1 else wl.clients[0]
        self.schedule_next(now)
        self.node.connect(client, now)


class _Ticker:
    def __init__(self, node: Node, client: Client, period_s: float, phase_s: float) -> None:
        self.node = node
        self.client = client
        self.period_s = period_s
        self.phase_s = phase_s
        self.n = 0

    def schedule(self, n: int) -> None:
        self.n = n
        at = self.phase_s + n * self.period_s + self.client.workload.jitter_s()
        self.node.at(at, self.fire, None)

    def fire(self, _: object, now: float) -> None:
        if not self.node.accepting:
            return  # the run has ended: no more arrivals
        self.schedule(self.n + 1)
        self.node.connect(self.client, now)


class _Loop:
    def __init__(self, node: Node, client: Client) -> None:
        self.node = node
        self.client = client

    def go(self, _: object, now: float) -> None:
        if not self.node.accepting:
            return  # the run has ended: no more arrivals
        self.node.connect(self.client, now, self.done)

    def done(self, conn: Connection) -> None:
        think = self.client.workload.think_s()
        if conn.outcome == "local_error":  # no port: back off instead of spinning at one instant
            think = max(think, LOCAL_ERROR_BACKOFF_S)
        assert conn.t_end is not None
        self.node.at(conn.t_end + think, self.go, None)


class _Burst:
    def __init__(self, node: Node, wl: WorkloadRuntime, size: int, interval_s: float) -> None:
        self.node = node
        self.wl = wl
        self.size = size
        self.interval_s = interval_s
        self.next_client = 0

    def fire(self, _: object, now: float) -> None:
        """Schedule the burst's connects as separate same-instant events, then the next burst."""
        if not self.node.accepting:
            return  # the run has ended: no more arrivals
        clients = self.wl.clients
        for _i in range(self.size):
            client = clients[self.next_client % len(clients)]
            self.next_client += 1
            self.node.at(now, self.connect, client)
        self.node.at(now + self.interval_s, self.fire, None)

    def connect(self, client: Client, now: float) -> None:
        self.node.connect(client, now)
