"""The pod-port-held odds of the Monte Carlo engine (snatsim.mc.podports; spec §4.2 step 3, §8).

Checked against the model's own equations solved independently: the steady state by a root
finder, the first life (nothing expires yet) by an ODE solver; and the cases the SimPy model
shows exactly (one pod: every port kept).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq, fsolve

import snatsim
from snatsim.mc import podports
from snatsim.mc.podports import held_curve
from snatsim.mc.steady import plan

C, S = 14_116, 64_512  # even ports of 32768-60999, the 1024-65535 window


def _steady(held: float, own: float) -> float:
    """Steady state: kept K = (1-h) N on candidates, searched h N with a share q of free
    candidates over free ports; h = ((1-own) K + Sc) / C."""

    def gap(h: float) -> float:
        kept = (1 - h) * held
        # searched on candidates Sc = h N q, q = (C - K - Sc) / (S - N): linear in Sc
        searched = h * held * (C - kept) / (S - held + h * held)
        return ((1 - own) * kept + searched) / C - h

    return float(brentq(gap, 0.0, 1.0, xtol=1e-14))


@pytest.mark.parametrize(("rate", "life_s", "pods"), [(293.0, 120.2, 30), (100.0, 120.2, 30),
                                                      (293.0, 120.2, 3), (2_000.0, 0.3, 30)])
def test_the_curve_settles_on_the_steady_state(rate: float, life_s: float, pods: int) -> None:
    t, h = held_curve([rate], [life_s], [pods], C, S, 40 * life_s)
    assert t[0] == 0.0 and h[0] == 0.0
    assert h[-1] == pytest.approx(_steady(rate * life_s, 1.0 / pods), rel=2e-3)


def test_flows_shorter_than_a_step_sit_at_their_steady_state_at_once() -> None:
    t, h = held_curve([2_000.0], [0.3], [30], C, S, 3_600.0)
    assert t[1] > 0.3  # a step is longer than the life
    assert np.allclose(h[1:], _steady(600.0, 1 / 30), rtol=1e-9)


def _first_life_error(steps_per_life: int | None = None) -> float:
    """Largest gap to the ODEs of a filling table before any entry expires: dK/dt = r (1 - h),
    dSc/dt = r h q (q on N = r t); at ``steps_per_life`` steps of the life, or the defaults."""
    rate, life_s, own = 293.0, 120.2, 1 / 30

    def odes(t_s: float, y: np.ndarray) -> list[float]:
        kept, searched = y
        h = ((1 - own) * kept + searched) / C
        q = (C - kept - searched) / (S - rate * t_s)
        return [rate * (1 - h), rate * h * q]

    with pytest.MonkeyPatch.context() as mp:
        if steps_per_life is not None:
            mp.setattr(podports, "STEPS_PER_LIFE", steps_per_life)
            mp.setattr(podports, "MIN_STEPS", 0)
        t, h = held_curve([rate], [life_s], [30], C, S, 350.0)
    first = t < life_s
    sol = solve_ivp(odes, (0.0, life_s), [0.0, 0.0], t_eval=t[first], rtol=1e-10, atol=1e-8)
    exact = ((1 - own) * sol.y[0] + sol.y[1]) / C
    return float(np.max(np.abs(h[first] - exact)))


def test_the_first_life_follows_the_odes_of_a_filling_table() -> None:
    """Implicit steps: first order, so halving the step halves the gap (0.0085, 0.0043, 0.0022
    at 50, 100, 200 steps of the life); at the defaults (200 steps over this 350 s run, a
    69th of the life) within 1e-2."""
    assert _first_life_error() < 1e-2
    gaps = [_first_life_error(n) for n in (50, 100, 200)]
    assert all(1.8 < coarse / fine < 2.2 for coarse, fine in pairwise(gaps))


def test_after_the_empty_start_the_held_share_rings_for_lives_of_120_s() -> None:
    """Entries of the first life all expire together: the kept share overshoots its steady
    state, dips below it one life later, and is back near it after many lives."""
    t, h = held_curve([293.0], [120.2], [30], C, S, 3_000.0)
    steady = _steady(293.0 * 120.2, 1 / 30)
    assert h[(t > 140) & (t < 170)].max() < steady - 0.05  # still filling: more kept
    assert h[(t > 230) & (t < 250)].max() > steady + 0.05  # the first life's entries expired
    assert abs(h[t > 2_500].mean() - steady) < 0.01


def test_a_single_pod_never_meets_an_entry_of_another_pod() -> None:
    """Its own entries are skipped (open / its TIME_WAIT) or re-opened: every port is kept,
    as in the SimPy model (spec §8)."""
    _t, h = held_curve([100.0], [120.2], [1], C, S, 600.0)
    assert np.all(h == 0.0)


def _steady_probing(held: float, own: float) -> float:
    """Steady state of the A2+ search: a free port found with weight 1 + the busy run before it,
    candidates and odd ports interleaved (held shares o, o_d): q_c = C (1-o)(1+o_d) / (S (1 -
    o o_d)), q_d likewise with o and o_d swapped."""

    def gaps(x: np.ndarray) -> list[float]:
        h, o, o_d = x
        kept = (1 - h) * held
        w = 1 - o * o_d
        searched = h * held * C * (1 - o) * (1 + o_d) / (S * w)
        odd = h * held * C * (1 - o_d) * (1 + o) / (S * w)
        return [((1 - own) * kept + searched) / C - h, (kept + searched) / C - o, odd / C - o_d]

    return float(fsolve(gaps, [0.7, 0.8, 0.4], xtol=1e-13)[0])


def test_the_a2_search_settles_on_its_steady_state() -> None:
    _t, h = held_curve([293.0], [120.2], [30], C, S, 6_000.0, probing=True, odd=C)
    assert h[-1] == pytest.approx(_steady_probing(293.0 * 120.2, 1 / 30), rel=2e-3)
    _t, free = held_curve([293.0], [120.2], [30], C, S, 6_000.0)
    assert h[-1] > free[-1] + 0.01  # landing after busy runs puts more searches on candidates


def test_the_a1_rover_hands_out_no_candidate_below_the_pod_range_on_its_first_lap() -> None:
    """Until it has passed ``rover_lead`` ports only kept entries sit on the candidates:
    h = x / (1 + x), x = (1 - own) rate × life / C; afterwards the free-port model."""
    rate, life_s, own = 100.0, 120.2, 1 / 30
    t, h = held_curve([rate], [life_s], [30], C, S, 1_200.0, rover_lead=10**9,
                      rover_rate_per_s=rate)
    x = (1 - own) * rate * life_s / C
    assert h[-1] == pytest.approx(x / (1 + x), rel=1e-3)
    _t, passed = held_curve([rate], [life_s], [30], C, S, 1_200.0, rover_lead=1_000,
                            rover_rate_per_s=rate)
    _t, free = held_curve([rate], [life_s], [30], C, S, 1_200.0)
    late = t > 600
    assert np.allclose(passed[late], free[late], atol=2e-3)
    assert np.all(h[late] < free[late] - 0.02)


def test_the_plan_follows_the_run_from_its_start() -> None:
    sc = snatsim.load_scenario("configs/default.toml")  # 6.1: A2 search, P3 even ports
    d = plan(sc).destinations[0]
    life_s = d.flows[0].live_s + d.flows[0].closing_s
    t, h = held_curve([300.0], [life_s], [30], d.pod_choices, d.size, sc.simulation.duration_s,
                      probing=True, odd=d.pod_choices)
    times = np.array([0.0, 60.0, 200.0, 600.0])
    assert np.allclose(d.pod_port_held(times), np.interp(times, t, h))
    assert float(d.pod_port_held(0.0)) == 0.0


def test_an_a1_plan_starts_its_rover_below_the_pod_range() -> None:
    sc = snatsim.load_scenario("configs/legacy-rover.toml")  # 4.14, two destinations
    dests = plan(sc).destinations
    assert {d.rover_lead for d in dests} == {32_768 - 1_024}
    assert {d.probing for d in dests} == {False}
    total = sum(d.rate_per_s for d in dests)  # the tickers too: they search as well
    assert {round(d.rover_rate_per_s, 9) for d in dests} == {round(8.0 + 80.0, 9)}
    assert total < 88.0  # rate_per_cpu leaves the aligned tickers out
