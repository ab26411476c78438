"""snatsim.estimate against snatsim.simulate, measured in one run (issue #9 acceptance).

1. ``configs/legacy-rover.toml``: the wall time of one DES run and the width of its 95 %
   interval on the >= 1 s delayed fraction; then the wall time ``estimate`` needs (``rel_error``
   sampling) to reach an interval at most that wide.
2. ``configs/default.toml`` (shortened): wall seconds per simulated connection (DES) against
   wall seconds per sampled flow (MC).
3. Peak resident memory of ``estimate`` at ``--trials`` flows (blocks are tallied as they are
   drawn, so it does not grow with the trials).

Usage: ``.venv/bin/python benchmarks/estimate_speed.py [--trials N]``
"""

from __future__ import annotations

import argparse
import resource
import time

import snatsim


def _wall(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1 << 23, help="flows for the memory case")
    args = parser.parse_args()

    rover = snatsim.load_scenario("configs/legacy-rover.toml")
    des, des_s = _wall(snatsim.simulate, rover, rng=7)
    d = des.summary()
    lo, hi = d["delayed_fraction_ci95"]["ge_1s"]
    p = d["delayed_fraction"]["ge_1s"]
    target = (hi - lo) / 2 / p
    mc, mc_s = _wall(snatsim.estimate, rover, rng=7, rel_error=target)
    m = mc.summary()
    mlo, mhi = m["delayed_fraction_ci95"]["ge_1s"]
    print(f"legacy-rover: DES {des_s:.2f} s wall, ge_1s {p:.3g} [{lo:.3g}, {hi:.3g}] "
          f"(width {hi - lo:.3g}); MC {mc_s:.3f} s wall to width {mhi - mlo:.3g} "
          f"({m['trials']:,} flows, stopped by {m['rel_error']['stopped_by']}), "
          f"ge_1s {m['delayed_fraction']['ge_1s']:.3g}: {des_s / mc_s:.0f}x sooner")

    default = snatsim.load_scenario("configs/default.toml", ["simulation.duration_s=240"])
    des, des_s = _wall(snatsim.simulate, default, rng=1)
    n_des = des.summary()["connections"]["attempted"]
    mc, mc_s = _wall(snatsim.estimate, default, rng=1, trials=1 << 21)
    per_des, per_mc = des_s / n_des, mc_s / mc.tallies.trials
    print(f"default: DES {per_des * 1e6:.1f} µs per connection ({n_des:,}), MC "
          f"{per_mc * 1e6:.3f} µs per flow ({mc.tallies.trials:,}): {per_des / per_mc:.0f}x")

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _, big_s = _wall(snatsim.estimate, rover, rng=1, trials=args.trials)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory: estimate(legacy-rover, trials={args.trials:,}) {big_s:.1f} s, peak RSS "
          f"{peak_mib:.0f} MiB (before it: {before / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
