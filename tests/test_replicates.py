"""Replicates: independent SeedSequence children, results independent of workers, t intervals."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from snatsim.config import Scenario, load_scenario
from snatsim.replicates import replicate, spread_interval
from snatsim.results import simulate

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "legacy-rover.toml"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(CONFIG, ["simulation.duration_s=130", "simulation.warmup_s=0"])


def test_results_do_not_depend_on_the_number_of_workers(scenario: Scenario) -> None:
    serial = replicate(scenario, 3, rng=42, workers=1)
    parallel = replicate(scenario, 3, rng=42, workers=2)
    for a, b in zip(serial.summaries, parallel.summaries, strict=True):
        assert a == b
    assert serial.summary() == parallel.summary()


def test_replicate_i_is_the_run_seeded_with_child_i(scenario: Scenario) -> None:
    reps = replicate(scenario, 2, rng=7, workers=1)
    child = np.random.SeedSequence(7).spawn(2)[1]
    assert reps.summaries[1] == simulate(scenario, rng=child).summary()
    assert reps.summaries[0] != reps.summaries[1]  # independent streams, different runs
    assert reps.summary()["seeds"] == [[0], [1]]


def test_spread_interval_is_students_t() -> None:
    got = spread_interval([1.0, 2.0, 3.0, 4.0])
    se = math.sqrt(5.0 / 3.0) / 2.0  # sample sd of 1..4 is sqrt(5/3)
    assert got["mean"] == 2.5 and got["se"] == pytest.approx(se)
    assert got["ci95"] == pytest.approx([2.5 - 3.182446305 * se, 2.5 + 3.182446305 * se])
    assert spread_interval([0.5])["ci95"] is None  # one replicate has no spread


def test_pooled_counts_add_up(scenario: Scenario) -> None:
    reps = replicate(scenario, 2, rng=3, workers=1)
    pooled = reps.summary()["delayed_counts"]
    assert pooled["of"] == sum(s["delayed_counts"]["of"] for s in reps.summaries)
    assert pooled["ge_1s"] == sum(s["delayed_counts"]["ge_1s"] for s in reps.summaries)


def test_zero_replicates_is_an_error(scenario: Scenario) -> None:
    with pytest.raises(ValueError, match=r"is outside 1\.\.10,000"):
        replicate(scenario, 0)
