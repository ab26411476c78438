"""Result bookkeeping that mutation testing found unpinned (docs/mutation.md, issue #7).

Provenance names every library version under its own name, the entropy that reproduces a run,
per-workload counts add up over many connections, and the empty-latency summary has the same
keys as a full one.
"""

from __future__ import annotations

import platform
from importlib.metadata import version

import numpy as np
import pytest
from des_scripts import once, scenario

from snatsim import __version__
from snatsim.results import PERCENTILES, library_versions, provenance, simulate
from snatsim.rundata import ConnectionStats
from snatsim.sketch import QuantileSketch


def test_library_versions_name_each_library_that_shapes_results() -> None:
    libs = ("numpy", "scipy", "simpy", "pydantic", "pandas")
    assert library_versions() == {
        "snatsim": __version__, "python": platform.python_version(),
        **{lib: version(lib) for lib in libs},
    }


def test_provenance_keeps_the_entropy_that_reproduces_the_run() -> None:
    s = scenario(once("w"))
    ss = np.random.SeedSequence(2**70 + 3).spawn(2)[1]
    assert provenance(s, None, ss) == {
        "config": s.to_dict(), "seed": None, "entropy": str(2**70 + 3), "spawn_key": [1],
        "versions": library_versions(),
    }


def test_a_run_without_a_completed_connect_has_every_latency_key_empty() -> None:
    """The only connect starts 1 ms before the end (round trip 2 ms): still in flight."""
    result = simulate(scenario(once("w", at_s=2.999), duration_s=3.0))
    assert result.summary()["connect_latency_s"] == dict.fromkeys(
        ["mean", *PERCENTILES, "max"], None
    )


def test_per_workload_counts_add_up_over_connections() -> None:
    stats = ConnectionStats(["a"])
    stats.add("a", "established", 0.5, 0, 1000, True)
    stats.add("a", "established", 1.5, 1, 1001, False)
    stats.add("a", "failed", None, 7, None, False)
    stats.add("b", "app_timeout", None, 2, None, False)  # a name not given up front
    assert {k: w.as_dict() for k, w in stats.workloads.items()} == {
        "a": {"attempted": 3, "established": 2, "delayed_ge_1s": 2, "lost_packets": 8},
        "b": {"attempted": 1, "established": 0, "delayed_ge_1s": 1, "lost_packets": 2},
    }


@pytest.mark.parametrize("rel_error", [1.0, 1.5])
def test_a_sketch_refuses_a_relative_error_of_one_or_more(rel_error: float) -> None:
    with pytest.raises(ValueError, match=r"rel_error must be in \(0, 1\)"):
        QuantileSketch(rel_error)


def test_an_empty_sketch_says_no_value_was_recorded() -> None:
    with pytest.raises(ValueError, match=r"^no values recorded$"):
        QuantileSketch().quantiles([0.5])
