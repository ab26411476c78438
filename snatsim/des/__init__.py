"""The SimPy model of one node (the only package that imports simpy).

:func:`run` simulates a :class:`~snatsim.config.Scenario` and returns its raw
:class:`~snatsim.rundata.RunData`; users call :func:`snatsim.simulate`, which wraps that in a
:class:`~snatsim.results.SimulationResult`. See :mod:`snatsim.des.node` for the packet path and
its documented approximations, :mod:`snatsim.des.workloads` for the arrival processes.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import numpy as np
import simpy

from snatsim.config import Scenario
from snatsim.des import workloads
from snatsim.des.node import Node
from snatsim.des.records import Recorder
from snatsim.des.setup import NodeSetup
from snatsim.des.trace import Trace
from snatsim.kernel.conntrack import ConntrackStats
from snatsim.rng import SeedLike
from snatsim.rundata import RunData, destination_label, rows_cap

__all__ = ["Trace", "run"]

SAMPLE_EVERY_S = 1.0
DRAIN_MARGIN_S = 10.0


def _seed_sequence(scenario: Scenario, rng: SeedLike) -> tuple[np.random.SeedSequence, int | None]:
    """The run's root SeedSequence and the integer seed to record (None if none was given)."""
    if rng is None:
        seed = scenario.simulation.seed
        return np.random.SeedSequence(seed), seed
    if isinstance(rng, np.random.SeedSequence):
        return rng, None
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(int(rng.integers(0, 2**63))), None
    return np.random.SeedSequence(int(rng)), int(rng)


def drain_horizon_s(scenario: Scenario, syn_give_up_s: float) -> float:
    """How long after the end a connection started just before it can take to resolve its connect.

    TCP: the SYN schedule's give-up time (spec §9) or the app's ``connect_timeout_s`` if shorter;
    UDP: every resolver try (``attempts × retry_timeout_s``, spec §12). Ten seconds are added
    for the last answer's round trip and queued packets.
    """
    horizon = 0.0
    for w in scenario.workload:
        if w.protocol == "tcp":
            budget = syn_give_up_s
            if w.connect_timeout_s is not None:
                budget = min(budget, w.connect_timeout_s)
        else:
            budget = w.attempts * w.retry_timeout_s
        horizon = max(horizon, budget)
    return horizon + DRAIN_MARGIN_S


def _drain(env: simpy.Environment, recorder: Recorder, until_s: float) -> None:
    """Run on, a second at a time, until every measured connect has resolved or ``until_s``."""
    while env.now < until_s and recorder.unresolved():
        env.run(until=min(env.now + 1.0, until_s))


def run(
    scenario: Scenario,
    rng: SeedLike = None,
    *,
    trace: Trace | IO[str] | str | Path | None = None,
    progress: Callable[[float, float, int], None] | None = None,
    rows: bool | int | str = False,
    sample_every_s: float = SAMPLE_EVERY_S,
    inline_confirm: bool = True,
    faithful_walk: bool = False,
) -> RunData:
    """Simulate ``scenario`` with the SimPy model and return the raw run data.

    The parameters are those of :func:`snatsim.simulate`, which wraps this in a
    :class:`~snatsim.results.SimulationResult`. ``sample_every_s`` spaces the samples of the
    per-second series (the results' series assume 1 s; other values exist so that tests can show
    that sampling is only an observer: rows and counters do not depend on it).
    ``inline_confirm=False`` schedules every confirm as an event instead of running it inline
    when nothing is due first (see :mod:`snatsim.des.node`); results are identical, only slower.
    ``progress(simulated_s, duration_s, connections_started)`` is called by the per-second sample
    (an observer: the hot path is the same with or without it).
    ``faithful_walk=True`` makes the A1 search probe every port one by one, as the kernel does,
    instead of jumping over busy ports (:mod:`snatsim.kernel.freeport`): identical results, but an
    exhausted 64,512-port window costs 64,511 probes per SYN.

    The conntrack GC worker runs on its own cadence, ``conntrack.gc_interval_s`` (default 1 s,
    see :class:`~snatsim.config.ConntrackConfig`): expired entries are invisible to lookups at
    once (spec §5.1), but they count towards ``nf_conntrack_max`` (early drop, table full; spec
    §10) until a GC pass collects them.
    """
    cap = rows_cap(rows)
    ss, seed = _seed_sequence(scenario, rng)
    profile = scenario.kernel.profile()
    setup = NodeSetup(scenario, profile, ss)
    setup.allocator.faithful = faithful_walk
    env = simpy.Environment()
    recorder = Recorder(setup.warmup_s, [w.name for w in scenario.workload], cap)
    own_file: IO[str] | None = None
    if isinstance(trace, str | Path):
        own_file = open(trace, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        tracer: Trace | None = Trace(own_file, keep=False)
    elif trace is None or isinstance(trace, Trace):
        tracer = trace
    else:
        tracer = Trace(trace, keep=False)
    node = Node(env, setup, recorder, tracer, inline_confirm=inline_confirm)
    for wl in setup.workloads:
        workloads.start(node, wl)

    table = setup.table
    series = recorder.series
    at_warmup = ConntrackStats()
    evicted_at_warmup = 0

    gc_every_s = scenario.conntrack.gc_interval_s
    next_gc_s = gc_every_s
    gc_until_s = setup.duration_s  # moved to the end of the drain once arrivals stop
    sampling = True

    def collect(_: object, now: float) -> None:
        nonlocal next_gc_s
        table.gc(now)
        next_gc_s = now + gc_every_s
        if next_gc_s <= gc_until_s + 1e-9:
            node.at(next_gc_s, collect, None)

    def sample(_: object, now: float) -> None:
        if not sampling:
            return  # a sample due exactly at the end, taken already
        series.conntrack_entries.append(len(table))
        biggest = 0
        for key, n in table.destinations().items():
            label = destination_label(key)
            col = series.ports_in_use.setdefault(label, [])
            col.extend([0] * (len(series.conntrack_entries) - 1 - len(col)))
            col.append(n)
            biggest = max(biggest, n)
        series.max_ports_in_use.append(biggest)
        if progress is not None:
            progress(now, setup.duration_s, node.connections_started)
        if now + sample_every_s <= setup.duration_s + 1e-9:
            node.at(now + sample_every_s, sample, None)

    def snapshot(_: object, now: float) -> None:
        nonlocal evicted_at_warmup
        for name, value in table.stats.as_dict().items():
            setattr(at_warmup, name, value)
        evicted_at_warmup = setup.allocator.evicted

    if setup.warmup_s > 0:
        node.at(setup.warmup_s, snapshot, None)
    # a GC pass and a sample due at the same time run in this order (the sample sees the table
    # just collected): both reschedule themselves in turn, so nothing can fall between them
    node.at(gc_every_s, collect, None)
    node.at(sample_every_s, sample, None)

    started = time.perf_counter()
    # The model creates no reference cycles on its hot path, so the cyclic collector only burns
    # time traversing live objects (~25 % of a run); it is switched off for the run and restored.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        env.run(until=setup.duration_s)
        # SimPy stops before events due exactly at `until`: run the GC pass and the sample due then
        if next_gc_s <= setup.duration_s + 1e-9:
            table.gc(setup.duration_s)
        if len(series.conntrack_entries) < int(setup.duration_s / sample_every_s + 1e-9):
            sample(None, setup.duration_s)
        sampling = False
        # the drain: no new arrivals; connections already started are followed to their end
        node.accepting = False
        if scenario.simulation.drain:
            gc_until_s = setup.duration_s + drain_horizon_s(scenario, setup.syn_schedule.give_up_s)
            _drain(env, recorder, gc_until_s)
    finally:
        if gc_was_enabled:
            gc.enable()
        if own_file is not None:
            own_file.close()
    wall_s = time.perf_counter() - started
    recorder.close_run()
    total = table.stats.as_dict()
    window = {k: v - getattr(at_warmup, k) for k, v in total.items()}
    n_seconds = len(series.conntrack_entries)
    for col in series.ports_in_use.values():
        col.extend([0] * (n_seconds - len(col)))
    for name in ("new_connections", "syn_drops", "query_drops"):
        col = getattr(series, name)
        del col[n_seconds:]
        col.extend([0] * (n_seconds - len(col)))
    return RunData(
        scenario=scenario,
        profile=profile.to_dict(),
        counters=window,
        counters_total=total,
        packets_sent=dict(recorder.sent),
        packets_dropped=dict(recorder.lost),
        drop_causes=dict(recorder.drop_causes),
        stats=recorder.stats,
        rows=recorder.rows,
        rows_cap=cap,
        rows_omitted=recorder.rows_omitted,
        time_wait_evicted=setup.allocator.evicted - evicted_at_warmup,
        series=series,
        seed=seed,
        seed_sequence=ss,
        wall_s=wall_s,
        trace=tracer.records if tracer is not None and tracer.keep else None,
    )
