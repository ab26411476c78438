"""Aligned tickers and bursts: one tick of the group as one trial (spec §3.2, §4.4 "A1", §6.2, §9).

A periodic workload with ``align_phase`` fires every client at once, separated only by the
jitter; a burst opens ``burst_size`` connections at one instant from its clients in turn (the
DES's same-instant order is the clients' order, kept here by a stable sort). Their races are
clusters, not pairs. A trial draws one tick of the whole group: every
ticker's arrival (its jitter), the CPU its SYN is processed on (``client``: its client's CPU,
``i mod cpus``; ``flow-hash``: one uniform CPU per connection; ``random``: one per packet) and its
NAT -> confirm time. Each CPU is a FIFO (a NAT waits for the CPU's previous confirm, spec §3.2,
§13.1) as in ``snatsim.des``. Who loses:

* **rover** (A1 default and ``--random``: a start offset shared by every search): the searches
  that overlap take one port; processed in NAT order, a search joins the current *group* while
  the group's port is not yet confirmed, else the rover has moved on and it leads a new group;
  in each group all but the first to confirm are dropped (:func:`rover_losers`);
* **slots** (``--random-fully``, A2+ searches, and kept pod ports everywhere): each flow's port
  from its own search (:mod:`snatsim.mc.alloc`) on the block's occupancy, or its pod port when
  preservation keeps it; two flows on one port whose windows overlap clash, the later confirm is
  dropped (:func:`slot_losers`).

A dropped SYN is retransmitted at the schedule's times with the same offsets, so the losers of
one round form the next round's cluster (spec §9, §16.2: same pod port, so a searched flow
searches again). Background flows of other workloads are not in the cluster (a tick lasts about
a millisecond).

A workload with several destinations: each connection picks its destination with the workload's
probabilities (as the DES's ``connect()`` does) and keeps it for its retransmits; only flows to
one destination (one reply tuple space, spec §5.1) can clash, each destination with its own
occupancy, while the CPUs are shared. The A1 rover is one counter for all destinations (spec
§4.4): a search towards another destination that moves it between two overlapping searches is
not modelled (those two still share a port here).

Draw order per block: ``t``, then per destination ``m`` and busy ports, pod-port-held uniforms,
pod ports, jitter, the burst phase (bursts whose clients' CPUs cycle only), the destinations
(several only), then per round: CPUs (steering ``flow-hash`` in round 0, ``random`` every round),
deltas, search offsets. A block draws only from its own generator, and only while one of its
flows is still active; :meth:`ClusterSampler.blocks` runs several blocks stacked (rows of ticks),
each giving the row it gives alone.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from snatsim.kernel.eras import NatEra
from snatsim.mc.alloc import max_rounds, search_rounds, search_rover
from snatsim.mc.engine import nat_to_confirm_s
from snatsim.mc.ports import busy_row
from snatsim.mc.steady import ClusterPlan, DestinationPlan, SteadyPlan

CLUSTER_BLOCK = 64  # ticks per block
SMALLEST_CLUSTER_BLOCK = 4  # ... of a call asking for fewer than MIN_BLOCKS * CLUSTER_BLOCK ticks


def cluster_columns(sends: int) -> tuple[str, ...]:
    """Tally columns: ticks, connections, kept ports, found, then connections by SYNs lost."""
    return ("ticks", "connections", "kept", "found", *(f"lost_{k}" for k in range(sends + 1)))


def cpu_fifo(arrive_s: NDArray[np.float64], delta_s: NDArray[np.float64],
             cpu: NDArray[np.int64], active: NDArray[np.bool_],
             cpus: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """NAT and confirm times of each active flow when every CPU is a FIFO (inactive: inf).

    Flows are taken in arrival order (ties: flow order), NAT at ``max(arrival, the CPU's last
    confirm)``, confirm ``delta`` later (spec §3.2, §13.1), one position of that order at a time
    for all rows, up to the most active flows of a row (inactive ones sort last, and their inf
    times leave the active ones alone)."""
    n, k = arrive_s.shape
    t = np.where(active, arrive_s, np.inf)
    order = np.argsort(t, axis=1, kind="stable")
    rows = np.arange(n)[:, None]
    arrive_p = np.take_along_axis(t, order, axis=1).T.copy()  # [position in arrival order, row]
    delta_p = np.take_along_axis(delta_s, order, axis=1).T.copy()
    free_at = (rows * cpus + np.take_along_axis(cpu, order, axis=1)).T.copy()  # CPU of a row
    free = np.zeros(n * cpus)
    nat_p, conf_p = np.full((k, n), np.inf), np.full((k, n), np.inf)
    for p in range(int(active.sum(axis=1).max(initial=0))):
        np.maximum(arrive_p[p], free[free_at[p]], out=nat_p[p])
        np.add(nat_p[p], delta_p[p], out=conf_p[p])
        free[free_at[p]] = conf_p[p]
    nat, conf = np.empty((n, k)), np.empty((n, k))
    nat[rows, order] = nat_p.T
    conf[rows, order] = conf_p.T
    return nat, conf


def rover_losers(nat_s: NDArray[np.float64], conf_s: NDArray[np.float64],
                 part: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Flows ``part`` that share a rover port with an earlier confirm (A1 rover, spec §4.4).

    Walked in NAT order, one position for all rows at a time, up to the most flows ``part`` of
    a row (the others sort last; the groups they would open are never read)."""
    n, k = nat_s.shape
    t = np.where(part, nat_s, np.inf)
    order = np.argsort(t, axis=1, kind="stable")
    nat_p = np.take_along_axis(t, order, axis=1).T.copy()  # [position in NAT order, row]
    conf_p = np.take_along_axis(conf_s, order, axis=1).T.copy()
    gmin = np.full(n, -np.inf)  # earliest confirm of the current group (its port held from then)
    gid = np.zeros(n, dtype=np.int64)
    group_p = np.zeros((k, n), dtype=np.int64)
    for p in range(int(part.sum(axis=1).max(initial=0))):
        new = nat_p[p] >= gmin  # a NAT at the confirm instant (the CPU's next packet) sees it
        gid += new
        gmin = np.where(new, conf_p[p], np.minimum(gmin, conf_p[p]))
        group_p[p] = gid
    rows = np.arange(n)
    group = np.zeros((n, k), dtype=np.int64)
    group[rows[:, None], order] = group_p.T
    flat = rows[:, None] * (k + 1) + group
    first = np.full(n * (k + 1), np.inf)
    np.minimum.at(first, flat[part], conf_s[part])
    out: NDArray[np.bool_] = part & (conf_s > first[flat])
    return out


def slot_losers(nat_s: NDArray[np.float64], conf_s: NDArray[np.float64],
                slot: NDArray[np.int64], part: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Flows ``part`` on the same port as another whose window overlaps and confirms first."""
    n, k = slot.shape
    lost = np.zeros((n, k), dtype=bool)
    keyed = np.where(part, slot, -1 - np.arange(k))  # inactive flows never match
    ordered = np.sort(keyed, axis=1)
    suspects = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
    for r in suspects:  # rare: compare the trial's flows pairwise
        same = keyed[r][:, None] == keyed[r][None, :]
        overlap = ((nat_s[r][:, None] < conf_s[r][None, :])
                   & (nat_s[r][None, :] < conf_s[r][:, None]))
        earlier = conf_s[r][None, :] < conf_s[r][:, None]  # [i, j]: j confirms before i
        lost[r] = (same & overlap & earlier).any(axis=1)
    out: NDArray[np.bool_] = lost & part
    return out


def _compact(x: NDArray[Any], ticks: NDArray[np.intp], cols: NDArray[np.intp] | None
             ) -> NDArray[Any]:
    """Rows ``ticks`` of ``x``, columns ``cols`` of each (None: all of ``x``)."""
    return x if cols is None else np.take_along_axis(x[ticks], cols, axis=1)


class ClusterSampler:
    """Runs blocks of ticks of one aligned workload."""

    def __init__(self, steady: SteadyPlan, cluster: ClusterPlan, steering: str) -> None:
        self.plan = steady
        self.cluster = cluster
        self.steering = steering
        self.dest: DestinationPlan = steady.destinations[cluster.dest]
        indices, self.dest_p = cluster.options
        self.dests = tuple(steady.destinations[i] for i in indices)
        era = steady.profile.nat_era
        self.a1 = era == NatEra.A1
        self.rover = self.a1 and not steady.random_fully
        self.rounds = 1 if self.a1 else max_rounds(self.dest.size)
        self.sends = steady.schedule.send_times_s

    def block(self, rng: np.random.Generator, n: int = CLUSTER_BLOCK) -> NDArray[np.float64]:
        """Tally ``n`` ticks (see the module docstring for the draw order)."""
        out: NDArray[np.float64] = self.blocks([rng], n)[0]
        return out

    def blocks(self, rngs: list[np.random.Generator], n: int = CLUSTER_BLOCK
               ) -> NDArray[np.float64]:
        """Tally ``n`` ticks from each generator of ``rngs`` (one block each, rows in order).

        Every block draws from its own generator in the order of the module docstring, so its
        row equals :meth:`block` on it; the work runs on the blocks stacked (rows of ticks), so
        numpy's per-call cost is paid once per ticker and round, not once per block.
        """
        p, c = self.plan, self.cluster
        k, b = c.tickers, len(rngs)
        # each block draws its occupancy rows in place: busy[g][i] is block i's of destination g
        busy = [np.zeros((b, dest.size), dtype=bool) for dest in self.dests]
        draws = [self._draw_tick(rng, n, [rows[i] for rows in busy]) for i, rng in enumerate(rngs)]
        held_p = np.repeat(np.array([x[0] for x in draws]), n, axis=0)  # (b n, dests)
        u_held, pod_slot, jitter, cpu, choice = (
            np.concatenate([x[j] for x in draws]) for j in range(1, 6))
        many = len(self.dests) > 1
        searched = u_held < np.take_along_axis(held_p, choice.reshape(b * n, k), axis=1)
        active = np.ones((b * n, k), dtype=bool)
        lost = np.zeros((b * n, k), dtype=np.int64)
        found = np.zeros(b, dtype=np.int64)
        alive = np.arange(b)  # blocks with a flow still active: only they draw the next round
        for r, send_s in enumerate(self.sends):
            if r:
                alive = alive[active.reshape(b, n * k)[alive].any(axis=1)]
                if not alive.size:
                    break
            delta = np.zeros((b, n * k))
            start = np.zeros((b, n * k, self.rounds), dtype=np.uint16)
            for i in alive:
                if self.steering == "random" or (self.steering == "flow-hash" and r == 0):
                    cpu[i * n:(i + 1) * n] = rngs[i].integers(0, p.cpus, size=(n, k))
                delta[i] = nat_to_confirm_s(p.nat_to_confirm_us, rngs[i], n * k)
                start[i] = rngs[i].integers(0, 1 << 16, size=(n * k, self.rounds),
                                            dtype=np.uint16)
            slots, gave_ups = [], []
            everyone = alive.size == b
            for g, (dest, rows) in enumerate(zip(self.dests, busy, strict=True)):
                here = active & (choice == g) if many else active  # flows to this destination
                rows_alive = rows if everyone else rows[alive]
                res = (search_rover(rows_alive, start[alive, :, 0]) if self.a1
                       else search_rounds(rows_alive, start[alive]))
                slot = np.zeros((b, n * k), dtype=np.int64)
                slot[alive] = res.slot
                gave_up = np.zeros((b, n * k), dtype=bool)
                gave_up[alive] = res.gave_up
                counted = np.zeros((b, n * k), dtype=np.int64)
                counted[alive] = res.found
                counted += dest.preserve
                found += (counted * (searched & here).reshape(b, n * k)).sum(axis=1)
                slots.append(slot.reshape(b * n, k))
                gave_ups.append(gave_up.reshape(b * n, k))
            drop = np.zeros((b * n, k), dtype=bool)
            if not self.rover:  # a search that gave up loses its SYN, alone or not
                for g in range(len(self.dests)):
                    here = active & (choice == g) if many else active
                    drop |= here & searched & gave_ups[g]
            # who races: the ticks with two active flows or more (a retransmit round has a few
            # per tick), their active flows moved to the front of their rows in flow order
            per_tick = active.sum(axis=1)
            ticks = np.flatnonzero(per_tick >= 2)
            if ticks.size:
                cols = None if active.all() else np.argsort(~active[ticks], axis=1, kind="stable")[
                    :, :int(per_tick.max())]
                sub = partial(_compact, ticks=ticks, cols=cols)
                act, srch = sub(active), sub(searched)
                nat, conf = cpu_fifo(sub(jitter) + send_s, sub(delta.reshape(b * n, k)), sub(cpu),
                                     act, p.cpus)
                lose: NDArray[np.bool_] = np.zeros(act.shape, dtype=bool)
                for g in range(len(self.dests)):
                    here = act & (sub(choice) == g) if many else act
                    if self.rover:
                        lose |= rover_losers(nat, conf, here & srch)
                        lose |= slot_losers(nat, conf, sub(pod_slot), here & ~srch)
                    else:
                        lose |= slot_losers(nat, conf,
                                            np.where(srch, sub(slots[g]), sub(pod_slot)), here)
                if cols is None:
                    drop |= lose
                else:
                    drop[ticks[:, None], cols] |= lose
            lost += drop
            active = drop
        sends = len(self.sends)
        hist = np.stack([np.bincount(x, minlength=sends + 1)
                         for x in lost.reshape(b, n * k)])
        kept = (~searched).reshape(b, n * k).sum(axis=1)
        return np.column_stack([np.full(b, n), np.full(b, n * k), kept, found, hist]
                               ).astype(float)

    def _draw_tick(self, rng: np.random.Generator, n: int, rows: list[NDArray[np.bool_]]
                   ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64],
                              NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
        """A block's draws before its first round: each destination's occupancy row (drawn into
        ``rows``); returned, the pod-port-held odds per destination, the held uniforms, pod
        ports, jitter, CPUs (client steering; round 0 redraws them otherwise) and destinations,
        shape (n, tickers)."""
        d, p, c = self.dest, self.plan, self.cluster
        k = c.tickers
        t_s = rng.uniform(p.warmup_s, p.duration_s)
        for dest, row in zip(self.dests, rows, strict=True):  # each destination's own at t
            busy_row(rng, dest.size, int(rng.poisson(float(dest.held(t_s)))), row)
        held_p = np.array([float(x.pod_port_held(t_s)) if x.preserve else 1.0
                           for x in self.dests])
        u_held = rng.random((n, k))
        pod_slot = d.pod_lo - d.lo + d.pod_step * rng.integers(0, d.pod_choices, size=(n, k))
        jitter = c.jitter_s.sample(rng, n * k).reshape(n, k)
        patterns = np.asarray(c.cpus, dtype=np.int64)
        if len(patterns) == 1:
            cpu = np.repeat(patterns[:1], n, axis=0)
        else:  # a burst: which clients' turn it is (one integer per tick, drawn only here)
            cpu = patterns[rng.integers(0, len(patterns), size=n)]
        choice = (rng.choice(len(self.dests), size=(n, k), p=self.dest_p) if len(self.dests) > 1
                  else np.zeros((n, k), dtype=np.int64))
        return held_p, u_held, pod_slot, jitter, cpu, choice
