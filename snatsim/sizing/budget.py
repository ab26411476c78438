"""What one capacity answer may spend: evaluations, simulated connects per evaluation, wall time.

A search whose next evaluation would cost more than the budget stops there and answers with what
it has established (:attr:`CapacityAnswer.status` ``"budget"``): the riskiest value that met the
target and the safest that did not, and which limit stopped it. Nothing here changes an
evaluation's figures; the budget only decides whether it runs (or is abandoned part-way).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from snatsim.errors import ConfigError, SnatsimError

__all__ = ["Budget", "BudgetExhausted", "BudgetMeter"]

DEFAULT_WALL_S = 600.0
"""Wall seconds per answer by default: ten minutes, then the answer says what it has."""
IN_RUN_SLACK = 1.1
"""A SimPy run predicted under ``max_connects`` is abandoned only past this multiple of it (the
prediction is a mean: a Poisson count may exceed it a little). A run whose rate is not known
beforehand (closed loop) is held to the same limit."""


class BudgetExhausted(SnatsimError):
    """The next evaluation (or the one running) would exceed the budget; ``reason`` says which
    limit and ``flag`` the option that raises it."""

    def __init__(self, flag: str, reason: str) -> None:
        self.flag, self.reason = flag, reason
        super().__init__(f"{flag}: {reason}")


@dataclass(frozen=True)
class Budget:
    """Limits of one capacity answer (one kernel).

    Parameters
    ----------
    max_evaluations:
        Evaluations (values tried) in all.
    max_connects:
        Simulated connects per SimPy evaluation, warm-up included (its cost: about rate x
        duration). An evaluation predicted above it is not run; one that passes
        :data:`IN_RUN_SLACK` times it is abandoned. Monte Carlo evaluations cost their fixed
        number of trials and are not counted against it.
    wall_s:
        Wall seconds for the whole answer; an evaluation still running when they are up is
        abandoned. None: no limit.
    """

    max_evaluations: int = 40
    max_connects: int = 1_000_000
    wall_s: float | None = DEFAULT_WALL_S

    def __post_init__(self) -> None:
        if self.max_evaluations < 1:
            raise ConfigError("--max-evaluations", f"{self.max_evaluations} is not a number of "
                              "evaluations; give 1 or more (e.g. 40)")
        if self.max_connects < 1:
            raise ConfigError("--max-connects", f"{self.max_connects} is not a number of "
                              "connects; give 1 or more (e.g. 1000000)")
        if self.wall_s is not None and not self.wall_s > 0:
            raise ConfigError("--budget-s", f"{self.wall_s:g} is not a number of seconds; "
                              "give more than 0 (e.g. 600)")

    def meter(self, clock: Callable[[], float] = time.monotonic) -> BudgetMeter:
        """A fresh meter of this budget, its wall time counted from now on ``clock``."""
        return BudgetMeter(self, clock, clock())


@dataclass
class BudgetMeter:
    """What one answer has spent so far; raises :class:`BudgetExhausted` at a limit."""

    budget: Budget
    clock: Callable[[], float] = field(repr=False)
    start: float
    evaluations: int = 0
    connects: int = 0  # simulated by SimPy evaluations (warm-up included)

    def elapsed_s(self) -> float:
        """Wall seconds since the meter started."""
        return self.clock() - self.start

    def check_time(self, running: bool = False) -> None:
        """Raise when the wall budget is used up (``running``: by an evaluation in progress)."""
        wall_s = self.budget.wall_s
        if wall_s is not None and self.elapsed_s() > wall_s:
            raise BudgetExhausted("--budget-s", f"the {wall_s:g} s of wall time ran out "
                                  + ("while it ran: abandoned" if running else "before it"))

    def before_evaluation(self) -> None:
        """Raise when no evaluation may start (count or time used up)."""
        if self.evaluations >= self.budget.max_evaluations:
            raise BudgetExhausted("--max-evaluations", f"{self.evaluations} evaluations were made, "
                                  f"the most allowed")
        self.check_time()

    def admit_connects(self, predicted: float | None) -> None:
        """Raise when a SimPy run is predicted to simulate more than ``max_connects``."""
        if predicted is not None and predicted > self.budget.max_connects:
            raise BudgetExhausted("--max-connects", f"it would simulate ~{predicted:,.0f} "
                                  f"connects (warm-up included), over {self.budget.max_connects:,}")

    def watch_run(self, _simulated_s: float, _duration_s: float, started: int) -> None:
        """A :func:`snatsim.simulate` progress callback that abandons a run past the budget."""
        limit = IN_RUN_SLACK * self.budget.max_connects
        if started > limit:
            raise BudgetExhausted("--max-connects", f"it passed {limit:,.0f} simulated connects "
                                  f"and was abandoned (limit {self.budget.max_connects:,})")
        self.check_time(running=True)

    def watch_trials(self, _done: int, _planned: int) -> None:
        """A :func:`snatsim.estimate` progress callback that abandons it when time is up."""
        self.check_time(running=True)

    def simulated(self, connects: int) -> None:
        """Count the connects a finished SimPy run simulated (its evaluator calls this)."""
        self.connects += connects

    def finished(self) -> None:
        """Count one finished evaluation (the search calls this)."""
        self.evaluations += 1
