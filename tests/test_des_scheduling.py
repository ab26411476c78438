"""The node's private scheduling shortcut keeps SimPy's event order exactly.

:meth:`snatsim.des.node.Node.at` schedules through :func:`snatsim.des.schedule.call_at`, which
pushes its events straight onto SimPy's queue instead of going through ``env.schedule`` (the one
place that relies on SimPy internals); these tests pin that it orders events exactly as SimPy orders its own
(time, then priority, then insertion), so SimPy processes and node events interleave correctly.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy
from des_scripts import once, scenario

from snatsim.des.node import Node
from snatsim.des.records import Recorder
from snatsim.des.setup import NodeSetup


def _node(env: simpy.Environment) -> Node:
    sc = scenario(once("one", 1))
    setup = NodeSetup(sc, sc.kernel.profile(), np.random.SeedSequence(1))
    return Node(env, setup, Recorder(sc.simulation.warmup_s), None)


def test_node_events_interleave_with_simpy_timeouts_in_insertion_order() -> None:
    env = simpy.Environment()
    node = _node(env)
    log: list[tuple[str, float]] = []

    def proc(name: str, delay: float) -> Generator[Any, Any, None]:
        yield env.timeout(delay)
        log.append((name, env.now))

    def call(name: str, now: float) -> None:
        log.append((name, now))

    env.process(proc("simpy-1.0-first", 1.0))
    env.run(until=1e-9)  # the process has started: its timeout is queued
    node.at(1.0, call, "node-1.0-second")
    node.at(0.5, call, "node-0.5")
    node.at(-3.0, call, "node-past-runs-now")
    env.process(proc("simpy-1.0-third", 1.0 - env.now))
    node.at(2.0, call, "node-2.0")
    env.run(until=3.0)
    assert log == [
        ("node-past-runs-now", 1e-9),
        ("node-0.5", 0.5),
        ("simpy-1.0-first", 1.0),
        ("node-1.0-second", 1.0),
        ("simpy-1.0-third", 1.0),
        ("node-2.0", 2.0),
    ]


def test_node_event_time_is_simpy_time() -> None:
    env = simpy.Environment()
    node = _node(env)
    seen: list[tuple[float, float]] = []
    node.at(0.25, lambda _arg, now: seen.append((now, env.now)), None)
    env.run(until=1.0)
    assert seen == [(0.25, 0.25)]
