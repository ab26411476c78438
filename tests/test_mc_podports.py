"""The pod-port-held odds of the Monte Carlo engine (snatsim.mc.podports; spec §4.2 step 3, §8).

Checked against the model's own equations solved independently: the steady state by a root
finder, the first life (nothing expires yet) by an ODE solver; and the cases the SimPy model
shows exactly (one pod: every port kept).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

import snatsim
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


def test_the_first_life_follows_the_odes_of_a_filling_table() -> None:
    """Before any entry expires: dK/dt = r (1 - h), dSc/dt = r h q (q on N = r t)."""
    rate, life_s, own = 293.0, 120.2, 1 / 30

    def odes(t_s: float, y: np.ndarray) -> list[float]:
        kept, searched = y
        h = ((1 - own) * kept + searched) / C
        q = (C - kept - searched) / (S - rate * t_s)
        return [rate * (1 - h), rate * h * q]

    t, h = held_curve([rate], [life_s], [30], C, S, 350.0)
    first = t < life_s
    sol = solve_ivp(odes, (0.0, life_s), [0.0, 0.0], t_eval=t[first], rtol=1e-9, atol=1e-6)
    exact = ((1 - own) * sol.y[0] + sol.y[1]) / C
    assert np.max(np.abs(h[first] - exact)) < 5e-3  # implicit steps of life / 100


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


def test_the_plan_follows_the_run_from_its_start() -> None:
    sc = snatsim.load_scenario("configs/default.toml")
    d = plan(sc).destinations[0]
    life_s = d.flows[0].live_s + d.flows[0].closing_s
    t, h = held_curve([300.0], [life_s], [30], d.pod_choices, d.size, sc.simulation.duration_s)
    times = np.array([0.0, 60.0, 200.0, 600.0])
    assert np.allclose(d.pod_port_held(times), np.interp(times, t, h))
    assert float(d.pod_port_held(0.0)) == 0.0
