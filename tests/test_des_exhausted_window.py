"""An exhausted port window: the A1 search that jumps over busy ports gives the faithful walk's
results in whole runs (spec §4.4, §5.1, §7): every connection's outcome, port and timing, the
per-second series and every ``conntrack -S`` counter (``found`` counted once per busy probe).

The window is `configs/to-ports-restricted.toml`'s 256 ports at 2-4× the load Little's law says it
can hold, so most searches walk the whole window and give up, and expired entries wait to be
collected by the walk itself (a slow GC) or are refreshed to a shorter timeout (RST close).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import snatsim.kernel.nat
from snatsim.config import load_scenario
from snatsim.des import run
from snatsim.kernel import freeport
from snatsim.results import SimulationResult
from snatsim.rundata import RunData

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SMALL = CONFIGS / "to-ports-restricted.toml"  # 20000-20255: 256 ports, 5/s x 120.5 s held
BASE = ["simulation.duration_s=150", "simulation.warmup_s=20", "workload.0.rate_per_s=10"]
A1 = ["kernel.version=4.19"]
CASES = {
    "a1-rover": A1,
    "a1-random": [*A1, "nat.random=true"],
    "a1-random-fully": [*A1, "nat.random_fully=true"],
    "a1-slow-gc-rst": [*A1, "conntrack.gc_interval_s=7", "workload.0.close=rst",
                       "workload.0.rate_per_s=40"],
    "a1-8-cpus": [*A1, "node.cpus=8", "workload.0.rate_per_s=20"],
    "a2-rounds": ["kernel.version=5.4"],
    "a3-eviction": ["kernel.version=6.6"],
}
UDP_A1 = [  # UDP on A1: no same-flow exception before 5.0, so the jump is used for UDP too
    "kernel.version=4.19", "nat.to_ports=20000-20255", "workload.0.rate_per_s=20",
    "simulation.duration_s=100", "simulation.warmup_s=10",
]


def _both(path: Path, overrides: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[
        RunData, RunData, list[int]]:
    """Run the scenario with the jump and with the faithful walk; count jumps in each."""
    jumps = [0, 0]
    which = 0
    real = freeport.skip_busy

    def counting(*args: object, **kwargs: object) -> tuple[int, int, int, bool]:
        jumps[which] += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(snatsim.kernel.nat, "skip_busy", counting)
    scenario = load_scenario(path, overrides)
    fast = run(scenario, rng=5, rows="all")
    which = 1
    faithful = run(scenario, rng=5, rows="all", faithful_walk=True)
    return fast, faithful, jumps


def _assert_identical(fast: RunData, faithful: RunData) -> None:
    assert fast.rows, "no connection rows to compare"
    for field in ("rows", "series", "counters", "counters_total", "packets_sent",
                  "packets_dropped", "drop_causes", "time_wait_evicted"):
        assert getattr(fast, field) == getattr(faithful, field), field
    summaries = [SimulationResult.from_run(r).summary() for r in (fast, faithful)]
    for summary in summaries:
        del summary["provenance"]  # names the wall time and library versions
    assert summaries[0] == summaries[1]


@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_jump_and_faithful_walk_give_identical_runs(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, faithful, jumps = _both(SMALL, [*BASE, *CASES[name]], monkeypatch)
    _assert_identical(fast, faithful)
    if name == "a3-eviction":
        assert fast.time_wait_evicted > 100  # the 6.5+ search evicted TIME_WAIT entries
    else:
        assert fast.drop_causes["exhaustion"] > 100, "the window was never exhausted"
    assert jumps[1] == 0  # the faithful run never jumped
    if name.startswith("a1"):
        assert jumps[0] > 100  # ... and the fast one did, on most searches
        assert fast.counters_total["found"] > 100 * 255
    else:
        assert jumps[0] == 0  # 5.0+ rounds are bounded (248 probes): no jump there


@pytest.mark.slow
def test_udp_on_a1_gives_identical_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    fast, faithful, jumps = _both(CONFIGS / "dns-udp.toml", UDP_A1, monkeypatch)
    _assert_identical(fast, faithful)
    assert jumps[0] > 100 and jumps[1] == 0
