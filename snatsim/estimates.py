"""``snatsim.estimate``: the vectorized Monte Carlo engine's answer for a scenario, with intervals.

The engine (:mod:`snatsim.mc`) samples new flows at steady state and gives per-SYN drop odds by
cause; :mod:`snatsim.mc.figures` turns them into expected counts over the scenario's measured
window. :meth:`EstimateResult.summary` has the keys of
:meth:`snatsim.results.SimulationResult.summary` (counts are expected values, floats), plus
``method``, ``trials``, ``allocations``, ``ci95`` (95 % intervals of the main figures) and
``rel_error``. Intervals come from the spread between :data:`GROUPS` interleaved groups of blocks
(8 while a stream has fewer than 16 blocks; batch means, Student t); a figure with no event in any
trial gets a rule-of-three upper bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import numpy as np

from snatsim.config import Scenario, load_scenario
from snatsim.errors import ConfigError
from snatsim.mc.blocks import PHASE_GROUPS
from snatsim.mc.engine import Tallies, run
from snatsim.mc.figures import (
    CAUSE_KEYS,
    DROP_KEYS,
    DestinationOdds,
    SynCounts,
    cluster_drop_probabilities,
    mixture,
    syn_counts,
    weighted_quantiles,
)
from snatsim.mc.steady import SteadyPlan, plan
from snatsim.mc.udp import UdpLaw, udp_law
from snatsim.rng import SeedLike
from snatsim.rundata import UDP_RETRY_THRESHOLD_S

DEFAULT_TRIALS = 1 << 20
MAX_TRIALS = 1 << 24  # the cap of rel_error sampling when trials is not given
FIRST_TRIALS = 1 << 15  # rel_error sampling starts here (one stream's floor of 8 x 4,096), then:
GROWTH_MARGIN = 1.2  # ... to 1.2 x the trials its interval's width asks for,
MIN_GROWTH, MAX_GROWTH = 1.25, 16.0  # ... by a factor in [1.25, 16]
GROUPS = PHASE_GROUPS  # batch-means groups (8 while a stream has fewer than 16 blocks)
PERCENTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p999": 0.999}
THRESHOLDS_S = (1.0, 2.0, 3.0)
# Student t 97.5 % quantiles by degrees of freedom (GROUPS - 1 at most; no scipy import needed)
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131)


def _seed(rng: SeedLike, scenario: Scenario) -> tuple[int | None, np.random.SeedSequence]:
    if rng is None:
        rng = scenario.simulation.seed
    if isinstance(rng, np.random.Generator):
        return None, np.random.SeedSequence(int(rng.integers(0, 2**63)))
    if isinstance(rng, np.random.SeedSequence):
        return None, rng
    return rng, np.random.SeedSequence(rng)


def _check_args(trials: int | None, rel_error: float | None) -> None:
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int)
                               or trials < 1):
        raise ConfigError("trials", f"trials={trials!r}: give a whole number of trials >= 1 "
                          f"(e.g. {DEFAULT_TRIALS:,})")
    if rel_error is not None and (isinstance(rel_error, bool)
                                  or not isinstance(rel_error, int | float)
                                  or not 0 < rel_error < 1):
        raise ConfigError("rel_error", f"rel_error={rel_error!r}: give the wanted relative "
                          "half-width of the 95 % interval, between 0 and 1 (e.g. 0.05)")


def estimate(scenario: Scenario | str | Path, *, rng: SeedLike = None, trials: int | None = None,
             rel_error: float | None = None,
             progress: Callable[[int, int], None] | None = None) -> EstimateResult:
    """Estimate ``scenario``'s figures with the Monte Carlo engine (no event simulation).

    Parameters
    ----------
    scenario:
        A validated scenario or the path of a TOML file.
    rng:
        Seed (int), SeedSequence or Generator; ``None`` uses ``simulation.seed``. Same scenario +
        seed + trials => identical estimate.
    trials:
        Trials (new flows) to sample, rounded to whole blocks per destination and at least
        :data:`~snatsim.mc.engine.MIN_BLOCKS` blocks per stream (so every stream's spread enters
        the interval); the cap of ``rel_error`` sampling when both are given. Default
        :data:`DEFAULT_TRIALS`.
    rel_error:
        Sample (from :data:`FIRST_TRIALS` or every stream's floor of blocks, then as many as
        the interval's width asks for, :meth:`EstimateResult.growth_wanted`) until
        the 95 % interval of the >= 1 s delayed fraction is within ``rel_error`` of it, or the
        cap is hit; ``summary()["rel_error"]`` says which.
    progress:
        Called as ``progress(trials_done, trials_planned)`` after each chunk.

    Raises
    ------
    ConfigError
        For what the engine cannot represent (the message names the field), and for bad
        ``trials`` / ``rel_error``.
    """
    _check_args(trials, rel_error)
    if isinstance(scenario, str | Path):
        scenario = load_scenario(scenario)
    steady = plan(scenario)
    seed, root = _seed(rng, scenario)
    if rel_error is None:
        target = trials or DEFAULT_TRIALS
        tallies = run(steady, root, target, progress=_bind(progress, target))
        return EstimateResult(scenario, steady, tallies, seed, root)
    cap = trials or MAX_TRIALS
    tallies = run(steady, root, min(FIRST_TRIALS, cap), progress=_bind(progress, cap))
    prov: dict[str, Any] = {}
    while True:
        result = EstimateResult(scenario, steady, tallies, seed, root, rel_error_target=rel_error,
                                provenance=prov)
        prov = result.provenance
        if result.rel_error_reached() or tallies.trials >= cap:
            return result
        more, split = _next_round(steady, tallies, result.growth_wanted())
        tallies = run(steady, root, min(more, cap - tallies.trials), after=tallies,
                      progress=_bind(progress, cap, tallies.trials), split=split)


def _next_round(steady: SteadyPlan, tallies: Tallies, growth: float
                ) -> tuple[int, list[float] | None]:
    """The next ``rel_error`` round's trials and their split over the streams.

    The ``>= 1 s`` fraction's variance is the sum of the streams' (independent) shares of it,
    each the spread of the fraction over the stream's own groups with every other stream whole.
    To cut it ``growth``-fold for the fewest new trials, stream ``s`` grows to ``λ sqrt(v_s
    n_s)`` trials (Neyman's allocation; never fewer than it has), ``λ`` set by the target; at
    most :data:`MAX_GROWTH` times the trials in all. One stream, the exhaustion simulation's
    replicas, or no spread yet: every stream grows by ``growth`` (split by rate, ``None``)."""
    streams = (*tallies.sums, *tallies.clusters)
    flat = math.ceil(tallies.trials * (growth - 1.0))
    if len(streams) < 2 or tallies.exhausted:
        return flat, None
    var = np.array([_stream_variance(steady, tallies, i) for i in range(len(streams))])
    n = np.array(tallies.stream_trials())
    if not var.sum() > 0:
        return flat, None
    wanted = var.sum() / growth
    grown = n.copy()
    free = var > 0
    while free.any():  # streams whose Neyman share is below what they have stay as they are
        budget = wanted - var[~free].sum()
        if budget <= 0:
            return flat, None
        target = np.sqrt(var[free] * n[free]).sum() / budget * np.sqrt(var * n)
        if (target[free] >= n[free]).all():
            grown[free] = target[free]
            break
        free &= target >= n
    extra = grown - n
    if extra.sum() < 1:
        return flat, None
    more = min(float(extra.sum()), tallies.trials * (MAX_GROWTH - 1.0))
    return math.ceil(more), (extra / extra.sum()).tolist()


def _stream_variance(steady: SteadyPlan, tallies: Tallies, index: int) -> float:
    """Stream ``index``'s share of the ``>= 1 s`` fraction's variance: the spread of the
    fraction over the stream's groups of blocks (as :func:`_intervals` makes them), the other
    streams whole, over the number of groups."""
    streams = [*tallies.sums, *tallies.clusters]
    own = streams[index]
    groups = _groups(len(own))
    if groups < 2:
        return 0.0
    values = []
    for g in range(groups):
        parts = streams.copy()
        parts[index] = own[g::groups]
        f = _figures(steady, Tallies(tuple(parts[:len(tallies.sums)]), 0,
                                     tuple(parts[len(tallies.sums):])), key_only=True)
        values.append(float(f["delayed"]["ge_1s"]))
    return float(np.var(values, ddof=1)) / groups


def _bind(progress: Callable[[int, int], None] | None, planned: int,
          before: int = 0) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda done: progress(before + done, planned)


@dataclass
class EstimateResult:
    """The Monte Carlo estimate of a scenario (see :func:`estimate`)."""

    scenario: Scenario
    steady: SteadyPlan
    tallies: Tallies
    seed: int | None
    seed_sequence: np.random.SeedSequence
    rel_error_target: float | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    _ci: dict[str, list[float]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        from snatsim.results import provenance

        if not self.provenance:  # rel_error sampling hands each step's result the first's
            self.provenance = provenance(self.scenario, self.seed, self.seed_sequence)

    def __repr__(self) -> str:
        f = self.figures
        return (f"<EstimateResult: kernel {self.scenario.kernel.version}, trials "
                f"{self.tallies.trials:,}, delayed >= 1 s {f['delayed']['ge_1s']:.3g}>")

    @cached_property
    def figures(self) -> dict[str, Any]:
        """The per-connect figures of all the tallies (computed once)."""
        return _figures(self.steady, self.tallies)

    def ci95(self) -> dict[str, list[float]]:
        """95 % intervals of the per-connect figures (batch means over groups of blocks)."""
        if self._ci is None:
            self._ci = _intervals(self.steady, self.tallies, self.figures)
        return self._ci

    def rel_error_reached(self) -> bool:
        """Is the >= 1 s delayed fraction's interval within ``rel_error_target`` of it?"""
        if self.rel_error_target is None:
            return False
        est, half = self._ge_1s()
        return bool(est > 0 and half <= self.rel_error_target * est)

    def growth_wanted(self) -> float:
        """How many times the trials ``rel_error`` sampling should have next: the half-width
        shrinks as 1 / sqrt(trials), so ``(half-width / wanted)^2``, with :data:`GROWTH_MARGIN`
        for the width's own noise, at least :data:`MIN_GROWTH` (a round has fixed costs), at
        most :data:`MAX_GROWTH`; twice as many while no trial has been delayed."""
        est, half = self._ge_1s()
        if est <= 0 or self.rel_error_target is None:
            return 2.0
        want = GROWTH_MARGIN * (half / (self.rel_error_target * est)) ** 2
        return min(MAX_GROWTH, max(MIN_GROWTH, want))

    def _ge_1s(self) -> tuple[float, float]:
        """The >= 1 s delayed fraction and its interval's half-width."""
        lo, hi = self.ci95()["delayed_fraction_ge_1s"]
        return float(self.figures["delayed"]["ge_1s"]), (hi - lo) / 2

    def summary(self) -> dict[str, Any]:
        """Plain-JSON summary: :meth:`SimulationResult.summary` keys, expected counts."""
        return _summary(self)


@dataclass(frozen=True)
class _Law:
    """How one workload's connects to one destination fare: per-SYN conditional drop odds, the
    cause split, and per-connect means of ``found``, kept ports and evictions."""

    probs: list[float]
    causes_at: Callable[[int], dict[str, float]]
    found_per_syn: float
    kept: float
    evicted_per_syn: float
    found_per_connect: float | None = None  # clusters tally found per connection
    early_drop_per_syn: float = 0.0  # table-full early drops (the exhaustion simulation)
    udp: UdpLaw | None = None  # UDP lookups: their own outcome law and query counts


def _laws(steady: SteadyPlan, tallies: Tallies) -> dict[str, list[tuple[float, _Law]]]:
    """Per workload: (share, law) for each of its destinations (or its cluster)."""
    if tallies.exhausted:
        from snatsim.mc.exhaustion import StreamOdds

        streams = iter(StreamOdds.from_rows(rows) for rows in tallies.exhausted)
        return {name: [(p, _Law(o.probs, o.causes_at, o.found_per_syn, o.kept, o.evicted_per_syn,
                                early_drop_per_syn=o.early_drop_per_syn))
                       for _, p in parts for o in [next(streams)]]
               for name, parts in steady.workload_destinations.items()}
    odds = [None if d.udp else DestinationOdds.from_sums(s)
            for d, s in zip(steady.destinations, tallies.sums, strict=True)]
    none = DestinationOdds(0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0)  # snat = false: nothing to lose
    out: dict[str, list[tuple[float, _Law]]] = {}
    for name, parts in steady.workload_destinations.items():
        out[name] = []
        for k, p in parts:
            if name in steady.udp_tries:
                u = udp_law(tallies.sums[k] if k >= 0 else None, steady, *steady.udp_tries[name])
                out[name].append((p, _Law([], partial(_race_only, [0.0]), 0.0, u.kept, 0.0,
                                          udp=u)))
                continue
            o = odds[k] if k >= 0 else none
            assert o is not None
            out[name].append((p, _Law(list(o.drop_probabilities()), o.causes_at, o.found,
                                      o.kept, o.evicted)))
    for c, sums in zip(steady.clusters, tallies.clusters, strict=True):
        col = sums.sum(axis=0)
        probs = cluster_drop_probabilities(col[4:])
        n = float(col[1])
        law = _Law(probs, partial(_race_only, probs), 0.0, float(col[2]) / n, 0.0,
                   found_per_connect=float(col[3]) / n)
        out[c.workload] = [(1.0, law)]
    return out


def _race_only(probs: list[float], k: int) -> dict[str, float]:
    """Aligned tickers lose SYNs to races only (their windows are far from full)."""
    return {"race": probs[min(k, len(probs) - 1)]}


def _figures(steady: SteadyPlan, tallies: Tallies, *, key_only: bool = False) -> dict[str, Any]:
    """Per-connect figures (probabilities, expected counts per connect) from block tallies;
    ``key_only``: only those :func:`_key_figures` reads (the intervals' groups)."""
    total_rate = sum(steady.workload_rates.values())
    # >= 5 s: the resolver's retry, in runs with a UDP workload (as simulate() reports)
    thresholds = (*THRESHOLDS_S, UDP_RETRY_THRESHOLD_S) if steady.udp_tries else THRESHOLDS_S
    keys = [(t, f"ge_{t:g}s") for t in thresholds]
    out: dict[str, Any] = {"per_workload": {}, "delayed": dict.fromkeys(
        (key for _, key in keys), 0.0)}
    acc = dict.fromkeys(("established", "failed", "app_timeout", "syns", "dropped", "found",
                         "kept", "evicted", "early_drop", "latency_sum", "queries",
                         "queries_dropped", "lookups", "answered", "resolved"), 0.0)
    causes = dict.fromkeys(DROP_KEYS, 0.0)
    lat_values: list[float] = []
    lat_weights: list[float] = []
    for name, parts in _laws(steady, tallies).items():
        share_w = steady.workload_rates[name] / total_rate
        timeout = steady.connect_timeout_s[name]
        wl = dict.fromkeys(("established", "delayed_ge_1s", "lost_packets"), 0.0)
        for p, law in parts:
            w = share_w * p
            if law.udp is not None:
                mix, u = law.udp.mix, law.udp
                counts = SynCounts(u.queries_sent, u.queries_lost, u.causes)
                for key, value in (("queries", u.queries_sent), ("queries_dropped", u.queries_lost),
                                   ("lookups", 1.0), ("answered", sum(mix.established)),
                                   ("resolved", u.resolved),
                                   ("found", u.found)):
                    acc[key] += w * value
            else:
                mix = mixture(law.probs, steady, timeout)
                counts = syn_counts(law.probs, law.causes_at, steady, timeout)
                acc["syns"] += w * counts.sent
                acc["dropped"] += w * counts.dropped
                acc["found"] += w * (counts.sent * law.found_per_syn
                                     if law.found_per_connect is None else law.found_per_connect)
            delayed = [mix.delayed_fraction(t) for t in thresholds]
            for (_, key), fraction in zip(keys, delayed, strict=True):
                out["delayed"][key] += w * fraction
            for c, q in counts.causes.items():
                causes[c] += w * q
            if key_only:
                continue
            est = sum(mix.established)
            acc["established"] += w * est
            acc["failed"] += w * mix.failed
            acc["app_timeout"] += w * mix.app_timeout
            acc["kept"] += w * law.kept
            acc["evicted"] += w * counts.sent * law.evicted_per_syn
            acc["early_drop"] += w * counts.sent * law.early_drop_per_syn
            acc["latency_sum"] += w * sum(x * y for x, y in zip(mix.latencies_s,
                                                              mix.established, strict=True))
            wl["established"] += p * est
            wl["delayed_ge_1s"] += p * delayed[0]  # thresholds[0] is 1 s
            wl["lost_packets"] += p * counts.dropped
            lat_values.extend(mix.latencies_s)
            lat_weights.extend(w * x for x in mix.established)
        out["per_workload"][name] = wl
    out.update(acc, causes=causes, latency=(np.array(lat_values), np.array(lat_weights)))
    return out


def _intervals(steady: SteadyPlan, tallies: Tallies, whole: dict[str, Any]
               ) -> dict[str, list[float]]:
    """95 % intervals around ``whole`` (the figures of all the tallies) from the spread of the
    figures over interleaved groups of blocks: GROUPS, or the largest power of two that every
    stream fills (8 at the floor of :data:`~snatsim.mc.engine.MIN_BLOCKS`; a divisor of 16 keeps
    each Weyl walk of phases in one group, :func:`~snatsim.mc.blocks.block_phase`)."""
    groups = _groups(min(len(s) for s in (*tallies.sums, *tallies.clusters,
                                          *tallies.exhausted)))
    if groups < 2:
        return {k: [v, math.inf] for k, v in _key_figures(whole).items()}
    per_group = [_key_figures(_figures(steady, Tallies(
        tuple(s[g::groups] for s in tallies.sums), 0,
        tuple(c[g::groups] for c in tallies.clusters),
        tuple(e[g::groups] for e in tallies.exhausted)), key_only=True)) for g in range(groups)]
    q = T975[groups - 2]
    floor = _rule_of_three(tallies)
    out = {}
    for name, est in _key_figures(whole).items():
        spread = np.array([f[name] for f in per_group])
        half = q * float(spread.std(ddof=1)) / math.sqrt(groups)
        out[name] = [max(0.0, est - half), est + max(half, floor if est == 0 else 0.0)]
    return out


def _groups(blocks: int) -> int:
    """Batch-means groups of ``blocks`` blocks: GROUPS, or the largest power of two under it
    that they fill (a divisor of 16 keeps each Weyl walk of phases in one group); 0 for none."""
    return 1 << (min(GROUPS, blocks).bit_length() - 1) if blocks else 0


def _key_figures(f: dict[str, Any]) -> dict[str, float]:
    """The per-connect figures that get an interval."""
    packets = {"syn": ("dropped", "syns"), "query": ("queries_dropped", "queries")}
    return {**{f"delayed_fraction_{k}": float(v) for k, v in f["delayed"].items()},
            **{f"{kind}_drop_probability": f[lost] / f[sent]
               for kind, (lost, sent) in packets.items() if f[sent] > 0},
            **{f"{c}_drops_per_connect": float(f["causes"][c]) for c in DROP_KEYS}}


def _rule_of_three(tallies: Tallies) -> float:
    """Upper bound on a per-connect probability that no trial showed: 3 / trials."""
    return 3.0 / max(tallies.trials, 1)


def _summary(r: EstimateResult) -> dict[str, Any]:
    from snatsim.analytic.window_load import window_warnings
    from snatsim.results import CONNTRACK_KEYS

    steady, sc = r.steady, r.scenario
    f = r.figures
    ci = r.ci95()
    measured_s = steady.measured_s
    attempted = sum(steady.workload_rates.values()) * measured_s
    never = attempted * (f["failed"] + f["app_timeout"])
    syns, dropped = attempted * f["syns"], attempted * f["dropped"]
    era = steady.profile.confirm_era
    conntrack = dict.fromkeys(CONNTRACK_KEYS, 0.0)
    causes = {c: attempted * f["causes"][c] for c in DROP_KEYS}
    queries_lost = attempted * f["queries_dropped"]
    failed = dropped + queries_lost - causes["table_full"]  # dropped at confirm
    # spec §7: C1/C2 count every UDP sibling clash in insert_failed, C3+ resolved ones in
    # clash_resolve; a UDP lookup's inserts on C0 (<= 4.7) are not estimated
    resolved = attempted * f["resolved"]
    conntrack.update(found=attempted * f["found"],
                     insert_failed=failed + (resolved if era <= 2 else 0.0),
                     early_drop=attempted * f["early_drop"],
                     drop=(failed if era >= 1 else 0.0) + causes["table_full"],
                     clash_resolve=resolved if era >= 3 else 0.0,
                     insert=syns - dropped if era == 0 else 0.0)
    values, weights = f["latency"]
    quantiles = weighted_quantiles(values, weights, list(PERCENTILES.values()))
    established = attempted * f["established"]
    delayed = f["delayed"]
    reached = r.rel_error_reached()
    return {
        "method": "mc",
        "trials": r.tallies.trials,
        "allocations": r.tallies.allocations,
        "kernel": steady.profile.to_dict(),
        "window": {"duration_s": steady.duration_s, "warmup_s": steady.warmup_s,
                   "measured_s": measured_s},
        "conntrack": conntrack,
        "connections": {"attempted": attempted, "established": established,
                        "failed": attempted * f["failed"],
                        "app_timeouts": attempted * f["app_timeout"], "local_errors": 0.0,
                        "in_flight": 0.0},
        "syn": {"sent": syns, "dropped": dropped},
        "udp_queries": {"sent": attempted * f["queries"], "dropped": queries_lost,
                        "lookups": attempted * f["lookups"],
                        "answered": attempted * f["answered"]},
        "connect_latency_s": {
            "mean": f["latency_sum"] / f["established"] if f["established"] else None,
            **dict(zip(PERCENTILES, quantiles, strict=True)),
            # the longest latency expected at least once in the measured window
            "max": float(values[expected].max()) if (expected := weights * attempted >= 1).any()
            else quantiles[-1]},
        "delayed_fraction": delayed,
        "delayed_fraction_ci95": {k: ci[f"delayed_fraction_{k}"] for k in delayed},
        "delayed_fraction_ci95_assumes": "batch means over groups of simulated replicas "
        "(a filling window or table; see docs/model.md 'Beyond the steady state')"
        if steady.exhaustion is not None else "batch means over groups of Monte Carlo blocks "
        "(steady-state sampling; see docs/model.md 'Monte Carlo')",
        "delayed_counts": {**{k: v * attempted for k, v in delayed.items()}, "of": attempted,
                           "never_completed": never},
        "insert_failed_causes": {c: causes[c] for c in CAUSE_KEYS},
        "drops": causes,
        "ports": {"preserved_fraction": f["kept"],
                  "max_in_use": {d.label: min(float(d.held(steady.duration_s)), d.size)
                                 for d in steady.destinations},
                  "time_wait_evicted": attempted * f["evicted"]},
        "per_workload": {
            name: {"attempted": steady.workload_rates[name] * measured_s,
                   **{k: v * steady.workload_rates[name] * measured_s for k, v in wl.items()}}
            for name, wl in f["per_workload"].items()},
        "ci95": ci,
        "rel_error": {"target": r.rel_error_target, "reached": reached,
                      "stopped_by": None if r.rel_error_target is None
                      else "target" if reached else "trials cap"},
        "warnings": [*sc.kernel.warnings(), *window_warnings(sc)],
        "provenance": r.provenance,
    }
