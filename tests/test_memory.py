"""Memory without per-connection rows does not grow with the duration (issue #8).

Peak traced memory (tracemalloc, deterministic for a given seed) of a run twice as long stays
within 20 % when no rows are kept, and grows by a row's size per extra connection when they are:
the guard that shows the measurement can see per-connection memory. The scenario reaches its
steady state early: TIME_WAIT 2 s, SYN_SENT records 5 s, the pods' own TIME_WAIT 60 s. The pods'
port maps (``Pod.local_port``: pruned when they double, and a CPython dict never shrinks) reach
their high-water mark only after ~2 pod TIME_WAITs: peaks 1.24 MB at 75 s, 1.77 MB at 150 s,
1.83 MB at 300 s, 1.93 MB at 600 s, so the runs compared are 150 s and 300 s. (Until the
library versions were read once per process, each run also parsed five METADATA files, a
constant that hid the 75 s run's shortfall.)
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest

from snatsim.config import load_scenario
from snatsim.results import simulate

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "default.toml"
STEADY = ["simulation.warmup_s=0", "workload.0.rate_per_s=100",
          "conntrack.tcp_timeout_time_wait_s=2", "conntrack.tcp_timeout_syn_sent_s=5"]


def peak_bytes(duration_s: float, rows: bool | str) -> tuple[int, int]:
    """(peak traced bytes during the run, measured connections)."""
    scenario = load_scenario(CONFIG, [*STEADY, f"simulation.duration_s={duration_s}"])
    gc.collect()
    tracemalloc.start()
    try:
        result = simulate(scenario, rng=1, rows=rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, result.stats.attempted


@pytest.mark.slow
def test_peak_memory_without_rows_does_not_grow_with_the_duration() -> None:
    simulate(load_scenario(CONFIG, [*STEADY, "simulation.duration_s=2"]), rows="all").to_frame()
    short, n_short = peak_bytes(150.0, rows=False)
    long, n_long = peak_bytes(300.0, rows=False)
    assert n_long > 1.9 * n_short
    assert long < 1.2 * short, (short, long)
    # guard: with every row kept the same runs grow by more than 200 bytes per extra connection
    short_rows, _ = peak_bytes(150.0, rows="all")
    long_rows, _ = peak_bytes(300.0, rows="all")
    assert long_rows - short_rows > 200 * (n_long - n_short), (short_rows, long_rows)
