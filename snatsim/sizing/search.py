"""The search: bracket, bisect on a log scale with common random numbers, say what binds."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from snatsim.errors import ConfigError
from snatsim.sizing.axes import Axis, axis, exhaustion_bound, midpoint
from snatsim.sizing.budget import Budget, BudgetExhausted
from snatsim.sizing.evaluators import CONFIDENCE, Evaluation, Evaluator, make_evaluator

if TYPE_CHECKING:
    from snatsim.config import Scenario
    from snatsim.rng import SeedLike


@dataclass
class CapacityAnswer:
    """The edge of the target on one key, for one scenario (kernel, flags). See :func:`capacity`.

    ``status`` is ``"found"`` (``value`` met the target, ``edge`` surely missed it: the capacity
    lies in ``[value, edge]``), ``"met-everywhere"`` (``value`` is the riskiest value tried: the
    capacity is beyond it), ``"met-nowhere"`` (``value`` is None; the safest value tried is
    ``points[...]``'s safest) or ``"budget"`` (stopped by the :class:`Budget` before settling:
    ``value`` is the riskiest value that met the target so far, ``edge`` the safest that did not,
    either None when there is none; ``stopped`` says which limit, at which value).
    """

    vary: str
    unit: str
    higher_is_worse: bool
    max_delayed: float
    kernel: str
    method: str
    status: str
    value: float | None
    edge: float | None
    binding_cause: str | None
    exhaustion_bound: float | None
    current: float
    points: list[tuple[float, Evaluation]]
    seed: int
    show: Callable[[float], str] = field(repr=False)
    stopped: BudgetExhausted | None = None
    stopped_at: float | None = None  # the value whose evaluation the budget refused
    spent: dict[str, float] = field(default_factory=dict)  # evaluations, connects, wall_s

    def at(self, value: float) -> Evaluation:
        """The evaluation made at ``value``."""
        return dict(self.points)[value]

    def message(self) -> str:
        """The answer in one paragraph, plainly."""
        target = f"{self.max_delayed:.3g}"
        word = "largest" if self.higher_is_worse else "fewest" if self.vary == "nat.to_source" \
            else "smallest"
        cause = {None: "no SYN was dropped (delays come from elsewhere)",
                 "table_full": "the conntrack table is full"}.get(
            self.binding_cause, f"{self.binding_cause} drops most SYNs")
        bound = ("none inside the range searched" if self.exhaustion_bound is None
                 else self.show(self.exhaustion_bound))
        head = f"kernel {self.kernel} ({self.method}): "
        if self.status == "budget":
            return head + self._budget_message(target, word, cause) + f" Exhaustion bound: {bound}."
        if self.status == "met-nowhere":
            safest = self.points[0 if self.higher_is_worse else -1]
            return (f"{head}the target (delayed >= 1 s or failed < {target}) is met at none of "
                    f"the values tried: even at {self.show(safest[0])} "
                    f"{_share(safest[1])} are delayed; {cause} there. "
                    f"Exhaustion bound: {bound}.")
        assert self.value is not None
        here = _share(self.at(self.value))
        if self.status == "met-everywhere":
            return (f"{head}the target (< {target}) is met at every value tried, up to "
                    f"{self.show(self.value)} ({here} delayed): the {word} {self.vary} that "
                    f"keeps it lies beyond. Exhaustion bound: {bound}.")
        assert self.edge is not None
        return (f"{head}{self.vary} {self.show(self.value)} is the {word} tried that keeps "
                f"connects delayed >= 1 s or failed under {target} ({here}); the edge lies "
                f"between {self.show(self.value)} and {self.show(self.edge)} (where "
                f"{_share(self.at(self.edge))}). Beyond it {cause}. Exhaustion bound: {bound}.")

    def _budget_message(self, target: str, word: str, cause: str) -> str:
        """What a search stopped by its budget established, and how to go further."""
        assert self.stopped is not None
        at = "" if self.stopped_at is None else f" of {self.show(self.stopped_at)}"
        out = f"stopped by the budget before settling the edge, at the evaluation{at} " \
              f"({self.stopped.reason}). So far "
        if self.value is not None and self.edge is not None:
            out += (f"the target (delayed >= 1 s or failed < {target}) is met at "
                    f"{self.show(self.value)} ({_share(self.at(self.value))}) and not at "
                    f"{self.show(self.edge)} ({_share(self.at(self.edge))}): the {word} "
                    f"{self.vary} lies between them; {cause} at {self.show(self.edge)}.")
        elif self.value is not None:
            out += (f"the target (< {target}) is met at every value tried, up to "
                    f"{self.show(self.value)} ({_share(self.at(self.value))}): the {word} "
                    f"{self.vary} that keeps it is there or beyond.")
        elif self.edge is not None:
            out += (f"the target (< {target}) is met at none of the values tried: at "
                    f"{self.show(self.edge)} {_share(self.at(self.edge))} are delayed; {cause} "
                    "there.")
        else:
            out += "nothing was evaluated."
        how = {"--max-connects": "raise --max-connects (a SimPy evaluation simulates about rate "
                                 "x (steady warm-up + measured time), or --connects fewer)",
               "--budget-s": "raise --budget-s",
               "--max-evaluations": "raise --max-evaluations"}.get(self.stopped.flag,
                                                                   self.stopped.flag)
        return out + f" To go further: {how}."

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "vary": self.vary, "kernel": self.kernel, "method": self.method,
            "max_delayed": self.max_delayed, "confidence": CONFIDENCE, "status": self.status,
            "value": self.value, "interval": None if self.value is None else
            [self.value, self.edge] if self.higher_is_worse else [self.edge, self.value],
            "binding_cause": self.binding_cause, "exhaustion_bound": self.exhaustion_bound,
            "current": self.current, "seed": self.seed, "message": self.message(),
            "stopped": None if self.stopped is None else {
                "option": self.stopped.flag, "reason": self.stopped.reason,
                "at": self.stopped_at},
            "spent": self.spent,
            "points": [{"value": x, **e._asdict()} for x, e in self.points],
        }


def _share(e: Evaluation) -> str:
    """``"0.12 % [0.09, 0.15]"``."""
    return f"{100 * e.fraction:.3g} % [{100 * e.lo:.3g}, {100 * e.hi:.3g}]"


def check_request(scenario: Scenario, max_delayed: float, vary: str) -> Axis:
    """The :class:`Axis` of ``vary``; ConfigError (naming the option) for a bad target or key."""
    if not 0.0 < max_delayed < 1.0:
        raise ConfigError("--max-delayed", f"{max_delayed:g} is not a fraction in (0, 1); "
                          "e.g. --max-delayed 1e-3 for one connect in 1,000")
    return axis(scenario, vary)


def capacity(scenario: Scenario, *, max_delayed: float = 1e-3,
             vary: str = "workload.0.rate_per_s", rng: SeedLike = None,
             evaluator: Evaluator | None = None, rel_tol: float = 0.05,
             max_steps: int = 4, budget: Budget | None = None,
             clock: Callable[[], float] = time.monotonic,
             progress: Callable[[str, Evaluation], None] | None = None) -> CapacityAnswer:
    """The edge of ``max_delayed`` on ``vary`` (see the module docstring and docs/capacity.md).

    Parameters
    ----------
    scenario:
        A validated scenario (:func:`snatsim.load_scenario`).
    max_delayed:
        Target: fraction of connects delayed >= 1 s or failed, in (0, 1).
    vary:
        One of :data:`VARY_KEYS` (``N`` a workload index with a Poisson rate).
    rng:
        Seed of every evaluation (common random numbers); None: ``simulation.seed``.
    evaluator:
        ``(scenario, rng, meter) -> Evaluation``; default
        :func:`~snatsim.sizing.evaluators.make_evaluator` (Monte Carlo where it can be trusted,
        else the DES).
    rel_tol:
        Stop bisecting when the two sides are within this ratio (integers: adjacent).
    max_steps:
        Factor-10 steps tried from the analytic bracket before saying "met everywhere/nowhere".
    budget:
        Evaluations, simulated connects per SimPy evaluation and wall seconds this answer may
        spend (default :class:`~snatsim.sizing.budget.Budget`); at a limit the search stops
        with status ``"budget"`` and what it established.
    clock:
        Where the wall budget's seconds come from (tests give a scripted clock).
    progress:
        Called as ``progress(shown_value, evaluation)`` after each evaluation.
    """
    ax = check_request(scenario, max_delayed, vary)
    evaluate = evaluator or make_evaluator()
    meter = (budget or Budget()).meter(clock)
    seed = _seed(scenario, rng)
    points: dict[float, Evaluation] = {}

    def run(x: float) -> Evaluation:
        if x not in points:
            try:
                meter.before_evaluation()
                points[x] = evaluate(ax.set_value(scenario, x), seed, meter)
                meter.finished()
            except BudgetExhausted as exc:
                raise _Stopped(x, exc) from None
            if progress is not None:
                progress(ax.show(x), points[x])
        return points[x]

    def meets(x: float) -> bool:
        return run(x).hi < max_delayed

    bound = exhaustion_bound(scenario, ax, max_delayed)
    stopped: _Stopped | None = None
    try:
        safe, risky = _bracket(ax, bound if bound is not None else ax.current, meets, max_steps)
        status = "met-everywhere" if risky is None else "met-nowhere" if safe is None else "found"
        edge = None
        if safe is not None and risky is not None:
            while (mid := midpoint(ax, safe, risky, rel_tol)) is not None:
                safe, risky = (mid, risky) if meets(mid) else (safe, mid)
            edge = _sure_miss(ax, safe, risky, points, run, max_delayed, rel_tol, max_steps)
    except _Stopped as exc:
        stopped, status = exc, "budget"
        safe, edge = _so_far(ax, points, max_delayed)
        risky = edge
    cause = _binding_cause(risky if risky is not None else safe, edge, points)
    ordered = sorted(points.items())
    return CapacityAnswer(
        vary=vary, unit=ax.unit, higher_is_worse=ax.higher_is_worse, max_delayed=max_delayed,
        kernel=scenario.kernel.version,
        method="+".join(sorted({e.method or getattr(evaluate, "method", "custom")
                                for _, e in ordered})) or getattr(evaluate, "method", "custom"),
        status=status, value=safe, edge=edge, binding_cause=cause, exhaustion_bound=bound,
        current=ax.current, points=ordered, seed=seed, show=ax.show,
        stopped=None if stopped is None else stopped.why,
        stopped_at=None if stopped is None else stopped.value,
        spent={"evaluations": meter.evaluations, "connects": meter.connects,
               "wall_s": round(meter.elapsed_s(), 3)})


class _Stopped(Exception):
    """The budget refused the evaluation at ``value`` (internal to :func:`capacity`)."""

    def __init__(self, value: float, why: BudgetExhausted) -> None:
        super().__init__(value, why)
        self.value, self.why = value, why


def _seed(scenario: Scenario, rng: SeedLike) -> int:
    """One integer seed for every evaluation (common random numbers)."""
    import numpy as np

    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63))
    if isinstance(rng, np.random.SeedSequence):
        return int(rng.generate_state(1, np.uint64)[0])
    chosen = rng if rng is not None else scenario.simulation.seed
    if chosen is not None:
        return int(chosen)
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0])


def _so_far(ax: Axis, points: dict[float, Evaluation], max_delayed: float
            ) -> tuple[float | None, float | None]:
    """``(riskiest value that met the target, safest riskier value that did not)`` so far."""
    met = [x for x, e in points.items() if e.hi < max_delayed]
    safe = (max(met) if ax.higher_is_worse else min(met)) if met else None
    missed = [x for x, e in points.items() if not e.hi < max_delayed
              and (safe is None or ax.is_safer(safe, x))]
    risky = (min(missed) if ax.higher_is_worse else max(missed)) if missed else None
    return safe, risky


def _binding_cause(decisive: float | None, edge: float | None,
                   points: dict[float, Evaluation]) -> str | None:
    """The cause of most drops at ``decisive`` (else at ``edge``)."""
    cause = points[decisive].binding_cause if decisive is not None else None
    if cause is None and edge is not None:
        cause = points[edge].binding_cause
    return cause


def _bracket(ax: Axis, start: float, meets: Callable[[float], bool],
             max_steps: int) -> tuple[float | None, float | None]:
    """``(safe, risky)``: a value meeting the target and a riskier one missing it, found by
    factor-10 steps from ``start``; None for a side no step reached (domain edge or max_steps)."""
    start = ax.clip(start)
    if meets(start):
        safe = start
        for _ in range(max_steps):
            step = ax.riskier(safe, 10.0)
            if step == safe:
                break
            if not meets(step):
                return safe, step
            safe = step
        return safe, None
    risky = start
    for _ in range(max_steps):
        step = ax.safer(risky, 10.0)
        if step == risky:
            break
        if meets(step):
            return step, risky
        risky = step
    return None, risky


def _sure_miss(ax: Axis, safe: float, risky: float, points: dict[float, Evaluation],
               run: Callable[[float], Evaluation], max_delayed: float, rel_tol: float,
               max_steps: int) -> float | None:
    """The safest value (riskier than ``safe``) whose interval lies wholly above the target:
    the far end of the answer's interval. None when no step found one."""
    def sure(x: float) -> bool:
        return run(x).lo > max_delayed

    beyond = [x for x in points if ax.is_safer(safe, x)]
    hits = [x for x in beyond if sure(x)]
    if not hits:
        far = max(beyond) if ax.higher_is_worse else min(beyond)
        for _ in range(max_steps):
            step = ax.riskier(far, 10.0)
            if step == far:
                return None
            far = step
            if sure(far):
                hits = [far]
                break
        else:
            return None
    edge = min(hits) if ax.higher_is_worse else max(hits)
    near = [x for x in points if ax.is_safer(x, edge) and not ax.is_safer(x, risky)
            and not sure(x)]
    low = (max(near) if ax.higher_is_worse else min(near)) if near else risky
    while (mid := midpoint(ax, low, edge, rel_tol)) is not None:
        low, edge = (low, mid) if sure(mid) else (mid, edge)
    return edge
