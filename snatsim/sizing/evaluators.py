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
    from snatsim.sizing.budget import BudgetMeter

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
    note: str = ""  # why the engine is not the one asked for (auto's fallback), else ""


class Evaluator(Protocol):
    """``(scenario, rng, meter) -> Evaluation``: an estimate of the delayed fraction of one
    scenario; ``meter`` (when given) may refuse or abandon it (:mod:`snatsim.sizing.budget`)."""

    method: str

    def __call__(self, scenario: Scenario, rng: SeedLike,
                 meter: BudgetMeter | None = None) -> Evaluation: ...


def settle_s(scenario: Scenario) -> float:
    """Seconds from the start until the ports held and the conntrack table stop filling: the
    longest mean lifetime of an entry (the Monte Carlo engine's occupancy ``rate × min(t, life)``,
    :mod:`snatsim.mc.steady`): a TCP connection's RTT + requests × mean hold + its TIME_WAIT (FIN)
    or CLOSE (RST) timeout, a UDP lookup's RTT + ``conntrack.udp_timeout_s`` (spec §10). An
    approximation: a hold distribution's tail keeps a few entries longer."""
    from snatsim.distributions import as_distribution

    ct = scenario.conntrack
    rtt_s = as_distribution(scenario.network.rtt_s).mean
    lives = [rtt_s + (ct.udp_timeout_s if wl.protocol == "udp" else
                      wl.requests_per_connection * as_distribution(wl.hold_s).mean
                      + (ct.tcp_timeout_time_wait_s if wl.close == "fin"
                         else ct.tcp_timeout_close_s))
             for wl in scenario.workload]
    return max(lives, default=0.0)


def steady_state(scenario: Scenario) -> Scenario:
    """``scenario`` measured in its steady state: the warm-up lengthened to :func:`settle_s`
    where it is shorter (the measured time kept), so that a capacity answer is about sustained
    load, whatever warm-up the scenario was written with, and both engines answer the same
    question (the SimPy evaluator also lengthens the measured time to reach its connects).
    A warm-up within 1 % of it is kept (the occupancy is then within 1 % of its steady value:
    the configs' 120 s against a 120.3 s life)."""
    sim = scenario.simulation
    warmup_s = settle_s(scenario)
    if sim.warmup_s >= 0.99 * warmup_s:
        return scenario
    return replace_values(scenario, {"simulation": {
        "warmup_s": warmup_s, "duration_s": sim.duration_s - sim.warmup_s + warmup_s}})


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
    """The SimPy model (:func:`snatsim.simulate`): the :func:`steady_state` warm-up, then about
    ``connects`` measured connects (the scenario's own ``duration_s`` when the rate is unknown, e.g. closed
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

    def __call__(self, scenario: Scenario, rng: SeedLike,
                 meter: BudgetMeter | None = None) -> Evaluation:
        from snatsim.analytic.window_load import window_loads
        from snatsim.config_limits import MAX_DURATION_S, MAX_EXPECTED_CONNECTIONS
        from snatsim.results import simulate
        from snatsim.sizing.axes import exhaustion_floor

        scenario = steady_state(scenario)
        rates = [w.mean_rate_per_s() for w in scenario.workload]
        sim = scenario.simulation
        predicted = None
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
            predicted = rate * duration_s
        started = 0

        def watch(simulated_s: float, duration_s: float, connects: int) -> None:
            nonlocal started
            started = connects
            if meter is not None:
                meter.watch_run(simulated_s, duration_s, connects)

        if meter is not None:
            meter.admit_connects(predicted)
        result = simulate(scenario, rng, rows="all", progress=watch)
        if meter is not None:
            meter.simulated(started)
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
    """The Monte Carlo engine (:func:`snatsim.estimate` of the :func:`steady_state` scenario;
    ``connects`` of its evaluations are its trials). With a ``fallback`` (``--engine auto``)
    that evaluator runs instead, its :attr:`Evaluation.note` saying why, where the engine

    * does not cover the scenario (its :class:`ConfigError`, e.g. a fixed source port), or
    * contradicts the analytic exhaustion floor (:func:`~snatsim.sizing.axes.exhaustion_floor`
      above the upper end of its interval): the engine draws one window occupancy per block of
      trials, so a rarely full window rests on a few hundred draws and can be missed with a
      narrow interval (seen on 256 ports at 82 % held: 7e-7 where the floor is 2.6e-4 and the
      SimPy model 5.6e-4; since the engine simulates filling windows it gives 7.0e-4 there, and
      the check is a safety net). Not checked on A3+ (6.5+) kernels: their TIME_WAIT eviction, which
      the floor leaves out, keeps the delayed fraction far under it (0 of 40,000 SimPy connects
      on 6.6 where the floor is 1 %).

    Without a fallback (``--engine mc``) the first case raises and the second is kept as is.
    """

    fallback: Evaluator | None = field(default_factory=SimulateEvaluator)
    trials: int | None = None  # None: snatsim.estimate's default
    method: str = "mc"

    def __call__(self, scenario: Scenario, rng: SeedLike,
                 meter: BudgetMeter | None = None) -> Evaluation:
        import snatsim
        from snatsim.sizing.axes import exhaustion_floor

        scenario = steady_state(scenario)
        try:
            result = snatsim.estimate(scenario, rng=rng, trials=self.trials,
                                      progress=None if meter is None else meter.watch_trials)
        except ConfigError as exc:
            if self.fallback is None:
                raise ConfigError(exc.field, f"{exc.message}; in snatsim capacity, --engine "
                                  "auto (the default) evaluates such a value with the SimPy "
                                  "model") from None
            return self._fall_back(scenario, rng, meter, f"mc does not cover it ({exc})")
        summary = result.summary()
        e = evaluation_from_summary(summary)._replace(method=self.method,
                                                      connects=int(summary["trials"]))
        from snatsim.kernel.eras import NatEra

        if self.fallback is None or scenario.kernel.profile().nat_era >= NatEra.A3:
            return e  # A3+ evicts TIME_WAIT entries: the floor is no lower bound there
        floor = exhaustion_floor(scenario)
        if floor > e.hi:
            return self._fall_back(scenario, rng, meter, (
                f"mc gave {e.fraction:.3g} [{e.lo:.3g}, {e.hi:.3g}] under the analytic "
                f"exhaustion floor {floor:.3g}"))
        return e

    def _fall_back(self, scenario: Scenario, rng: SeedLike, meter: BudgetMeter | None,
                   why: str) -> Evaluation:
        assert self.fallback is not None
        e = self.fallback(scenario, rng, meter)
        return e._replace(note=" ".join(why.split()))


ENGINES = ("auto", "mc", "des")


def make_evaluator(engine: str = "auto", connects: int | None = None,
                   trials: int | None = None) -> Evaluator:
    """``auto``: Monte Carlo where :func:`snatsim.estimate` exists and can be trusted (see
    :class:`EstimateEvaluator`), else the DES; ``mc``: Monte Carlo only (``trials`` per
    evaluation); ``des``: the SimPy model (``connects`` measured per evaluation)."""
    import snatsim

    if trials is not None and engine == "des":
        raise ConfigError("--trials", "sets the Monte Carlo engine's trials; --engine des runs "
                          "the SimPy model: use --connects there, or drop --trials")
    if connects is not None and engine == "mc":
        raise ConfigError("--connects", "sets the SimPy model's measured connects; --engine mc "
                          "runs the Monte Carlo engine only: use --trials there, or drop "
                          "--connects")
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
    return EstimateEvaluator(fallback=des if engine == "auto" else None, trials=trials)
