"""``snatsim explain``: a tiny scripted run of the race (or eviction, exhaustion), narrated.

:func:`explain` builds the script for a cause (:mod:`snatsim.explain.scenario`), runs it through
the SimPy model with the trace on, and turns the trace into a :class:`~snatsim.explain.story.Story`
(:mod:`snatsim.explain.story`): every narrated fact comes from that trace.
"""

from __future__ import annotations

from typing import Any

from snatsim.errors import ConfigError
from snatsim.explain.scenario import CAUSES, MITIGATIONS, MODES, SEED, build, describe
from snatsim.explain.story import Story, narrate

__all__ = ["CAUSES", "MODES", "Story", "explain"]


def explain(kernel: str = "4.14", mode: str = "default", cause: str = "race",
            seed: int = SEED, *, mitigations: bool = True) -> Story:
    """Run the script for ``cause`` on ``kernel`` with the rule's ``mode`` and narrate it.

    With ``mitigations`` the same script is replayed with each mitigation of
    :data:`~snatsim.explain.scenario.MITIGATIONS` (``--random-fully``, one CPU, a wider window)
    and :attr:`Story.mitigations` says what each changed, from its own trace.

    Raises
    ------
    ConfigError
        For an unknown mode or cause (the kernel version is checked by the scenario schema).
    """
    for name, value, allowed in (("mode", mode, MODES), ("cause", cause, CAUSES)):
        if value not in allowed:
            raise ConfigError(name, f"unknown {name} {value!r}; use one of {', '.join(allowed)}")
    story = _tell(kernel, mode, cause, seed, {})
    if mitigations:
        for label, changes in MITIGATIONS[cause]:
            if changes.get("mode") == mode:
                continue  # the story already runs with this flag
            other = _tell(kernel, changes.get("mode", mode), cause, seed, changes)
            story.mitigations.append({"mitigation": label, **other.outcome()})
    return story


def _tell(kernel: str, mode: str, cause: str, seed: int, changes: dict[str, Any]) -> Story:
    """One scripted run, narrated."""
    from snatsim.des import Trace
    from snatsim.results import simulate

    knobs = {k: v for k, v in changes.items() if k != "mode"}
    scenario = build(kernel, mode, cause, seed, **knobs)
    trace = Trace(keep=True)
    simulate(scenario, trace=trace)
    return narrate(scenario, trace.records, kernel=kernel, mode=mode, cause=cause,
                   seed=seed, setup=describe(cause))
