"""Sweep benchmarks (issue #10): 2-worker vs 1-worker speedup, and the results file's overhead.

Run: ``.venv/bin/python benchmarks/sweep.py`` (about 1-2 minutes on 2 idle cores). Both ratios
come from one run of this script, with the load average before and after, since the machine's
other work changes them.

* speedup: the same sweep (``--points`` points of a small DES scenario) with ``workers=1`` (in
  this process) and ``workers=2`` (two worker processes), each into a fresh results file; wall
  seconds of ``run_sweep``, best of ``--repeat``.
* overhead, on small points (a few hundred connections each): ``run_sweep(workers=1)``
  (validation of every point, the SQLite file, one transaction per run) against the bare runs
  (:func:`snatsim.sweep.runner.run_task` in a loop, nothing stored), taken in turns, best of
  ``--repeat`` each; and the store alone: the same rows written again into a fresh results file
  (creation, then one transaction per row), timed on its own so the simulations' noise is not in it.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from snatsim.sweep import run_sweep
from snatsim.sweep.grid import parse_grid
from snatsim.sweep.runner import SweepPlan, plan_sweep, run_task

SMALL = """\
[simulation]
duration_s = {duration_s}
warmup_s = 1.0
seed = 1

[kernel]
version = "6.1"

[node]
cpus = 4

[[workload]]
name = "api"
pods = 8
arrival = "poisson"
rate_per_s = 100.0
destinations = ["203.0.113.10:443"]
"""


def _best(fn: Callable[[], object], repeat: int) -> float:
    """The shortest wall time of ``repeat`` calls (the one least disturbed by other work)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=24, help="points of the speedup sweep")
    parser.add_argument("--duration-s", type=float, default=60.0,
                        help="simulated seconds per speedup point")
    parser.add_argument("--small-points", type=int, default=60, help="points of the overhead sweep")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        big = folder / "big.toml"
        big.write_text(SMALL.format(duration_s=args.duration_s), encoding="utf-8")
        grid = [f"workload.0.rate_per_s=50..200:lin:{args.points}"]
        counter = iter(range(10**6))

        def sweep(workers: int, config: Path, specs: list[str]) -> None:
            run_sweep(config, specs, folder / f"s{next(counter)}.db", workers=workers,
                      engine="des")

        sweep(1, big, [grid[0].replace(f":{args.points}", ":2")])  # warm-up: imports, first run
        one = _best(lambda: sweep(1, big, grid), args.repeat)
        two = _best(lambda: sweep(2, big, grid), args.repeat)

        small = folder / "small.toml"
        small.write_text(SMALL.format(duration_s=3.0), encoding="utf-8")
        small_grid = [f"workload.0.rate_per_s=50..200:lin:{args.small_points}"]
        plan = plan_sweep(small, parse_grid(small_grid), engine="des")

        def bare() -> None:
            for task in plan.tasks():
                run_task("des", plan.scenarios[task.point], 1, task.spawn_key)

        bare_times, stored_times = [], []
        for _ in range(args.repeat):  # in turns: a change of load hits both
            bare_times.append(_best(bare, 1))
            stored_times.append(_best(lambda: sweep(1, small, small_grid), 1))
        bare_s, stored_s = min(bare_times), min(stored_times)
        store_s = _best(lambda: _replay(plan, _last(folder),
                                        folder / f"replay{next(counter)}.db"), args.repeat)
    load_after = os.getloadavg()
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f} "
          f"on {os.cpu_count()} CPUs")
    print(f"speedup sweep: {args.points} points of {args.duration_s:g} simulated s: "
          f"1 worker {one:.2f} s, 2 workers {two:.2f} s: {one / two:.2f}x")
    print(f"store overhead: {args.small_points} small points: bare runs {bare_s:.2f} s, "
          f"run_sweep {stored_s:.2f} s: {100 * (stored_s / bare_s - 1):+.1f} % "
          f"({1e3 * (stored_s - bare_s) / args.small_points:.1f} ms per point); the store alone "
          f"{store_s:.3f} s: {100 * store_s / bare_s:.2f} % of the bare runs "
          f"({1e3 * store_s / args.small_points:.2f} ms per row)")


def _last(folder: Path) -> Path:
    """The most recent results file of the overhead sweep."""
    return max(folder.glob("s*.db"), key=lambda p: p.stat().st_mtime_ns)


def _replay(plan: SweepPlan, source: Path, target: Path) -> None:
    """Write ``source``'s rows again into a new results file, as a sweep does."""
    from snatsim.sweep import _meta, _points
    from snatsim.sweep.store import Store

    conn = sqlite3.connect(source)
    rows = conn.execute("SELECT point, replicate, swept, metrics, entropy, spawn_key, wall_s, "
                        "snatsim_version, engine FROM runs").fetchall()
    conn.close()
    store = Store.create(target, _meta(plan), _points(plan))
    for point, replicate, swept, metrics, entropy, key, wall_s, version, engine in rows:
        store.add({"point": point, "replicate": replicate, "swept": json.loads(swept),
                   "metrics": json.loads(metrics), "entropy": entropy,
                   "spawn_key": json.loads(key), "wall_s": wall_s, "snatsim_version": version,
                   "engine": engine})
    store.close()


if __name__ == "__main__":
    main()
