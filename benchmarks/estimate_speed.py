"""snatsim.estimate against snatsim.simulate, measured in one run (issue #9 acceptance).

1. ``configs/legacy-rover.toml``: the CPU time of one DES run and the width of its 95 % interval
   on the >= 1 s delayed fraction; then the CPU time ``estimate`` needs (``rel_error`` sampling)
   to reach an interval at most that wide (the median of nine estimates, seeds 7-15). Each of
   those timings is the least of ``--repeat`` (5) runs of the same work, as ``timeit`` advises
   (noise only adds time; a slow spell of this VM lasts ~0.2 s, so the estimates' runs are
   sweeps over the nine seeds, not back to back).
2. ``configs/default.toml`` (240 simulated s): CPU seconds per simulated connection (DES) against
   CPU seconds per sampled flow (MC, ``--mc-trials`` flows).
3. Peak resident memory of ``estimate`` at ``--trials`` flows (blocks are tallied as they are
   drawn, so it does not grow with the trials). ``--memory-only`` runs this case alone, so the
   peak is the estimate's and not the DES runs' before it.

CPU time of this process (``time.process_time``), not wall time: on a shared machine the wall
time includes waiting for a core. The 1-minute load average is printed before and after.

Usage: ``.venv/bin/python benchmarks/estimate_speed.py [--trials N] [--mc-trials N]
[--memory-only] [--repeat R]``
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import snatsim


def _cpu(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.process_time()
    out = fn(*args, **kwargs)
    return out, time.process_time() - start


def _load() -> str:
    return f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"


def _least(repeat: int, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """``fn``'s result and its least CPU time over ``repeat`` runs (noise only adds time)."""
    runs = [_cpu(fn, *args, **kwargs) for _ in range(repeat)]
    return runs[0][0], min(t for _, t in runs)


def _speed(mc_trials: int, repeat: int) -> None:
    rover = snatsim.load_scenario("configs/legacy-rover.toml")
    snatsim.estimate(rover, rng=1, trials=1 << 14)  # imports and caches outside the timing
    # each timing is the least of ``repeat`` runs of the same work: a burst of load on the
    # machine moved one side only (one 1 s DES run against ~10 ms estimates)
    des, des_s = _least(repeat, snatsim.simulate, rover, rng=7)
    d = des.summary()
    lo, hi = d["delayed_fraction_ci95"]["ge_1s"]
    p = d["delayed_fraction"]["ge_1s"]
    target = (hi - lo) / 2 / p
    # the median of nine estimates, each its own seed (7-15), each sampling until it is as
    # narrow as the DES run; each the least of ``repeat`` sweeps over the nine (a slow spell of
    # the machine lasts longer than the ~30 ms of three estimates in a row)
    seeds = range(7, 16)
    sweeps = [[_cpu(snatsim.estimate, rover, rng=seed, rel_error=target) for seed in seeds]
              for _ in range(repeat)]
    runs = sorted(((min(sweep[i][1] for sweep in sweeps), sweeps[0][i][0])
                   for i in range(len(seeds))), key=lambda r: r[0])
    mc_s, mc = runs[len(runs) // 2]
    m = mc.summary()
    mlo, mhi = m["delayed_fraction_ci95"]["ge_1s"]
    print(f"legacy-rover: DES {des_s:.2f} CPU s, ge_1s {p:.3g} [{lo:.3g}, {hi:.3g}] "
          f"(width {hi - lo:.3g}, ±{target:.1%}); MC {mc_s * 1e3:.1f} CPU ms to width "
          f"{mhi - mlo:.3g} ({m['trials']:,} flows, stopped by {m['rel_error']['stopped_by']}), "
          f"ge_1s {m['delayed_fraction']['ge_1s']:.3g}: {des_s / mc_s:.0f}x sooner "
          f"(each the least of {repeat} runs)")

    default = snatsim.load_scenario("configs/default.toml", ["simulation.duration_s=240"])
    des, des_s = _cpu(snatsim.simulate, default, rng=1)
    n_des = des.summary()["connections"]["attempted"]
    mc, mc_s = _cpu(snatsim.estimate, default, rng=1, trials=mc_trials)
    per_des, per_mc = des_s / n_des, mc_s / mc.tallies.trials
    print(f"default: DES {per_des * 1e6:.1f} µs per connection ({n_des:,}, {des_s:.2f} CPU s), "
          f"MC {per_mc * 1e6:.3f} µs per flow ({mc.tallies.trials:,}, {mc_s:.2f} CPU s): "
          f"{per_des / per_mc:.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1 << 23, help="flows for the memory case")
    parser.add_argument("--mc-trials", type=int, default=1 << 23,
                        help="flows of the default.toml estimate")
    parser.add_argument("--memory-only", action="store_true", help="only the memory case")
    parser.add_argument("--repeat", type=int, default=5,
                        help="legacy-rover: runs of each timing (sweeps of the nine estimates), "
                        "the least taken")
    args = parser.parse_args()
    print(f"load average before: {_load()}")
    if not args.memory_only:
        _speed(args.mc_trials, args.repeat)
    rover = snatsim.load_scenario("configs/legacy-rover.toml")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _, big_s = _cpu(snatsim.estimate, rover, rng=1, trials=args.trials)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory: estimate(legacy-rover, trials={args.trials:,}) {big_s:.1f} CPU s, peak RSS "
          f"{peak_mib:.0f} MiB (before it: {before / 1024:.0f} MiB)")
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
