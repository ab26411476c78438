"""``snatsim explain``: a tiny scripted run of the race (or eviction, exhaustion), narrated.

:func:`explain` builds the script for a cause (:mod:`snatsim.explain.scenario`), runs it through
the SimPy model with the trace on, and turns the trace into a :class:`~snatsim.explain.story.Story`
(:mod:`snatsim.explain.story`): every narrated fact comes from that trace.
"""

from __future__ import annotations

from snatsim.errors import ConfigError
from snatsim.explain.scenario import CAUSES, MODES, SEED, build, describe
from snatsim.explain.story import Story, narrate

__all__ = ["CAUSES", "MODES", "Story", "explain"]


def explain(kernel: str = "4.14", mode: str = "default", cause: str = "race",
            seed: int = SEED) -> Story:
    """Run the script for ``cause`` on ``kernel`` with the rule's ``mode`` and narrate it.

    Raises
    ------
    ConfigError
        For an unknown mode or cause (the kernel version is checked by the scenario schema).
    """
    for name, value, allowed in (("mode", mode, MODES), ("cause", cause, CAUSES)):
        if value not in allowed:
            raise ConfigError(name, f"unknown {name} {value!r}; use one of {', '.join(allowed)}")
    from snatsim.des import Trace
    from snatsim.results import simulate

    scenario = build(kernel, mode, cause, seed)
    trace = Trace(keep=True)
    simulate(scenario, trace=trace)
    return narrate(scenario, trace.records, kernel=kernel, mode=mode, cause=cause,
                   seed=seed, setup=describe(cause))
