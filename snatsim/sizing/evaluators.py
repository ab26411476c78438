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
    method: str = ""  # the engine that made it: "mc", "des"


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
    """The SimPy model (:func:`snatsim.simulate`): the scenario's warm-up, then about ``connects``
    measured connects (the scenario's own ``duration_s`` when the rate is unknown, e.g. closed
    loop). Where the window can run out (analytic exhaustion floor above ``1e-6``) it measures at
    least ``min_holds`` port holds (TIME_WAIT included; full-window episodes last about a hold),
    but at most ``max_stretch`` × ``connects``.

    The interval is the wider of the exact binomial one (independent connects) and the batch-means
    one (``batches`` equal slices of the measured time, a t interval of the ratio estimate), which
    widens where drops come in bursts (aligned tickers, a full window).
    """

    connects: int = 40_000
    min_measured_s: float = 10.0
    min_holds: float = 20.0
    max_stretch: float = 4.0
    batches: int = 10
    method: str = "des"

    def __call__(self, scenario: Scenario, rng: SeedLike) -> Evaluation:
        from snatsim.analytic.window_load import window_loads
        from snatsim.config_limits import MAX_DURATION_S, MAX_EXPECTED_CONNECTIONS
        from snatsim.results import simulate
        from snatsim.sizing.axes import exhaustion_floor

        rates = [w.mean_rate_per_s() for w in scenario.workload]
        sim = scenario.simulation
        if all(r is not None for r in rates):
            rate = sum(r for r in rates if r is not None)
            measured_s = max(self.min_measured_s, self.connects / rate)
            if exhaustion_floor(scenario) > 1e-6:
                hold_s = max((load.hold_s for load in window_loads(scenario)), default=0.0)
                measured_s = max(measured_s, min(self.min_holds * hold_s,
                                                 self.max_stretch * self.connects / rate))
            duration_s = min(sim.warmup_s + measured_s, MAX_DURATION_S,
                             0.99 * MAX_EXPECTED_CONNECTIONS / rate)
            scenario = replace_values(scenario, {"simulation": {"duration_s": duration_s}})
        result = simulate(scenario, rng, rows="all")
        e = evaluation_from_summary(result.summary())
        sim = scenario.simulation
        batch = batch_means_interval(
            [(r.start_s, r.latency_s, r.outcome) for r in result.rows],
            sim.warmup_s, sim.duration_s, self.batches)
        if batch is None:
            return e._replace(method=self.method)
        return e._replace(lo=min(e.lo, batch[0]), hi=max(e.hi, batch[1]), method=self.method)


def batch_means_interval(rows: list[tuple[float, float | None, str]], start_s: float,
                         end_s: float, batches: int) -> tuple[float, float] | None:
    """95 % interval of the delayed fraction (>= 1 s or never completed) from ``batches`` equal
    time slices of ``[start_s, end_s)``: ratio estimate ``sum d / sum n`` with the batch-means
    variance ``sum (d_b - f n_b)^2 / (B (B - 1) nbar^2)`` and Student's t with B - 1 degrees.
    ``rows`` are ``(start_s, latency_s, outcome)``; None when a slice holds no connect."""
    import numpy as np
    from scipy.stats import t

    from snatsim.rundata import NEVER_COMPLETED

    n = np.zeros(batches)
    d = np.zeros(batches)
    width = (end_s - start_s) / batches
    for start, latency_s, outcome in rows:
        never = outcome in NEVER_COMPLETED
        if latency_s is None and not never:
            continue
        b = min(int((start - start_s) / width), batches - 1)
        n[b] += 1
        d[b] += never or (latency_s is not None and latency_s >= 1.0)
    if batches < 2 or not n.all():
        return None
    f = d.sum() / n.sum()
    se = math.sqrt(float(np.sum((d - f * n) ** 2)) / (batches * (batches - 1))) / n.mean()
    half = float(t.ppf(0.975, batches - 1)) * se
    return max(0.0, float(f - half)), min(1.0, float(f + half))


@dataclass
class EstimateEvaluator:
    """The Monte Carlo engine (:func:`snatsim.estimate`); for a scenario it does not cover (its
    :class:`ConfigError`), ``fallback`` when given, else that error."""

    fallback: Evaluator | None = field(default_factory=SimulateEvaluator)
    trials: int | None = None  # None: snatsim.estimate's default
    method: str = "mc"

    def __call__(self, scenario: Scenario, rng: SeedLike) -> Evaluation:
        import snatsim

        try:
            result = snatsim.estimate(scenario, rng=rng, trials=self.trials)
        except ConfigError:
            if self.fallback is None:
                raise
            return self.fallback(scenario, rng)
        return evaluation_from_summary(result.summary())._replace(method=self.method)


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
