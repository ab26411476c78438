"""The times a Monte Carlo block reads its window at: stratified block phases, and each trial's own
time for the pod-port odds where the occupancy is flat (snatsim.mc.engine, issue #9).

With one uniform time per block, a window whose pod-port odds still ring (mc.podports) spread the
blocks so much that 16x the trials left the interval as wide (64 blocks either way)."""

from __future__ import annotations

import numpy as np
import pytest
from test_capacity_acceptance import RACE as RACE_100

import snatsim
from snatsim.config import Scenario
from snatsim.mc import blocks, engine
from snatsim.mc.steady import plan
from snatsim.sizing.evaluators import steady_state

# the capacity acceptance's race point (4.14 rover, 4 CPUs, 100 µs NAT -> confirm) at 148/s
# as capacity evaluates it: measured after every entry's life (steady_state: a 120.202 s
# warm-up), on Little's law's plateau
RACE_AS_WRITTEN = {**RACE_100, "workload": [{**RACE_100["workload"][0], "rate_per_s": 148.0}]}
RACE = steady_state(Scenario.from_dict(RACE_AS_WRITTEN))


def test_each_groups_blocks_walk_a_weyl_sequence_from_their_own_start() -> None:
    root = np.random.SeedSequence(4)
    groups = blocks.PHASE_GROUPS
    phases = np.array([blocks.block_phase(root, 0, b) for b in range(4 * groups)])
    assert ((phases >= 0) & (phases < 1)).all()
    walk = phases.reshape(4, groups)  # row j: the j-th block of every group
    step = (walk[1:] - walk[:-1]) % 1.0
    assert np.allclose(step, blocks.WEYL_STEP)
    assert len(np.unique(walk[0])) == groups  # independent starts
    assert blocks.block_phase(root, 1, 0) != phases[0]  # and per destination
    assert blocks.block_phase(np.random.SeedSequence(5), 0, 0) != phases[0]


def _ge_1s(summary: dict[str, object]) -> tuple[float, float]:
    ci = summary["delayed_fraction_ci95"]["ge_1s"]  # type: ignore[index]
    return summary["delayed_fraction"]["ge_1s"], (ci[1] - ci[0]) / 2  # type: ignore[index]


def test_trials_read_the_pod_port_odds_at_their_own_time_only_on_a_flat_occupancy() -> None:
    assert engine.DestinationSampler(plan(RACE), 0).trial_times
    filling = Scenario.from_dict(RACE_AS_WRITTEN)
    assert not engine.DestinationSampler(plan(filling), 0).trial_times
    default = snatsim.load_scenario("configs/default.toml")  # 30 s warm-up < 120 s TIME_WAIT
    assert not engine.DestinationSampler(plan(default), 0).trial_times


def test_four_times_the_trials_halve_the_interval_where_the_occupancy_is_flat() -> None:
    sc = RACE
    _, small = _ge_1s(snatsim.estimate(sc, rng=2, trials=1 << 16).summary())
    _, large = _ge_1s(snatsim.estimate(sc, rng=2, trials=1 << 18).summary())
    assert 0.3 < large / small < 0.7  # 1/sqrt(4); one time per block gave ~1.0


def test_trial_times_estimate_what_one_time_per_block_estimates(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sc = RACE
    seeds = range(2, 22)

    def spread(values: list[float]) -> tuple[float, float]:
        return float(np.mean(values)), float(np.std(values, ddof=1) / np.sqrt(len(values)))

    mean_t, se_t = spread([_ge_1s(snatsim.estimate(sc, rng=s, trials=1 << 15).summary())[0]
                           for s in seeds])
    init = engine.DestinationSampler.__init__

    def per_block(self: engine.DestinationSampler, *args: object) -> None:
        init(self, *args)  # type: ignore[arg-type]
        self.trial_times = False

    monkeypatch.setattr(engine.DestinationSampler, "__init__", per_block)
    mean_b, se_b = spread([_ge_1s(snatsim.estimate(sc, rng=s, trials=1 << 15).summary())[0]
                           for s in seeds])
    assert abs(mean_t - mean_b) <= 4 * np.hypot(se_t, se_b), (mean_t, se_t, mean_b, se_b)
    assert se_t < se_b / 5  # the seeds' spread: ~20x smaller measured at 2^18 trials
