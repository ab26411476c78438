"""The same SeedSequence passed twice gives the same streams and the same replicates.

``SeedSequence.spawn`` counts the children it has handed out; a helper that spawned from the
caller's object gave a second call other children than the first (issue #7).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from snatsim.config import Scenario, load_scenario
from snatsim.replicates import replicate
from snatsim.rng import spawn, spawn_seeds

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "legacy-rover.toml"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(CONFIG, ["simulation.duration_s=5", "simulation.warmup_s=0"])


def test_spawn_twice_from_one_seed_sequence_gives_the_same_generators() -> None:
    ss = np.random.SeedSequence(2**70 + 5).spawn(3)[2]  # a child: its spawn key is kept
    first = [g.integers(0, 2**63, size=4).tolist() for g in spawn(ss, 3)]
    second = [g.integers(0, 2**63, size=4).tolist() for g in spawn(ss, 3)]
    assert first == second
    assert ss.n_children_spawned == 0  # the caller's object is left as it was
    assert [c.spawn_key for c in spawn_seeds(ss, 2)] == [(2, 0), (2, 1)]
    # the children are the ones a fresh copy of the seed gives: what provenance can replay
    again = np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key).spawn(3)
    assert first == [np.random.default_rng(c).integers(0, 2**63, size=4).tolist() for c in again]


def test_spawn_of_an_int_is_spawn_of_its_seed_sequence() -> None:
    a = [g.random(3).tolist() for g in spawn(11, 2)]
    b = [g.random(3).tolist() for g in spawn(np.random.SeedSequence(11), 2)]
    assert a == b and a[0] != a[1]


def test_replicate_twice_with_one_seed_sequence_gives_the_same_replicates(
    scenario: Scenario,
) -> None:
    ss = np.random.SeedSequence(2**64 + 9)
    first = replicate(scenario, 2, rng=ss, workers=1).summaries
    second = replicate(scenario, 2, rng=ss, workers=1).summaries
    assert first == second
    assert first[0] != first[1]  # independent children, different runs
    # and the provenance replays them: the int entropy gives the same replicates
    assert replicate(scenario, 2, rng=ss.entropy, workers=1).summaries == first
