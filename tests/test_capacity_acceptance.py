"""Issue #10 acceptance: ``snatsim.capacity`` where the race binds and where exhaustion binds.

The returned value meets the target and 20 % beyond it misses it, each checked by an independent
run (another seed, more connects or trials) with the rule the answer uses: meets = the upper end
of the 95 % interval is below the target. The SimPy model for both (short, fixed seeds), and the
Monte Carlo engine for the race; where it does not cover a scenario, or where its interval lies
under the analytic exhaustion floor, ``auto`` falls back to the SimPy model and each evaluation
says so.
"""

from __future__ import annotations

import pytest

from snatsim.config import Scenario
from snatsim.sizing.axes import axis, replace_values
from snatsim.sizing.evaluators import EstimateEvaluator, Evaluation, SimulateEvaluator
from snatsim.sizing.search import capacity

POISSON = {"name": "api", "pods": 30, "clients_per_pod": 2, "arrival": "poisson",
           "destinations": ["203.0.113.10:443"],
           "hold_s": {"distribution": "lognormal", "mean": 0.2, "sigma": 0.8}, "close": "fin"}

# A1 rover (4.14), 4 CPUs, a 100 µs NAT -> confirm window: the race binds long before the
# 64,512-port window runs out (exhaustion bound ~540/s)
RACE = {
    "simulation": {"duration_s": 60.0, "warmup_s": 0.0, "seed": 11},
    "kernel": {"version": "4.14"},
    "nat": {"target": "masquerade"},
    "node": {"cpus": 4, "steering": "client",
             "nat_to_confirm_us": {"distribution": "lognormal", "mean": 100.0, "sigma": 0.5}},
    "workload": [{**POISSON, "rate_per_s": 100.0}],
}

# 256 --to-ports on 5.4 (A2, no eviction), RST close (10 s CLOSE hold): exhaustion binds near
# 256 / 10.5 s ~ 24/s; short holds give many independent full-window episodes per run
EXHAUSTION = {
    "simulation": {"duration_s": 600.0, "warmup_s": 60.0, "seed": 3},
    "kernel": {"version": "5.4"},
    "nat": {"target": "masquerade", "to_ports": "20000-20255"},
    "node": {"cpus": 4, "steering": "client"},
    "workload": [{**POISSON, "pods": 10, "rate_per_s": 1.0, "hold_s": 0.5, "close": "rst"}],
}


def check(data: dict[str, object], target: float, cause: str, search_connects: int,
          check_connects: int) -> tuple[float, float, float]:
    """Search, then re-run the answer and 1.2 x the answer with another seed."""
    sc = Scenario.from_dict(data)
    answer = capacity(sc, max_delayed=target, rng=1,
                      evaluator=SimulateEvaluator(connects=search_connects))
    assert answer.status == "found" and answer.value is not None
    assert answer.binding_cause == cause
    ax = axis(sc, "workload.0.rate_per_s")
    independent = SimulateEvaluator(connects=check_connects)
    at = independent(ax.set_value(sc, answer.value), 2)
    beyond = independent(ax.set_value(sc, 1.2 * answer.value), 2)
    assert at.hi < target, (answer.message(), at)  # meets
    assert beyond.hi >= target, (answer.message(), beyond)  # misses
    assert beyond.fraction > at.fraction
    assert beyond.binding_cause == cause
    return answer.value, at.fraction, beyond.fraction


@pytest.mark.slow
def test_race_binds_answer_meets_and_20_percent_beyond_misses() -> None:
    # the check's interval must be much narrower than the search's: the answer is the largest
    # value whose search interval lies under the target, so its true fraction sits ~2 search SE
    # under it; 16x the connects (1/4 of the SE) confirms that with ~93 % odds per seed
    value, _, _ = check(RACE, 5e-3, "race", search_connects=10_000, check_connects=160_000)
    assert 100 < value < 540  # well below the exhaustion bound


@pytest.mark.slow
def test_exhaustion_binds_answer_meets_and_20_percent_beyond_misses() -> None:
    value, _, beyond = check(EXHAUSTION, 1e-2, "exhaustion", search_connects=20_000,
                             check_connects=60_000)
    assert beyond > 1e-2  # the loss law is steep: 20 % more load is well past the target
    assert 10.0 < value < 256 / 10.5  # below Little's law's full window


@pytest.mark.slow
def test_race_binds_with_monte_carlo_and_an_independent_estimate_confirms() -> None:
    sc = Scenario.from_dict(RACE)
    target = 5e-3
    answer = capacity(sc, max_delayed=target, rng=1, evaluator=EstimateEvaluator(
        fallback=SimulateEvaluator(connects=10_000), trials=1 << 18))
    assert answer.status == "found" and answer.value is not None and answer.edge is not None
    # Monte Carlo decides the edge; only the start of the bracket, the exhaustion bound, where
    # the window fills up, falls back: its steady run (warm-up included) is too long for the
    # engine's exhaustion simulation
    assert answer.at(answer.value).method == answer.at(answer.edge).method == "mc"
    fell_back = [(x, e) for x, e in answer.points if e.method == "des"]
    assert [x for x, _ in fell_back] == [pytest.approx(answer.exhaustion_bound)]
    assert "simulation.duration_s" in fell_back[0][1].note
    assert answer.binding_cause == "race"
    assert 100 < answer.value < answer.edge < 540  # well below the exhaustion bound
    ax = axis(sc, "workload.0.rate_per_s")
    independent = EstimateEvaluator(fallback=None, trials=1 << 20)  # another seed, 4x trials
    at = independent(ax.set_value(sc, answer.value), 2)
    beyond = independent(ax.set_value(sc, 1.2 * answer.value), 2)
    # meets: the answer is the largest rate whose 2^18-trial interval lies under the target;
    # another seed's at 4x the trials lies under it too (177/s: 0.495 % [0.493, 0.497], the
    # edge at 183/s; each trial reads the pod-port odds at its own time, mc.engine.trial_times)
    assert at.hi < target, (answer.message(), at)
    assert beyond.hi >= target and beyond.lo > target, (answer.message(), beyond)  # misses
    assert beyond.binding_cause == "race"


def test_auto_falls_back_where_monte_carlo_lies_under_the_exhaustion_floor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 20/s x 10.5 s on 256 ports (82 % held): the loss law's floor is 2.6e-4. A Monte Carlo
    # interval under it (as the steady state once gave: 7e-7) sends the point to the fallback
    import snatsim

    sc = axis(Scenario.from_dict(EXHAUSTION), "workload.0.rate_per_s").set_value(
        Scenario.from_dict(EXHAUSTION), 20.0)

    def fallback(scenario: Scenario, rng: object, meter: object = None) -> Evaluation:
        return Evaluation(5e-4, 1e-4, 2e-3, "exhaustion", 100, "des")

    class Under:
        def summary(self) -> dict[str, object]:
            return {"delayed_fraction": {"ge_1s": 7e-7}, "trials": 4096,
                    "delayed_fraction_ci95": {"ge_1s": [6e-7, 8e-7]},
                    "drops": {"race": 1.0}, "delayed_counts": {"of": 12_000}}

    real = snatsim.estimate
    monkeypatch.setattr(snatsim, "estimate", lambda *a, **k: Under())
    auto = EstimateEvaluator(fallback=fallback)  # type: ignore[arg-type]
    e = auto(sc, 1)
    assert (e.method, e.fraction) == ("des", 5e-4)
    assert e.note == "mc gave 7e-07 [6e-07, 8e-07] under the analytic exhaustion floor 0.000261"
    strict = EstimateEvaluator(fallback=None)(sc, 1)  # --engine mc keeps its own figure
    assert (strict.method, strict.fraction) == ("mc", 7e-7)
    # 6.6 evicts TIME_WAIT/CLOSE entries: the floor is no lower bound there, Monte Carlo stands
    evicting = replace_values(sc, {"kernel": {"version": "6.6"}})
    assert evicting.kernel.profile().nat_era.name == "A3"
    kept = auto(evicting, 1)
    assert (kept.method, kept.fraction, kept.note) == ("mc", 7e-7, "")
    monkeypatch.setattr(snatsim, "estimate", real)
    covered = EstimateEvaluator(fallback=fallback, trials=1 << 18)(  # type: ignore[arg-type]
        axis(sc, "workload.0.rate_per_s").set_value(sc, 10.0), 1)
    assert covered.method == "mc" and covered.note == ""  # the floor (~1e-13) is no objection
