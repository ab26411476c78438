"""snatsim.mc.exhaustion: the simulated occupancy of windows and tables that fill up (issue #9).

Against closed forms (Erlang B for a pure loss system), determinism and chunk extension, the
refusals of the mode, and the switch from the steady engine. The agreement with the SimPy model
is in tests/test_mc_des_agreement.py (test_estimate_follows_a_filling_window_or_table).
"""

from __future__ import annotations

import numpy as np
import pytest

import snatsim
from snatsim.analytic.occupancy import erlang_b
from snatsim.errors import ConfigError
from snatsim.estimates import T975, EstimateResult
from snatsim.mc import exhaustion
from snatsim.mc.engine import run
from snatsim.mc.steady import FULL_TAIL, MAX_OCCUPANCY, full_odds, plan

# 16 --to-ports, RST close: each connect holds a port 0.002 + 0.5 + 10 s; a 0.5 s app timeout
# ends a connect at its first drop (no retransmit), so the window is a pure loss system
LOSS = ["nat.to_ports=\"20000-20015\"", "workload.0.close=\"rst\"", "workload.0.hold_s=0.5",
        "workload.0.connect_timeout_s=0.5", "simulation.duration_s=600",
        "simulation.warmup_s=60"]
HOLD_S = 0.002 + 0.5 + 10.0


def _scenario(*overrides: str) -> snatsim.Scenario:
    return snatsim.load_scenario("configs/to-ports-restricted.toml", list(overrides))


@pytest.mark.parametrize(("version", "rate_per_s"), [("4.14", 1.5), ("5.4", 1.5), ("6.6", 2.0)])
def test_a_loss_window_drops_first_syns_as_erlang_b(version: str, rate_per_s: float) -> None:
    """A1 searches the whole window and a <= 128-port A2+ window has one round of every port
    (16 divides 65,536: no wrap), so a SYN is lost exactly when all 16 ports are held (spec
    §4.4); RST-closed entries are CLOSE and 6.6 evicts them (spec §5.3), so the loss falls
    below Erlang B there."""
    sc = _scenario(*LOSS, f"kernel.version={version}", f"workload.0.rate_per_s={rate_per_s}")
    s = snatsim.estimate(sc, rng=4, trials=1).summary()
    lo, hi = s["ci95"]["delayed_fraction_ge_1s"]
    se = (hi - lo) / 2 / T975[-1]
    p = s["delayed_fraction"]["ge_1s"]
    truth = erlang_b(16, rate_per_s * HOLD_S)
    if version == "6.6":
        assert p < truth - 4 * se and s["ports"]["time_wait_evicted"] > 0
    else:
        assert abs(p - truth) <= 4 * se, (p, se, truth)
        assert s["connections"]["app_timeouts"] == pytest.approx(p * s["connections"]["attempted"])


def test_same_seed_same_tallies_and_more_trials_extend_them() -> None:
    sc = _scenario(*LOSS, "workload.0.rate_per_s=1.5", "simulation.duration_s=200")
    steady = plan(sc)
    assert steady.exhaustion is not None
    root = np.random.SeedSequence(9)
    one = run(steady, root, 1)
    again = run(steady, np.random.SeedSequence(9), 1)
    width = exhaustion.chunk_replicas(steady.exhaustion)
    per = exhaustion.connections_per_replica(steady.exhaustion)
    two = run(steady, root, round(2 * width * per))
    more = run(steady, root, round(width * per), after=one)
    assert len(one.exhausted[0]) == width and len(two.exhausted[0]) == 2 * width
    assert np.array_equal(one.exhausted[0], again.exhausted[0])
    assert np.array_equal(two.exhausted[0][:width], one.exhausted[0])
    assert np.array_equal(more.exhausted[0], two.exhausted[0])
    assert one.trials == one.exhausted[0][:, 0].sum() > 0.9 * width * per


def test_a_closed_loop_towards_a_full_window_is_refused_by_field() -> None:
    raw = _scenario().to_dict()
    wl = {k: v for k, v in raw["workload"][0].items() if k != "rate_per_s"}
    raw["workload"] = [wl | {"arrival": "closed-loop", "think_time_s": 1.0}]
    sc = snatsim.Scenario.from_dict(raw)
    with pytest.raises(ConfigError) as err:
        snatsim.estimate(sc, trials=1)
    assert err.value.field == "workload.0.arrival"


@pytest.mark.parametrize(("size", "held", "simulated"), [
    (256, 180.0, False), (256, 190.0, True),  # the Poisson tail at a full window: 6e-8, 3e-6
    (64512, 0.89 * 64512, False), (64512, 0.91 * 64512, True),  # MAX_OCCUPANCY
])
def test_the_engines_switch_where_the_window_could_fill(size: int, held: float,
                                                         simulated: bool) -> None:
    to_ports = f"nat.to_ports=\"1024-{1024 + size - 1}\""
    sc = _scenario(to_ports, f"workload.0.rate_per_s={held / 120.502}", "workload.0.hold_s=0.5")
    assert (full_odds(held, size) > FULL_TAIL or held > MAX_OCCUPANCY * size) == simulated
    if size > 256 and simulated:  # ~290,000 connects a run: too many to step through
        with pytest.raises(ConfigError) as err:
            plan(sc)
        assert err.value.field == "simulation.duration_s"
    else:
        assert (plan(sc).exhaustion is not None) == simulated


def test_full_odds_is_the_poisson_tail() -> None:
    from scipy.stats import poisson

    for mean, size in [(180.0, 256), (217.6, 256), (0.5, 3), (58000.0, 64512), (255.9, 256)]:
        assert full_odds(mean, size) == pytest.approx(poisson.sf(size - 1, mean), rel=1e-9)
    assert full_odds(256.0, 256) == 1.0 and full_odds(0.0, 5) == 0.0


@pytest.mark.slow
def test_the_steady_state_overshoots_where_the_window_could_fill() -> None:
    """The boundary: on a 256-port 5.4 window at 85 % (Little), the steady state's untruncated
    Poisson occupancy is full in 0.6 % of its blocks, where every SYN and all its retransmits
    give up (the occupancy persists): at least 0.6 % x 7 = 0.042 exhaustion drops per connect
    in expectation, where the simulated occupancy (which the SimPy model agrees with: 78 drops
    in 25,263 connects over seeds 11-14 of 3,600 s) gives ~0.005. So plan() simulates the
    occupancy there (FULL_TAIL)."""
    sc = _scenario("kernel.version=5.4", "workload.0.rate_per_s=1.806")
    steady = plan(sc)
    assert steady.exhaustion is not None
    held = float(steady.destinations[0].held(sc.simulation.duration_s))
    steady_at_least = full_odds(held, 256) * len(steady.schedule.send_times_s)
    root = np.random.SeedSequence(5)
    simulated = EstimateResult(sc, steady, run(steady, root, 1), 5, root).ci95()
    lo, hi = simulated["exhaustion_drops_per_connect"]
    assert lo > 0 and steady_at_least > 2 * hi, (steady_at_least, lo, hi)


def test_table_full_counts_early_drops_and_keeps_pod_ports_of_open_windows() -> None:
    """30/s against nf_conntrack_max = 3,000 (spec §10): the 64,512-port window is far from full
    (not tracked), so pod ports are kept with the steady state's odds; a SYN that finds the
    table full early-drops an entry still waiting for its SYN-ACK when one is (RTT 2 ms)."""
    sc = snatsim.load_scenario("configs/default.toml", [
        "conntrack.max=3000", "workload.0.rate_per_s=30", "simulation.duration_s=360"])
    s = snatsim.estimate(sc, rng=2, trials=1).summary()
    assert s["drops"]["table_full"] > s["connections"]["attempted"]
    assert s["conntrack"]["drop"] == pytest.approx(s["drops"]["table_full"])
    assert s["conntrack"]["insert_failed"] == 0.0
    assert 0 < s["conntrack"]["early_drop"] < 0.02 * s["drops"]["table_full"]
    assert 0.7 < s["ports"]["preserved_fraction"] < 0.9  # the DES, seed 3: 0.835
