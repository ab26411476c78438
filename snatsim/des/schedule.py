"""Timed callbacks on a SimPy environment: the one module that relies on SimPy internals.

The model schedules millions of "call ``fn(arg, t)`` at time ``t``" steps. Doing that through the
public API (``env.timeout(delay)`` plus an appended callback, or an ``Event`` passed to
``env.schedule``) builds a full SimPy event each time; measured with
``benchmarks/instructions.py`` that costs more instructions per simulated connection
(benchmarks/README.md, "SimPy's public API"). So :func:`call_at` keeps a shortcut, and this file
is the only place that has one:

* the event is created without ``Event.__init__`` and carries its callback in one list shared by
  every such event (SimPy's ``Environment.step`` only iterates ``callbacks`` and then drops the
  reference, and nothing else ever appends to these private events);
* it is pushed on ``env._queue`` as ``(t, NORMAL, next(env._eid), event)``, exactly the entry
  ``env.schedule(event, NORMAL, delay)`` would push, so events interleave with SimPy's own by
  (time, priority, insertion order).

``tests/test_des_scheduling.py`` pins both against SimPy's own semantics; if a SimPy release
changes these internals, that test fails (the pin ``simpy>=4.1,<5`` is in ``pyproject.toml``).
Everything else (the clock, "what is due next") goes through the public ``env.now`` and
``env.peek()``.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import Any

import simpy
from simpy.events import NORMAL, Event

Handler = Callable[[Any, float], None]


class _Call(Event):
    """An event that calls ``fn(arg, t)`` when SimPy processes it (see the module docstring)."""

    fn: Handler
    arg: Any
    t: float


def _fire(event: _Call) -> None:
    event.fn(event.arg, event.t)


_FIRE: list[Callable[[Any], None]] = [_fire]  # shared, never appended to (see above)
_new_call = object.__new__


def call_at(env: simpy.Environment, t_s: float, fn: Handler, arg: Any) -> None:
    """Call ``fn(arg, t_s)`` at simulated time ``t_s`` (``t_s`` must not be before ``env.now``).

    Ordered among all of ``env``'s events as ``env.schedule(event, NORMAL, t_s - env.now)``.
    """
    ev = _new_call(_Call)
    ev.env = env
    ev.callbacks = _FIRE
    ev._ok = True
    ev._value = None
    ev.fn = fn
    ev.arg = arg
    ev.t = t_s
    heappush(env._queue, (t_s, NORMAL, next(env._eid), ev))
