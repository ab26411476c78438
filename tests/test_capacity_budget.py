"""The capacity search's budget (snatsim.sizing.budget): a search that would cost more stops with
what it established, never hangs. Deterministic: budgets in evaluations and simulated connects,
and a scripted clock for the wall budget (no wall-clock assertions)."""

from __future__ import annotations

import itertools

import pytest
from test_capacity_search import Scripted, rate, scenario

from snatsim.config import Scenario
from snatsim.errors import ConfigError
from snatsim.sizing.axes import axis
from snatsim.sizing.budget import Budget, BudgetExhausted
from snatsim.sizing.evaluators import Evaluation, SimulateEvaluator, settle_s
from snatsim.sizing.search import capacity


def test_max_evaluations_stops_with_the_bracket_so_far() -> None:
    # delayed = rate * 1e-5 (target 1e-3: met below 95.2/s): stopped after each possible count
    ev = Scripted(lambda sc: rate(sc) * 1e-5)
    full = capacity(scenario(), max_delayed=1e-3, evaluator=ev, rng=1)
    assert full.status == "found"
    n = len(full.points)
    for limit in range(1, n):
        answer = capacity(scenario(), max_delayed=1e-3, evaluator=Scripted(ev.law), rng=1,
                          budget=Budget(max_evaluations=limit))
        assert answer.status == "budget"
        assert len(answer.points) == limit == answer.spent["evaluations"]
        assert set(answer.points) <= set(full.points)  # the same evaluations, fewer of them
        assert answer.stopped is not None and answer.stopped.flag == "--max-evaluations"
        assert answer.stopped_at is not None and answer.stopped_at not in dict(answer.points)
        # what it says is true of the points it made
        if answer.value is not None:
            assert answer.at(answer.value).hi < 1e-3
        if answer.edge is not None:
            assert answer.at(answer.edge).hi >= 1e-3
            assert answer.value is None or answer.value < answer.edge
        text = answer.message()
        assert "stopped by the budget" in text and "raise --max-evaluations" in text
        assert text.count("\n") == 0
        assert answer.to_dict()["stopped"]["option"] == "--max-evaluations"
    # a budget of exactly what it needs changes nothing
    same = capacity(scenario(), max_delayed=1e-3, evaluator=Scripted(ev.law), rng=1,
                    budget=Budget(max_evaluations=n))
    assert (same.status, same.value, same.edge) == (full.status, full.value, full.edge)


def test_a_bracket_found_before_the_stop_is_reported_as_the_interval() -> None:
    ev = Scripted(lambda sc: rate(sc) * 1e-5)
    full = capacity(scenario(), max_delayed=1e-3, evaluator=ev, rng=1)
    met = [x for x, e in full.points if e.hi < 1e-3]
    missed = [x for x, e in full.points if e.hi >= 1e-3]
    # stop right after the first miss: the last met and that miss are the bracket
    first_miss = next(i for i, (_, e) in enumerate(evaluation_order()) if e.hi >= 1e-3)
    answer = capacity(scenario(), max_delayed=1e-3, evaluator=Scripted(ev.law), rng=1,
                      budget=Budget(max_evaluations=first_miss + 1))
    assert answer.status == "budget" and answer.value in met and answer.edge in missed
    assert "lies between them" in answer.message()
    assert answer.to_dict()["interval"] == [answer.value, answer.edge]


def evaluation_order() -> list[tuple[str, Evaluation]]:
    """The evaluations of the unlimited search, in the order they were made."""
    log: list[tuple[str, Evaluation]] = []
    capacity(scenario(), max_delayed=1e-3, evaluator=Scripted(lambda sc: rate(sc) * 1e-5),
             rng=1, progress=lambda shown, e: log.append((shown, e)))
    return log


def test_nothing_met_and_nothing_evaluated_are_said_plainly() -> None:
    answer = capacity(scenario(), max_delayed=1e-3, evaluator=Scripted(lambda sc: 0.5), rng=1,
                      budget=Budget(max_evaluations=2))
    assert answer.status == "budget" and answer.value is None and answer.edge is not None
    assert "met at none of the values tried" in answer.message()
    tick = itertools.count(0.0, 100.0)  # every reading of the clock is 100 s later
    nothing = capacity(scenario(), max_delayed=1e-3, evaluator=Scripted(lambda sc: 0.5), rng=1,
                       budget=Budget(wall_s=50.0), clock=lambda: next(tick))
    assert nothing.status == "budget" and nothing.points == []
    assert nothing.stopped is not None and nothing.stopped.flag == "--budget-s"
    assert "nothing was evaluated" in nothing.message() and "raise --budget-s" in nothing.message()


def test_wall_budget_on_a_scripted_clock() -> None:
    tick = itertools.count(0.0, 10.0)  # 10 s per reading: start, then one check per evaluation
    answer = capacity(scenario(), max_delayed=1e-3, evaluator=Scripted(lambda sc: rate(sc) * 1e-5),
                      rng=1, budget=Budget(wall_s=35.0), clock=lambda: next(tick))
    assert answer.status == "budget" and answer.stopped is not None
    assert answer.stopped.flag == "--budget-s"
    assert len(answer.points) == 3  # checks at 10, 20, 30 s pass; 40 s > 35 s stops
    assert answer.spent["evaluations"] == 3


TINY = {  # 2 pods at 20/s, 1 s warm-up (the steady one: 121 s): cheap SimPy runs
    "simulation": {"duration_s": 20.0, "warmup_s": 1.0, "seed": 2},
    "kernel": {"version": "6.1"},
    "workload": [{"name": "api", "pods": 2, "arrival": "poisson", "rate_per_s": 20.0,
                  "destinations": ["203.0.113.10:443"]}],
}


def test_simpy_evaluation_over_max_connects_is_not_run_and_the_answer_says_so() -> None:
    sc = Scenario.from_dict(TINY)
    ax = axis(sc, "workload.0.rate_per_s")
    ev = SimulateEvaluator(connects=500, min_measured_s=1.0)
    # the warm-up is the steady state's (the entries' life: 120 s TIME_WAIT), not the scenario's
    warmup_s = settle_s(sc)
    assert warmup_s > 120.0

    def predicted(x: float) -> float:
        return x * (warmup_s + max(1.0, 500 / x))  # rate x (warm-up + measured), no exhaustion

    # a run at 20/s (~2,900 connects) fits a 20,000-connect budget and is counted
    meter = Budget(max_connects=20_000).meter()
    assert ev(ax.set_value(sc, 20.0), 1, meter).method == "des"
    assert 0.9 * predicted(20.0) <= meter.connects <= 1.1 * predicted(20.0) <= 20_000
    # the search starts at the exhaustion bound (~540/s: ~67,000 connects predicted): refused
    answer = capacity(sc, max_delayed=2e-2, evaluator=ev, rng=1,
                      budget=Budget(max_connects=20_000))
    assert answer.status == "budget" and answer.stopped is not None
    assert answer.stopped.flag == "--max-connects"
    assert answer.stopped_at is not None and answer.exhaustion_bound is not None
    assert answer.stopped_at == pytest.approx(answer.exhaustion_bound)
    assert predicted(answer.stopped_at) > 20_000
    assert answer.points == [] and answer.spent["connects"] == 0
    assert "raise --max-connects" in answer.message()
    assert ax.show(answer.stopped_at) in answer.message()


def test_a_closed_loop_run_past_max_connects_is_abandoned() -> None:
    closed = Scenario.from_dict({**TINY, "workload": [
        {"name": "pool", "pods": 4, "arrival": "closed-loop", "think_time_s": 0.01,
         "destinations": ["203.0.113.20:443"]}]})
    meter = Budget(max_connects=300).meter()  # the run makes ~680 connects
    with pytest.raises(BudgetExhausted, match="passed 330 simulated connects"):
        SimulateEvaluator()(closed, 1, meter)
    assert meter.connects == 0  # an abandoned run is not counted
    small = Budget(max_connects=1_000_000).meter()
    e = SimulateEvaluator()(closed, 1, small)
    assert small.connects >= e.connects > 330


@pytest.mark.parametrize(("kwargs", "flag"), [
    ({"max_evaluations": 0}, "--max-evaluations"),
    ({"max_connects": 0}, "--max-connects"),
    ({"wall_s": 0.0}, "--budget-s"),
    ({"wall_s": float("nan")}, "--budget-s"),
])
def test_bad_budgets_name_the_option(kwargs: dict[str, float], flag: str) -> None:
    with pytest.raises(ConfigError, match=flag):
        Budget(**kwargs)  # type: ignore[arg-type]
