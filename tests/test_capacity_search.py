"""The capacity search on scripted evaluators: bracket, bisection, interval, the varied keys,
"met everywhere / nowhere", and the analytic exhaustion bracket (no simulation here)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from snatsim.analytic.occupancy import erlang_b, exhaustion_probability
from snatsim.config import Scenario
from snatsim.errors import ConfigError
from snatsim.sizing.axes import axis, exhaustion_bound, exhaustion_floor
from snatsim.sizing.evaluators import Evaluation, evaluation_from_summary
from snatsim.sizing.search import capacity

BASE = {
    "simulation": {"duration_s": 60.0, "warmup_s": 0.0, "seed": 5},
    "kernel": {"version": "5.4"},
    "nat": {"target": "masquerade", "to_ports": "20000-20255"},
    "workload": [{"name": "api", "pods": 4, "arrival": "poisson", "rate_per_s": 1.0,
                  "destinations": ["203.0.113.10:443"], "hold_s": 0.5, "close": "fin"}],
}


def scenario(**sections: dict[str, object]) -> Scenario:
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in BASE.items()}
    for key, value in sections.items():
        data[key] = {**data[key], **value} if isinstance(data[key], dict) else value
    return Scenario.from_dict(data)


class Scripted:
    """A delayed fraction given by ``law(scenario)`` with a +-``rel`` interval; logs each call."""

    method = "scripted"

    def __init__(self, law: object, rel: float = 0.05) -> None:
        self.law = law
        self.rel = rel
        self.seeds: list[object] = []

    def __call__(self, sc: Scenario, rng: object, meter: object = None) -> Evaluation:
        self.seeds.append(rng)
        f = self.law(sc)  # type: ignore[operator]
        return Evaluation(f, f * (1 - self.rel), f * (1 + self.rel), "race" if f else None, 1000)


def rate(sc: Scenario) -> float:
    r = sc.workload[0].rate_per_s
    assert r is not None
    return r


def test_largest_rate_brackets_the_true_edge_within_tolerance_and_reuses_one_seed() -> None:
    # delayed = rate * 1e-5: the target 1e-3 is met (upper end 1.05 * f < 1e-3) below 95.24/s
    ev = Scripted(lambda sc: rate(sc) * 1e-5)
    answer = capacity(scenario(), max_delayed=1e-3, evaluator=ev, rng=42, rel_tol=0.02)
    assert answer.status == "found"
    assert answer.value is not None and answer.edge is not None
    meets_below = 1e-3 / 1.05 / 1e-5
    assert meets_below / 1.02 <= answer.value < meets_below
    # surely misses (lower end 0.95 * f > 1e-3) from 105.26/s
    assert 1e-3 / 0.95 / 1e-5 < answer.edge <= 1e-3 / 0.95 / 1e-5 * 1.02
    assert set(ev.seeds) == {42}  # common random numbers: one seed for every evaluation
    assert answer.binding_cause == "race"
    assert answer.to_dict()["interval"] == [answer.value, answer.edge]
    assert "between" in answer.message() and "race drops most SYNs" in answer.message()


def test_met_at_every_value_tried_is_said_plainly() -> None:
    answer = capacity(scenario(), max_delayed=1e-3, evaluator=Scripted(lambda sc: 0.0),
                      max_steps=2)
    assert answer.status == "met-everywhere" and answer.edge is None
    assert "met at every value tried" in answer.message()
    assert answer.value == max(x for x, _ in answer.points)


def test_met_at_none_is_said_plainly() -> None:
    answer = capacity(scenario(), max_delayed=1e-3, evaluator=Scripted(lambda sc: 0.5),
                      max_steps=2)
    assert answer.status == "met-nowhere" and answer.value is None
    assert "met at none of the values tried" in answer.message()
    assert answer.to_dict()["interval"] is None


def ips(sc: Scenario) -> int:
    return len(sc.nat.to_source)


def test_fewest_snat_ips_is_an_integer_edge_and_the_addresses_are_distinct() -> None:
    # delayed = 1e-2 / n: the upper end 1.05e-2 / n is below 1e-3 from n = 11
    seen: list[tuple[str, ...]] = []

    def law(sc: Scenario) -> float:
        seen.append(sc.nat.to_source)
        return 1e-2 / ips(sc)

    answer = capacity(scenario(), max_delayed=1e-3, vary="nat.to_source", evaluator=Scripted(law))
    assert answer.status == "found" and answer.value == 11
    assert answer.edge == 9  # 0.95e-2 / 9 > 1e-3 surely misses; 10 does not
    assert all(len(set(s)) == len(s) for s in seen)
    assert answer.to_dict()["interval"] == [9, 11]
    assert "fewest" in answer.message()


def test_narrowest_port_range_and_least_reuse() -> None:
    def width(sc: Scenario) -> float:
        lo, hi = sc.nat.port_range or (0, 0)
        assert lo == 20000
        return hi - lo + 1

    answer = capacity(scenario(), max_delayed=1e-3, vary="nat.to_ports",
                      evaluator=Scripted(lambda sc: 0.1 / width(sc)), rel_tol=1e-3)
    assert answer.value == 106  # 0.105 / 106 < 1e-3 <= 0.105 / 105
    coarse = capacity(scenario(), max_delayed=1e-3, vary="nat.to_ports",
                      evaluator=Scripted(lambda sc: 0.1 / width(sc)))
    assert coarse.value is not None and 106 <= coarse.value <= 106 * 1.05
    requests_per_s = 1.0  # kept while the reuse changes

    def reuse(sc: Scenario) -> float:
        wl = sc.workload[0]
        assert wl.rate_per_s is not None
        assert math.isclose(wl.rate_per_s * wl.requests_per_connection, requests_per_s)
        return 0.01 / wl.requests_per_connection

    answer = capacity(scenario(), max_delayed=1e-3, vary="workload.0.requests_per_connection",
                      evaluator=Scripted(reuse))
    assert answer.value == 11


@pytest.mark.parametrize(("vary", "max_delayed", "expect"), [
    ("workload.0.pods", 1e-3, "cannot be varied"),
    ("workload.3.rate_per_s", 1e-3, "has 1 workload"),
    ("nat.to_sourcee", 1e-3, "cannot be varied"),
    ("workload.0.rate_per_s", 0.0, "--max-delayed"),
    ("workload.0.rate_per_s", 1.0, "(0, 1)"),
])
def test_bad_requests_name_the_option(vary: str, max_delayed: float, expect: str) -> None:
    with pytest.raises(ConfigError, match=r"--vary|--max-delayed") as info:
        capacity(scenario(), max_delayed=max_delayed, vary=vary, evaluator=Scripted(lambda s: 0))
    assert expect in str(info.value)


def test_rate_of_a_periodic_workload_cannot_be_varied() -> None:
    periodic = scenario(workload=[{"name": "t", "pods": 2, "arrival": "periodic",
                                   "period_s": 10.0, "destinations": ["203.0.113.1:443"]}])
    with pytest.raises(ConfigError, match="needs a poisson workload"):
        axis(periodic, "workload.0.rate_per_s")


def test_exhaustion_floor_is_the_loss_law_of_the_window() -> None:
    # 2/s x (0.5 s + 120 s TIME_WAIT) offered to 256 ports; A2 (5.4) gives up after its rounds
    sc = scenario(workload=[{**BASE["workload"][0], "rate_per_s": 2.0}])  # type: ignore[index]
    assert exhaustion_floor(sc) == pytest.approx(exhaustion_probability(256, 2.0 * 120.5))
    rover = scenario(kernel={"version": "4.14"},
                     workload=[{**BASE["workload"][0], "rate_per_s": 2.0}])  # type: ignore[index]
    assert exhaustion_floor(rover) == pytest.approx(erlang_b(256, 2.0 * 120.5))


def test_exhaustion_bound_is_where_the_floor_reaches_the_target() -> None:
    sc = scenario()
    ax = axis(sc, "workload.0.rate_per_s")
    bound = exhaustion_bound(sc, ax, 1e-2)
    assert bound is not None
    assert exhaustion_floor(ax.set_value(sc, bound)) >= 1e-2
    assert exhaustion_floor(ax.set_value(sc, bound / 1.02)) < 1e-2
    # the default 64,512-port window never runs out at the scenario's rates: no bound below 1e6/s
    wide = scenario(nat={"target": "masquerade"})
    assert exhaustion_bound(wide, axis(wide, "nat.to_ports"), 1e-2) is not None
    assert exhaustion_bound(wide, axis(wide, "nat.to_source"), 1e-2) is None


def test_evaluation_reads_the_summary_keys_every_engine_shares() -> None:
    summary = {"delayed_fraction": {"ge_1s": 0.01}, "delayed_fraction_ci95": {"ge_1s": [0.005, 0.02]},
               "drops": {"race": 1, "eviction": 0, "exhaustion": 7, "table_full": 2},
               "delayed_counts": {"of": 900}}
    assert evaluation_from_summary(summary) == Evaluation(0.01, 0.005, 0.02, "exhaustion", 900)
    empty = {**summary, "delayed_fraction": {"ge_1s": None},
             "delayed_fraction_ci95": {"ge_1s": None}, "drops": {}}
    e = evaluation_from_summary(empty)
    assert np.isnan(e.fraction) and (e.lo, e.hi, e.binding_cause) == (0.0, 1.0, None)


def test_public_name_is_the_function() -> None:
    import snatsim.sizing.search  # importing the package must not shadow the function

    assert snatsim.capacity is snatsim.sizing.search.capacity
    assert callable(snatsim.capacity)


def test_batch_means_interval_widens_for_bursty_drops_and_matches_a_hand_computation() -> None:
    from snatsim.sizing.evaluators import batch_means_interval

    # 4 slices of 10 s, 10 connects each; delayed 0, 0, 0, 4 (a burst): f = 0.1
    rows = [(10.0 * b + i, 1.5 if (b == 3 and i < 4) else 0.1, "established")
            for b in range(4) for i in range(10)]
    lo, hi = batch_means_interval(rows, 0.0, 40.0, 4)  # type: ignore[misc]
    se = math.sqrt((3 * 1.0**2 + 3.0**2) / (4 * 3)) / 10  # sum (d_b - f n_b)^2 / (B (B-1)) / nbar
    assert (lo, hi) == pytest.approx((0.0, 0.1 + 3.182446305284263 * se))
    # the same 4 delayed spread evenly: no spread between slices, a zero-width interval
    even = [(10.0 * b + i, 1.5 if i == 0 else 0.1, "established")
            for b in range(4) for i in range(10)]
    assert batch_means_interval(even, 0.0, 40.0, 4) == pytest.approx((0.1, 0.1))
    # failed connects count as delayed; local errors are not connects; an empty slice: None
    mixed = [(1.0, None, "failed"), (2.0, None, "local_error"), (3.0, 0.2, "established")]
    assert batch_means_interval(mixed, 0.0, 4.0, 1) is None
    assert batch_means_interval(mixed, 0.0, 40.0, 2) is None


def test_auto_engine_uses_monte_carlo_and_falls_back_where_it_does_not_cover(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import snatsim
    from snatsim.sizing.evaluators import EstimateEvaluator, SimulateEvaluator, make_evaluator

    auto = make_evaluator("auto", connects=500)
    assert isinstance(auto, EstimateEvaluator) and isinstance(auto.fallback, SimulateEvaluator)
    assert auto.fallback.connects == 500
    assert isinstance(make_evaluator("des"), SimulateEvaluator)
    strict = make_evaluator("mc")
    assert isinstance(strict, EstimateEvaluator) and strict.fallback is None

    def not_covered(sc: Scenario, **_: object) -> None:
        raise ConfigError("kernel.version", "not sampled")

    monkeypatch.setattr(snatsim, "estimate", not_covered)
    fallback = Scripted(lambda sc: 0.25)
    assert EstimateEvaluator(fallback=fallback)(scenario(), 3).fraction == 0.25
    assert fallback.seeds == [3]
    with pytest.raises(ConfigError, match="not sampled"):
        strict(scenario(), 3)
