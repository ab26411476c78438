"""Evaluators: ``(scenario, rng) -> Evaluation``, the delayed fraction with its interval."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from snatsim.errors import ConfigError
from snatsim.sizing.axes import replace_values

if TYPE_CHECKING:
    from snatsim.config import Scenario
    from snatsim.rng import SeedLike

CAUSES = ("race", "eviction", "exhaustion", "table_full")
"""Why SYNs were dropped, as ``summary()["drops"]`` counts them: the limit that binds."""
CONFIDENCE = 0.95
"""Two-sided level of every evaluation's interval (meets: its upper end is below the target)."""

class Evaluation(NamedTuple):
    """One estimate of the delayed fraction (>= 1 s or failed) at one value."""

    fraction: float
    lo: float  # 95 % interval
    hi: float
    binding_cause: str | None  # the cause of most SYN drops (CAUSES), None without drops
    connects: int = 0  # connects the estimate rests on


class Evaluator(Protocol):
    """``(scenario, rng) -> Evaluation``: an estimate of the delayed fraction of one scenario."""

    method: str

    def __call__(self, scenario: Scenario, rng: SeedLike) -> Evaluation: ...


def evaluation_from_summary(summary: dict[str, Any]) -> Evaluation:
    """Read an :class:`Evaluation` from a ``summary()`` (the keys are the same for every engine)."""
    fraction = summary["delayed_fraction"]["ge_1s"]
    ci = summary["delayed_fraction_ci95"]["ge_1s"]
    drops = {c: summary["drops"].get(c, 0) for c in CAUSES}
    cause = max(CAUSES, key=lambda c: drops[c]) if any(drops.values()) else None
    connects = summary["delayed_counts"]["of"]
    if fraction is None or ci is None:  # nothing measured: undecided at every target
        return Evaluation(math.nan, 0.0, 1.0, cause, 0)
    return Evaluation(float(fraction), float(ci[0]), float(ci[1]), cause, int(connects))


@dataclass
class SimulateEvaluator:
    """The SimPy model (:func:`snatsim.simulate`), run long enough for about ``connects``
    measured connects after the scenario's own warm-up (its ``duration_s`` when the rate is
    unknown, e.g. closed loop)."""

    connects: int = 40_000
    min_measured_s: float = 10.0
    method: str = "des"

    def __call__(self, scenario: Scenario, rng: SeedLike) -> Evaluation:
        from snatsim.config_limits import MAX_DURATION_S, MAX_EXPECTED_CONNECTIONS
        from snatsim.results import simulate

        rates = [w.mean_rate_per_s() for w in scenario.workload]
        sim = scenario.simulation
        if all(r is not None for r in rates):
            rate = sum(r for r in rates if r is not None)
            measured_s = max(self.min_measured_s, self.connects / rate)
            duration_s = min(sim.warmup_s + measured_s, MAX_DURATION_S,
                             0.99 * MAX_EXPECTED_CONNECTIONS / rate)
            scenario = replace_values(scenario, {"simulation": {"duration_s": duration_s}})
        return evaluation_from_summary(simulate(scenario, rng).summary())


@dataclass
class EstimateEvaluator:
    """The Monte Carlo engine (:func:`snatsim.estimate`); for a scenario it does not cover (its
    :class:`ConfigError`), ``fallback`` when given, else that error."""

    fallback: Evaluator | None = field(default_factory=SimulateEvaluator)
    method: str = "mc"

    def __call__(self, scenario: Scenario, rng: SeedLike) -> Evaluation:
        import snatsim

        try:
            result = snatsim.estimate(scenario, rng=rng)
        except ConfigError:
            if self.fallback is None:
                raise
            return self.fallback(scenario, rng)
        return evaluation_from_summary(result.summary())


ENGINES = ("auto", "mc", "des")


def make_evaluator(engine: str = "auto", connects: int | None = None) -> Evaluator:
    """``auto``: Monte Carlo where :func:`snatsim.estimate` exists and covers the scenario, else
    the DES; ``mc``: Monte Carlo only; ``des``: the SimPy model (``connects`` per evaluation)."""
    import snatsim

    des = SimulateEvaluator() if connects is None else SimulateEvaluator(connects=connects)
    has_mc = "estimate" in snatsim.__all__
    if engine == "des" or (engine == "auto" and not has_mc):
        return des
    if engine not in ENGINES:
        raise ConfigError("--engine", f"{engine!r} is not an engine; use one of "
                          + ", ".join(ENGINES))
    if not has_mc:
        raise ConfigError("--engine", "mc needs snatsim.estimate, which this version lacks; "
                          "use --engine des")
    return EstimateEvaluator(fallback=des if engine == "auto" else None)
