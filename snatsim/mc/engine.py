"""Trials of new flows at steady state: per-SYN drop at confirm by cause (spec §4, §5, §6, §16.1).

A trial is one new flow's SYN (the *leader*) towards one destination of a
:class:`~snatsim.mc.steady.SteadyPlan`, at a time drawn uniformly in the measured window:

1. **Occupancy** (one per block of trials, :func:`block_trials`): ``m ~ Poisson(H(t))`` confirmed
   entries (Little's law, :meth:`DestinationPlan.held`) at uniformly random window ports; on A3+
   each closing one (TIME_WAIT/CLOSE share at ``t``) is evictable when the ISN test passes, a
   coin flip for unrelated flows (spec §5.3).
2. **Leader**: port preservation (spec §4.2 step 3) keeps the pod's port unless it is held
   (probability :meth:`DestinationPlan.pod_port_held`); else the A2-A4 search
   (:func:`snatsim.mc.alloc.search_rounds`, spec §4.4) on that occupancy. A search that gives
   up keeps a busy port: dropped at confirm, cause *exhaustion* (*eviction* on A3+ when closing
   entries were in the window, spec §16.1).
3. **Race**, Rao-Blackwellized over the partners and the leader's window: the NATs on other
   CPUs inside the leader's NAT -> confirm window form ``J ~ Poisson(mu)``, ``mu = rate on other
   CPUs × (delta_leader + E delta)`` (spec §3.2). Each partner keeps its pod port or searches the
   same way, independently given the block's occupancy, so it takes the leader's port with a
   probability ``q`` known exactly (:meth:`DestinationSampler._clash_odds`, the search's slot law
   :func:`snatsim.mc.alloc.slot_law`); each one on the leader's port drops the leader with
   probability 1/2 (the later confirm loses, spec §6.2), so the trial adds ``1 - E[(1 - q/2)^J]
   = 1 - exp(-mu q / 2)``, averaged over ``delta_leader`` by quadrature
   (:mod:`snatsim.mc.window`): race cause. (Until 2026-12-05 the trial drew ``J`` given ``J >=
   1``, capped at a ``jmax``, and searched for each partner; until 2026-12-06 it drew
   ``delta_leader``: the same expectation with more noise.)

Determinism: block ``b`` of destination ``k`` draws from its own generator, seeded by
``SeedSequence(root.entropy, spawn_key=root.spawn_key + (k, b))``, so a block's tally does not
depend on how blocks are grouped into chunks (same seed, same estimate for any chunk size).
Draw order inside a block: ``t`` (uniform; not drawn when :func:`run` gives the block its
:func:`~snatsim.mc.blocks.block_phase`, as it always does), ``m`` (poisson), busy ports
(:func:`~snatsim.mc.ports.busy_row`), A3+ ISN coins (``random(size)``), leader CPUs
(``choice``; not drawn where every CPU has the same rate towards the destination, as the CPU
then changes nothing), each trial's
time (uniform; only where port preservation applies and the occupancy is flat over the measured
window, :attr:`DestinationSampler.trial_times`), pod-port-held uniforms, pod ports
(``integers``), search offsets (:func:`~snatsim.mc.alloc.u16_offsets`, shape ``(B, rounds)``);
the partners draw nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from snatsim.distributions import Distribution, Lognormal
from snatsim.kernel.eras import NatEra
from snatsim.mc.alloc import (
    free_distance,
    free_virtual,
    max_rounds,
    search_rounds,
    search_rover,
    search_table,
    slot_law,
    u16_offsets,
)
from snatsim.mc.blocks import block_phases, block_seed
from snatsim.mc.ports import busy_row
from snatsim.mc.steady import DestinationPlan, SteadyPlan
from snatsim.mc.window import RaceOdds

BLOCK_TRIALS = 4096
"""Trials of a block of a call asking for between ``MIN_BLOCKS * BLOCK_TRIALS`` and
``2 * TARGET_BLOCKS * BLOCK_TRIALS`` trials (see :func:`block_trials`)."""
SMALLEST_BLOCK_TRIALS = 512
"""Trials of the smallest block (a call asking for at most ``MIN_BLOCKS`` times as many)."""
MAX_BLOCK_TRIALS = 1 << 16
TARGET_BLOCKS = 64
"""A call's blocks double in size from :data:`BLOCK_TRIALS` up to :data:`MAX_BLOCK_TRIALS` while a
stream keeps at least this many: a block's fixed work (drawing its occupancy, the search's slot
law) is then spread over more trials. On ``configs/default.toml`` a trial costs ~540 ns in
blocks of 4,096 and ~190 ns in blocks of 65,536 (``benchmarks/estimate_speed.py``)."""
TABLE_TRIALS = 1 << 14
"""Blocks of at least this many trials read their searches from the occupancy's
:func:`~snatsim.mc.alloc.free_distance` (same results); building it (~0.3 ms) costs more than
searching a smaller block directly."""
# columns of a block tally (sums over the block's trials)
TALLY = ("trials", "race", "gave_up", "eviction", "found", "kept", "evicted")
GROUP_BLOCKS = 64
"""Most blocks of one stream sampled in one call (a cluster's are stacked: bounded memory)."""
MIN_BLOCKS = 8
"""Fewest blocks sampled per stream: every stream then spreads over all of the estimate's batch-means
groups (8 while a stream has fewer than 16 blocks, then 16), so its own spread enters the interval
(a stream with fewer blocks than groups entered every group whole and its noise was left out:
legacy-rover's ticks got a 6.4e-8 wide interval on 0.0013). Each block costs ~0.15-0.3 ms beyond
its trials (its occupancy row, its generators), so the floor is most of a small estimate's time:
8 blocks and 8 groups halve it, at a t quantile of 2.36 instead of 2.13 (the intervals' coverage
at the floor: ``tests/test_mc_intervals.py``)."""


@dataclass(frozen=True)
class Tallies:
    """Per block tallies: ``sums[k]`` of destination ``k``, shape (blocks, len(TALLY));
    ``clusters[i]`` of aligned workload ``i`` (columns :func:`snatsim.mc.cluster.cluster_columns`);
    ``allocations`` counts the NAT decisions sampled: the leaders (their race partners are
    integrated, not drawn) and every ticker of a tick."""

    sums: tuple[NDArray[np.float64], ...]
    allocations: int
    clusters: tuple[NDArray[np.float64], ...] = ()
    exhausted: tuple[NDArray[np.float64], ...] = ()  # per stream (replicas, columns), see below

    @property
    def trials(self) -> int:
        """New flows sampled: steady trials, every ticker of every tick, every connection of
        the exhaustion simulation's replicas (:mod:`snatsim.mc.exhaustion`)."""
        return int(sum(self.stream_trials()) + sum(e[:, 0].sum() for e in self.exhausted))

    def stream_trials(self) -> list[float]:
        """New flows sampled per steady stream: the destinations', then the clusters'."""
        return ([float(s[:, 0].sum()) for s in self.sums]
                + [float(c[:, 1].sum()) for c in self.clusters])


def nat_to_confirm_s(dist: Distribution, rng: np.random.Generator, size: int
                     ) -> NDArray[np.float64]:
    """``size`` NAT -> confirm times (spec §3.2), in seconds, drawn from ``rng``. A lognormal is
    drawn as ``exp(mu + sigma z)`` with ``z`` a float32 standard normal: the same law to float32
    rounding (~1e-6 relative) at ~10 ns a flow, where numpy's float64 ``lognormal`` takes ~16
    (the SimPy model draws float64: :meth:`Distribution.sample`)."""
    if isinstance(dist, Lognormal):
        z = rng.standard_normal(size, dtype=np.float32)
        z *= np.float32(dist.sigma)
        z += np.float32(dist.mu - math.log(1e6))  # microseconds to seconds inside the exponent
        np.exp(z, out=z)
        return z.astype(np.float64)
    out: NDArray[np.float64] = dist.sample(rng, size) * 1e-6
    return out


class _Drawn(NamedTuple):
    """One block's draws (:meth:`DestinationSampler._draw_block`)."""

    t_s: float
    busy: NDArray[np.bool_]
    evictable: NDArray[np.bool_] | None
    held_p: float | NDArray[np.float64]  # per block, or per trial (flat occupancy)
    cpu: NDArray[np.int64] | None  # None: every CPU's rate is equal (not drawn)
    searched: NDArray[np.bool_]
    pod_slot: NDArray[np.int64]
    offsets: NDArray[np.uint16]


class DestinationSampler:
    """Runs blocks of trials for one destination of a plan."""

    def __init__(self, steady: SteadyPlan, index: int) -> None:
        self.plan = steady
        self.index = index
        self.dest: DestinationPlan = steady.destinations[index]
        era = steady.profile.nat_era
        self.evicting = era >= NatEra.A3
        self.a1 = era == NatEra.A1
        # A1 default and --random: every search starts where the shared rover (or the per-
        # destination hash) points, so overlapping searches take one port (spec §4.4 "A1")
        self.shared_start = self.a1 and not steady.random_fully
        self.rounds = 1 if self.a1 else max_rounds(self.dest.size)
        rates = np.asarray(self.dest.rate_per_cpu, dtype=float)
        total = rates.sum()
        self.cpu_p = rates / total if total > 0 else np.full(rates.size, 1.0 / rates.size)
        self.other_rate = total - rates  # same-destination NATs on the other CPUs, per CPU
        # with every CPU at the same rate the leader's CPU changes nothing: not drawn
        self.one_other_rate = bool(np.all(self.other_rate == self.other_rate[0]))
        # the largest c = rate x clash odds / 2 that the race term reads (clash odds <= 1)
        self.race_c_max = 0.5 * float(self.other_rate.max())
        self._law: NDArray[np.float64] | None = None  # slot_law's buffer, reused block to block
        # the window slots that are pod-port candidates (spec §8), looked up per flow
        self._candidate: NDArray[Any] = self.dest.candidates
        # the occupancy is the same all over the measured window (every entry's life is over
        # by the warm-up: Little's law's plateau) but the pod-port odds may still ring
        # (mc.podports): each trial then reads them at its own time, which removes their
        # spread between blocks; a filling window keeps one time per block for both, so that
        # they stay together
        self.trial_times = bool(self.dest.preserve) and bool(np.isclose(
            self.dest.held(steady.warmup_s), self.dest.held(steady.duration_s), rtol=1e-9))

    @cached_property
    def race_odds(self) -> RaceOdds:
        """The race term per flow, averaged over the leader's NAT -> confirm time
        (:mod:`snatsim.mc.window`; built at the first race, up to :attr:`race_c_max`)."""
        return self.plan.race_odds(self.race_c_max)

    def block(self, rng: np.random.Generator, n: int = BLOCK_TRIALS,
              phase: float | None = None) -> NDArray[np.float64]:
        """Tally ``n`` trials drawn from ``rng`` (see the module docstring for the draw order)
        at ``phase`` of the measured window (:func:`~snatsim.mc.blocks.block_phase`; ``None``:
        drawn first)."""
        out: NDArray[np.float64] = self.blocks([rng], n, [phase])[0]
        return out

    def blocks(self, rngs: list[np.random.Generator], n: int = BLOCK_TRIALS,
               phases: Sequence[float | None] | None = None) -> NDArray[np.float64]:
        """Tally ``n`` trials from each generator of ``rngs`` (one block each, rows in order),
        block ``i`` at ``phases[i]`` (:meth:`block`).

        Each block draws from its own generator in the documented order, and its row equals
        :meth:`block` on it; blocks smaller than :data:`TABLE_TRIALS` are searched and tallied
        stacked (one numpy call for all of them), larger ones one by one, each from its table.
        """
        phases = [None] * len(rngs) if phases is None else phases
        if n >= TABLE_TRIALS and len(rngs) > 1:
            return np.vstack([self.blocks([rng], n, [ph]) for rng, ph in
                              zip(rngs, phases, strict=True)])
        d, b = self.dest, len(rngs)
        busy = np.zeros((b, d.size), dtype=bool)  # each block draws its row in place
        drawn = [self._draw_block(rng, n, ph, busy[i])
                 for i, (rng, ph) in enumerate(zip(rngs, phases, strict=True))]
        evictable = None
        if self.evicting:
            evictable = np.vstack([x.evictable for x in drawn if x.evictable is not None])
        held_p = (np.array([[x.held_p] for x in drawn]) if all(np.ndim(x.held_p) == 0 for x in drawn)
                  else _rows([np.broadcast_to(x.held_p, (n,)) for x in drawn]))
        other_rate = (self.other_rate[0] if self.one_other_rate
                      else self.other_rate[_rows([x.cpu for x in drawn if x.cpu is not None])])
        searched = _rows([x.searched for x in drawn])
        pod = _rows([x.pod_slot for x in drawn])
        offsets = _rows([x.offsets for x in drawn])
        free = dist = None
        if b == 1 and (evictable is None or not evictable.any()):
            if not self.shared_start or n >= TABLE_TRIALS:  # the slot law reads free ports
                free = free_virtual(busy)
            if free is not None and n >= TABLE_TRIALS and evictable is None:
                # A3+ searches go on probing: their eviction-zone probes never count in
                # found, evictable or not (spec §5.3, §16.3), which the table does not know
                dist = free_distance(free[0])
        slot, searched, res_found, gave_up, evicted, rover = self._ports(
            busy, evictable, searched, pod, offsets, dist)
        kept = n - searched.sum(axis=1)
        found = res_found.sum(axis=1)
        if d.preserve:  # a held pod port: the used-check counts it
            found += n - kept
        race = np.zeros(b)
        if self.other_rate.max() > 0:
            # 1 - E[(1 - clash / 2) ** J], J ~ Poisson(other rate x (delta + E delta)), averaged
            # over the leader's delta (mc.window), computed in place
            lost_to_race = self._clash_odds(busy, evictable, held_p, slot, rover, free)
            lost_to_race *= 0.5 * other_rate
            self.race_odds(lost_to_race)
            if gave_up.any():
                lost_to_race[gave_up] = 0.0  # already lost to exhaustion
            race = lost_to_race.sum(axis=1)
        closing = np.array([self.evicting and bool(d.closing_share(x.t_s) > 0) for x in drawn])
        lost = gave_up.sum(axis=1)
        return np.column_stack([np.full(b, n), race, lost, lost * closing, found, kept,
                                evicted.sum(axis=1)]).astype(float)

    def _draw_block(self, rng: np.random.Generator, n: int, phase: float | None,
                    row: NDArray[np.bool_] | None = None) -> _Drawn:
        """One block's draws, in order: ``t`` (unless its ``phase`` is given) and the occupancy
        row (into ``row`` when given), the A3+ evictable ports, (the pod-port-held odds, not
        drawn), the leaders' CPUs, then their ports' draws (:meth:`_draw_ports`)."""
        d, p = self.dest, self.plan
        t_s, busy = self._occupancy(rng, phase, row)
        evictable = None
        if self.evicting:
            coin = rng.random(d.size) < 0.5 * float(d.closing_share(t_s))
            evictable = busy & coin
        held_p: float | NDArray[np.float64] = float(d.pod_port_held(t_s)) if d.preserve else 1.0
        cpu = None if self.one_other_rate else rng.choice(self.cpu_p.size, n, p=self.cpu_p)
        if self.trial_times:  # each trial's own time for its pod-port odds
            held_p = d.pod_port_held(rng.uniform(p.warmup_s, p.duration_s, n))
        return _Drawn(t_s, busy, evictable, held_p, cpu,
                      *self._draw_ports(rng, held_p, (n,)))

    def _clash_odds(self, busy: NDArray[np.bool_], evictable: NDArray[np.bool_] | None,
                    held_p: float | NDArray[np.float64], slot: NDArray[np.int64],
                    rover: NDArray[np.int64],
                    free: tuple[NDArray[np.intp], list[NDArray[np.intp]]] | None = None
                    ) -> NDArray[np.float64]:
        """P(one partner NAT takes the leader's window slot ``slot``), given the block's occupancy.

        A partner keeps its pod port with probability ``1 - held_p`` (uniform over the
        ``pod_choices`` candidates) or searches: on A1 without ``--random-fully`` it takes the
        port the rover points at (``rover``, the leader's search slot, spec §4.4 "A1"), else a
        slot of :func:`~snatsim.mc.alloc.slot_law` on the same occupancy (spec §3.2: it does not
        see the leader). Several occupancy rows (stacked blocks): ``slot`` has a row for each,
        ``held_p`` a (rows, 1) column or (rows, trials)."""
        d = self.dest
        rows = busy.shape[0]
        if self.shared_start:
            out: NDArray[np.float64] = (1.0 - held_p) / d.pod_choices * self._candidate[slot]
            out += held_p * (slot == rover)
            return out
        if rows == 1 and np.size(held_p) == 1:  # one table for the block, read once per flow
            self._law = slot_law(busy, a1=self.a1, out=self._law, free=free, evictable=evictable)
            h = float(np.asarray(held_p).reshape(-1)[0])
            table = (1.0 - h) / d.pod_choices * self._candidate[:d.size]
            table += h * self._law[:d.size]
            flows: NDArray[np.float64] = table[slot]
            return flows
        out = (1.0 - held_p) / d.pod_choices * self._candidate[slot]
        for i in range(rows):  # each block's own slot law
            self._law = slot_law(busy[i:i + 1], a1=self.a1, out=self._law, free=free,
                                 evictable=None if evictable is None else evictable[i:i + 1])
            if rows == 1:
                out += held_p * self._law[slot]
            else:
                out[i] += np.asarray(held_p)[i] * self._law[slot[i]]
        return out

    def _occupancy(self, rng: np.random.Generator, phase: float | None = None,
                   row: NDArray[np.bool_] | None = None) -> tuple[float, NDArray[np.bool_]]:
        """A block's time ``t`` (at ``phase`` of the measured window, or uniform in it) and its
        confirmed occupancy: ``Poisson(H(t))`` busy window ports, uniformly placed (row of shape
        (1, size))."""
        d, p = self.dest, self.plan
        t_s = (p.warmup_s + phase * (p.duration_s - p.warmup_s) if phase is not None
               else rng.uniform(p.warmup_s, p.duration_s))
        return t_s, busy_row(rng, d.size, int(rng.poisson(float(d.held(t_s)))), row)

    def _draw_ports(self, rng: np.random.Generator, held_p: float | NDArray[np.float64],
                    shape: tuple[int, ...]
                    ) -> tuple[NDArray[np.bool_], NDArray[np.int64], NDArray[np.uint16]]:
        """Draws of each flow's NAT, in order: searched (the pod port is held), the pod port,
        the search's u16 offsets."""
        d = self.dest
        searched = rng.random(shape) < held_p
        pod_slot = d.pod_lo - d.lo + d.pod_step * rng.integers(0, d.pod_choices, size=shape)
        offsets = u16_offsets(rng, (*shape, self.rounds))
        return searched, pod_slot, offsets

    def _take_ports(self, rng: np.random.Generator, busy: NDArray[np.bool_],
                    evictable: NDArray[np.bool_] | None, held_p: float, shape: tuple[int, ...],
                    dist: NDArray[np.int32] | None = None
                    ) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.int32],
                               NDArray[np.bool_], NDArray[np.bool_], NDArray[np.int64]]:
        """Window slot each flow's NAT takes (:meth:`_ports` on :meth:`_draw_ports`)."""
        return self._ports(busy, evictable, *self._draw_ports(rng, held_p, shape), dist)

    def _ports(self, busy: NDArray[np.bool_], evictable: NDArray[np.bool_] | None,
               searched: NDArray[np.bool_], pod_slot: NDArray[np.int64],
               offsets: NDArray[np.uint16], dist: NDArray[np.int32] | None = None
               ) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.int32],
                          NDArray[np.bool_], NDArray[np.bool_], NDArray[np.int64]]:
        """Window slot each flow's NAT takes: the pod port kept, or the search's choice.

        ``busy`` has one occupancy row, or one per leading row of the flows (stacked blocks).
        ``dist``: the occupancy's :func:`~snatsim.mc.alloc.free_distance` when no port is
        evictable (the search is then read from it, :func:`~snatsim.mc.alloc.search_table`).
        Returns the slot, searched, found, gave_up and evicted flags, and the search's own slot
        (A1 rover: where the rover points after this flow's search, uniform start).
        """
        if dist is not None:
            res = search_table(busy, offsets, dist, a1=self.a1)
        elif self.a1:
            res = search_rover(busy, offsets[..., 0])
        else:
            res = search_rounds(busy, offsets, evictable=evictable)
        search_slot = res.slot.astype(np.int64)
        slot = np.where(searched, search_slot, pod_slot)
        gave_up = searched & res.gave_up
        if evictable is None:  # before A3 a search that did not give up found a free port
            evicted = np.zeros_like(gave_up)
        else:
            taken = (busy[0, res.slot] if busy.shape[0] == 1
                     else np.take_along_axis(busy, search_slot, axis=1))
            evicted = searched & ~res.gave_up & taken
        found = np.where(searched, res.found, 0)
        return slot, searched, found, gave_up, evicted, search_slot


def block_trials(flows: float, base: int = BLOCK_TRIALS, smallest: int | None = None,
                 most: int | None = None) -> int:
    """Trials per block of a stream asked for ``flows`` trials in one call: ``base`` doubled up
    to ``most`` (:data:`MAX_BLOCK_TRIALS`) while the stream keeps :data:`TARGET_BLOCKS` blocks or
    more, or halved down to ``smallest`` (:data:`SMALLEST_BLOCK_TRIALS`) while
    :data:`MIN_BLOCKS` blocks of half the size still hold ``flows`` (the floor of
    :data:`MIN_BLOCKS` blocks then samples about what was asked, not ``MIN_BLOCKS * base``)."""
    most = MAX_BLOCK_TRIALS if most is None else most
    smallest = SMALLEST_BLOCK_TRIALS if smallest is None else smallest
    n = base
    while n < most and 2 * n * TARGET_BLOCKS <= flows:
        n *= 2
    while n > smallest and MIN_BLOCKS * (n // 2) >= flows:
        n //= 2
    return n


def run(steady: SteadyPlan, root: np.random.SeedSequence, trials: int, *,
        after: Tallies | None = None, chunk_trials: int = 1 << 16,
        progress: Callable[[int], None] | None = None,
        split: Sequence[float] | None = None) -> Tallies:
    """Sample about ``trials`` new flows, split over the streams by rate, in whole blocks.

    The streams are the destinations (steady trials, :class:`DestinationSampler`) and the aligned
    workloads (ticks of ``k`` flows, :class:`~snatsim.mc.cluster.ClusterSampler`; stream index
    ``len(destinations) + i`` in the block seeds). ``after``: tallies of an earlier call to extend
    with the next blocks of every stream (``rel_error`` sampling). A stream's blocks hold
    :func:`block_trials` trials (a cluster's: ticks, from :data:`~snatsim.mc.cluster.CLUSTER_BLOCK`
    down to :data:`~snatsim.mc.cluster.SMALLEST_CLUSTER_BLOCK`) of its share of this call's
    ``trials`` (the same seed and trials give the same blocks; a longer call samples larger
    ones, a short one smaller ones). ``split``: each stream's share of ``trials`` instead of its
    share of the rate (``rel_error`` rounds give the streams the variance is in; a later call
    adds no block to a stream whose share is 0). ``chunk_trials`` only sets how many flows are sampled
    between progress calls (memory is one group of blocks at a time); the tallies
    do not depend on it. ``progress(flows_done)`` is called after each chunk.
    """
    from snatsim.mc.cluster import CLUSTER_BLOCK, SMALLEST_CLUSTER_BLOCK, ClusterSampler
    from snatsim.mc.heap import keep_freed_memory
    from snatsim.mc.udp import UdpSampler

    keep_freed_memory()

    if steady.exhaustion is not None:
        from snatsim.mc.exhaustion import run_tallies
        return run_tallies(steady.exhaustion, root, trials, after, progress)
    dests, clusters = steady.destinations, steady.clusters
    rates = [d.rate_per_s for d in dests] + [c.tickers / c.period_s for c in clusters]
    total = sum(rates)
    before = () if after is None else (*after.sums, *after.clusters)
    if split is None:
        shares = [r / total for r in rates] if total > 0 else [1.0 / len(rates)] * len(rates)
    else:
        shares = list(split)
    samplers: list[tuple[Callable[..., NDArray[np.float64]], int]] = []
    for k in range(len(dests)):
        if dests[k].udp:  # UDP keeps blocks of BLOCK_TRIALS, each drawing its own time
            samplers.append((partial(_one_by_one, UdpSampler(steady, k).block, BLOCK_TRIALS),
                             BLOCK_TRIALS))
            continue
        n = block_trials(trials * shares[k])
        n = max(n, int(before[k][-1, 0])) if before else n  # a later call: no smaller blocks
        samplers.append((partial(_phased, DestinationSampler(steady, k).blocks, n, root, k), n))
    for j, c in enumerate(clusters):
        cs = ClusterSampler(steady, c, steady.steering)
        ticks = block_trials(trials * shares[len(dests) + j] / c.tickers if total > 0 else 0,
                             CLUSTER_BLOCK, SMALLEST_CLUSTER_BLOCK, CLUSTER_BLOCK)
        ticks = max(ticks, int(before[len(dests) + j][-1, 0])) if before else ticks
        samplers.append((partial(_unphased, cs.blocks, ticks), ticks * c.tickers))
    left = chunk_trials  # flows left before the next progress call
    done, allocations, out = 0, 0 if after is None else after.allocations, []

    for i, (blocks, flows) in enumerate(samplers):
        first = len(before[i]) if before else 0
        rows = [before[i]] if before else []
        wanted = max(1 if shares[i] > 0 else 0, round(trials * shares[i] / flows),
                     MIN_BLOCKS - first)
        b = first
        while b < first + wanted:  # groups of blocks up to the next progress call
            group = min(first + wanted - b, max(1, -(-left // flows)), GROUP_BLOCKS)
            rows.append(blocks([np.random.default_rng(block_seed(root, i, b + j))
                                for j in range(group)], first=b))
            b += group
            done += group * flows
            allocations += group * flows
            left -= group * flows
            if progress is not None and left <= 0:
                progress(done)
            if left <= 0:
                left = chunk_trials
        out.append(np.vstack(rows))
    if progress is not None:
        progress(done)
    return Tallies(tuple(out[:len(dests)]), allocations, tuple(out[len(dests):]))


def _phased(blocks: Callable[..., NDArray[np.float64]], n: int, root: np.random.SeedSequence,
            dest: int, rngs: list[np.random.Generator], first: int) -> NDArray[np.float64]:
    """``blocks(rngs, n, phases)`` for blocks ``first, first + 1, ...`` of ``dest``, each at its
    :func:`~snatsim.mc.blocks.block_phase`."""
    return blocks(rngs, n, block_phases(root, dest, first, len(rngs)))


def _rows(arrays: Sequence[NDArray[Any]]) -> NDArray[Any]:
    """The blocks' arrays stacked as rows (one block: a view, not a copy)."""
    return arrays[0][None] if len(arrays) == 1 else np.stack(arrays)


def _unphased(blocks: Callable[..., NDArray[np.float64]], n: int,
              rngs: list[np.random.Generator], first: int) -> NDArray[np.float64]:
    """``blocks(rngs, n)``: samplers that draw each tick's (or block's) own time."""
    return blocks(rngs, n)


def _one_by_one(block: Callable[..., NDArray[np.float64]], n: int,
                rngs: list[np.random.Generator], first: int = 0) -> NDArray[np.float64]:
    """Rows of ``block(rng, n=n)`` for each generator (samplers without a stacked version)."""
    return np.vstack([block(rng, n=n) for rng in rngs])
