"""``snatsim.estimate``'s memory is pinned by trials, not time (issue #9: < 512 MiB for any number
of trials ``snatsim estimate`` accepts).

Sampling works in chunks of bounded size; what is kept grows only by one tally row per block of
trials (for the batch-means intervals). tracemalloc sees every numpy buffer, so its peak at 16x the
trials, less the peak at 1x, is what the extra blocks cost; extrapolated to the CLI's ``--trials``
cap it must stay far below 512 MiB.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

import snatsim
from snatsim.cli.estimate import MAX_TRIALS
from snatsim.mc import engine
from snatsim.mc.engine import BLOCK_TRIALS

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "default.toml"
LIMIT_BYTES = 512 << 20


def _peak_bytes(trials: int) -> tuple[int, int]:
    """(tracemalloc peak in bytes, blocks sampled) of one estimate of ``trials`` trials."""
    scenario = snatsim.load_scenario(CONFIG)
    tracemalloc.start()
    try:
        result = snatsim.estimate(scenario, rng=1, trials=trials)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, sum(len(s) for s in result.tallies.sums)


@pytest.mark.slow
def test_memory_grows_only_by_a_tally_row_per_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "MAX_BLOCK_TRIALS", BLOCK_TRIALS)  # the most rows per trial
    _peak_bytes(BLOCK_TRIALS)  # caches filled at first use are not the estimate's
    small, small_blocks = _peak_bytes(1 << 16)
    big, big_blocks = _peak_bytes(1 << 20)
    assert big_blocks == 16 * small_blocks
    per_block = max(big - small, 0) / (big_blocks - small_blocks)
    assert small < 64 << 20, small  # one chunk's working arrays
    assert per_block < 1024, per_block
    at_cap = small + per_block * MAX_TRIALS / BLOCK_TRIALS
    assert at_cap < LIMIT_BYTES / 2, at_cap


@pytest.mark.slow
def test_the_largest_blocks_work_in_bounded_memory() -> None:
    _peak_bytes(BLOCK_TRIALS)
    peak, blocks = _peak_bytes(engine.TARGET_BLOCKS * engine.MAX_BLOCK_TRIALS)
    assert blocks == engine.TARGET_BLOCKS  # every block of the largest size
    assert peak < 64 << 20, peak


_FAULTS = """
import resource, sys
import snatsim
from snatsim.mc import heap
if sys.argv[1] == "off":
    heap.keep_freed_memory = lambda: False  # engine.run imports it at call time
scenario = snatsim.load_scenario(sys.argv[2])
snatsim.estimate(scenario, rng=1, trials=1 << 16)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
snatsim.estimate(scenario, rng=1, trials=1 << 22)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_blocks_reuse_the_heap_instead_of_faulting_fresh_pages_in() -> None:
    # glibc hands a block's freed arrays back to the kernel and faults them in zero-filled at the
    # next block (~25 of ~75 ns a flow in a fresh process); mc.heap keeps them: a 2^22-trial
    # estimate then takes a few faults instead of ~50,000 (measured 0 and 50,000)
    import subprocess
    import sys

    from snatsim.mc.heap import on_glibc

    if not on_glibc():
        pytest.skip("the heap settings are glibc's")
    faults = {mode: int(subprocess.run([sys.executable, "-c", _FAULTS, mode, str(CONFIG)],
                                       check=True, capture_output=True, text=True).stdout)
              for mode in ("on", "off")}
    assert faults["on"] < 5_000, faults
    assert faults["off"] > 4 * faults["on"], faults  # the test can see the difference
