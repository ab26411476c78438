"""Allocations per second of the vectorized port search (snatsim.mc.alloc) against raw u16 draws.

Run: ``python benchmarks/mc_alloc.py [--trials N] [--k K] [--occupancy F] [--repeat R]``.
Each trial makes K concurrent allocations against one shared confirmed occupancy of the default
64,512-port window (a fraction F of the ports busy). Reported: the core search rate on pre-drawn
u16 offsets, and ``np.random.default_rng().integers`` drawing the same number of u16 values.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from snatsim.mc.alloc import max_rounds, search_rounds, search_rover
from snatsim.mc.race import estimate_race

SIZE = 64512


def best_s(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` calls (s)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trials", type=int, default=250_000)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--occupancy", type=float, default=0.1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    busy = rng.random((1, SIZE)) < args.occupancy
    n = args.trials * args.k
    first = rng.integers(0, 1 << 16, size=(args.trials, args.k), dtype=np.uint16)
    rounds = rng.integers(0, 1 << 16, size=(args.trials, args.k, max_rounds(SIZE)), dtype=np.uint16)
    raw_s = best_s(lambda: np.random.default_rng(2).integers(0, 1 << 16, size=n, dtype=np.uint16),
                   args.repeat)
    raw_rate = n / raw_s
    print(f"{n:,} allocations ({args.trials:,} trials x {args.k}), occupancy {args.occupancy}")
    print(f"raw rng.integers u16:        {raw_rate:12.4g} draws/s")
    cases = {
        "A1 --random-fully (rover)": lambda: search_rover(busy, first),
        "A2 (rounds)": lambda: search_rounds(busy, rounds),
    }
    # end to end: draws + search + clash detection, chunked (snatsim.mc.race)
    cases["race A2, draws included"] = lambda: estimate_race(
        busy, args.k, args.trials, np.random.default_rng(3))
    cases["race A1 -fully, draws incl."] = lambda: estimate_race(
        busy, args.k, args.trials, np.random.default_rng(3), rover=True)
    # one occupancy row per trial: a 1,024-port --to-ports window, 4,096 trials per call
    small = rng.random((4096, 1024)) < args.occupancy
    small_offsets = rng.integers(0, 1 << 16, size=(4096, n // 4096, max_rounds(1024)),
                                 dtype=np.uint16)
    cases["A2, per-trial rows (1024)"] = lambda: search_rounds(small, small_offsets)
    for name, fn in cases.items():
        rate = n / best_s(fn, args.repeat)
        print(f"{name:28s} {rate:12.4g} allocations/s   ratio to raw {rate / raw_rate:.3f}")


if __name__ == "__main__":
    main()
