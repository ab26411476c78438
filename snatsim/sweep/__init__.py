"""Sweeps: a scenario run over a grid of what-ifs, resumably, into one SQLite results file.

* :mod:`snatsim.sweep.grid`: ``--grid KEY=VALUES`` specs, ranges, sweep files, zipped axes.
* :mod:`snatsim.sweep.runner`: validation of every point, seeds, worker processes or Dask.
* :mod:`snatsim.sweep.store`: the results file and :func:`load_results`.
* :mod:`snatsim.sweep.columns`: the column naming of the results.

``run_sweep(...)`` is ``snatsim sweep``; ``snatsim.load_results(path)`` reads its file back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snatsim import __version__
from snatsim.errors import ConfigError, SnatsimError
from snatsim.sweep.grid import Grid, parse_grid
from snatsim.sweep.store import load_results

if TYPE_CHECKING:
    from snatsim.sweep.runner import Sampling, SweepPlan
    from snatsim.sweep.store import Store

__all__ = ["SweepError", "SweepOutcome", "load_results", "parse_grid", "run_sweep"]


class SweepError(SnatsimError):
    """A sweep that stopped because a worker failed; its finished runs are kept for a resume."""

    def __init__(self, flag: str, message: str) -> None:
        self.flag, self.message = flag, message
        super().__init__(f"{flag}: {message}")


@dataclass(frozen=True)
class SweepOutcome:
    """What a call of :func:`run_sweep` did."""

    path: Path
    points: int
    replicates: int
    ran: int
    """Runs computed by this call."""
    resumed: int
    """Runs already in the file, skipped."""
    wall_s: float
    engine: str
    workers: int | str

    @property
    def runs(self) -> int:
        """Points x replicates."""
        return self.points * self.replicates


def run_sweep(
    config: str | Path,
    grid: Grid | Sequence[str],
    out: str | Path,
    *,
    sets: Sequence[str] = (),
    zips: Sequence[str | Sequence[str]] = (),
    grid_file: str | Path | None = None,
    replicates: int = 1,
    engine: str = "auto",
    workers: int | None = None,
    scheduler: str | None = None,
    crn: bool = False,
    seed: int | None = None,
    trials: int | None = None,
    rel_error: float | None = None,
    progress: Callable[[int, int, int, int], None] | None = None,
    notify: Callable[[str], None] | None = None,
) -> SweepOutcome:
    """Run ``config`` at every point of ``grid``, ``replicates`` times each, into ``out``.

    Everything is checked before anything runs or is written: the grid, every point's scenario,
    the results file (a new file in a writable place, or a snatsim results file of the *same*
    sweep, which is then resumed: finished runs are skipped), the engine and the scheduler.

    Parameters
    ----------
    grid:
        A :class:`~snatsim.sweep.grid.Grid`, or ``KEY=VALUES`` specs (with ``zips`` and
        ``grid_file``, see :func:`~snatsim.sweep.grid.parse_grid`).
    sets:
        ``--set`` overrides applied to the base config before the grid's.
    engine:
        ``auto`` (the Monte Carlo engine, :func:`snatsim.estimate`, when it covers every point,
        else the SimPy model for the whole sweep, said through ``notify``), ``mc`` or ``des``.
    workers:
        Local worker processes (default: all cores; 1 runs in this process). Not with
        ``scheduler``, a Dask scheduler address (``tcp://host:8786``) whose workers run it.
    crn:
        Common random numbers: replicate *r* uses the same seed streams at every point.
    seed:
        Root seed (overrides ``simulation.seed``).
    trials, rel_error:
        The Monte Carlo engine's sampling of each run (:func:`snatsim.estimate`; one of the two;
        also top-level ``trials``/``rel_error`` in ``grid_file``); refused for a sweep that runs
        the SimPy model. Each row keeps the trials it sampled (``trials``, ``rel_error.*``).
    progress:
        Called as ``progress(runs_done, runs_to_do, points_done, points)`` once before the
        first run and after each run (``runs_to_do`` leaves out runs found in the file).
    notify:
        Called with a note before anything runs (e.g. why ``auto`` chose the SimPy model).
    """
    from snatsim.sweep.runner import check_sampling, connect_scheduler, default_workers, plan_sweep
    from snatsim.sweep.store import Store, check_results_path

    if not isinstance(grid, Grid):
        grid = parse_grid(grid, zips, grid_file)
    sampling = check_sampling(trials, rel_error)
    if grid_file is not None:
        sampling = _file_sampling(grid_file, trials, rel_error)
    if seed is not None:
        sets = [*sets, f"simulation.seed={seed}"]
    if scheduler is not None and workers is not None:
        raise ConfigError("--workers", "sets local processes; with --scheduler the cluster's "
                          "workers run the sweep: drop one of the two")
    if workers is not None and workers < 1:
        raise ConfigError("--workers", f"{workers} is not a number of processes; give 1 or more")
    plan = plan_sweep(config, grid, sets=sets, replicates=replicates, engine=engine, crn=crn,
                      sampling=sampling)
    path = Path(out)
    meta = check_results_path(path, plan.fingerprint())
    client = connect_scheduler(scheduler) if scheduler is not None else None
    if plan.note is not None and notify is not None:
        notify(plan.note)
    try:
        if meta is None:
            meta = _meta(plan)
            store = Store.create(path, meta, _points(plan))
        else:
            store = Store.open(path)
        return _run(plan, store, path, int(meta["entropy"]), client,
                    workers or default_workers(), progress)
    finally:
        if client is not None:
            client.close()


def _file_sampling(grid_file: str | Path, trials: int | None,
                   rel_error: float | None) -> Sampling:
    """The sampling of a sweep file, with ``--trials``/``--rel-error``: the same setting in both
    places must agree (a file under review is not silently overridden)."""
    from snatsim.sweep.grid import read_sampling
    from snatsim.sweep.runner import check_sampling

    source = f"--grid-file {str(grid_file)!r}"
    given = read_sampling(grid_file)
    flags = {"trials": trials, "rel_error": rel_error}
    for key, value in given.items():
        if flags[key] is not None and flags[key] != value:
            raise ConfigError(f"--{key.replace('_', '-')}", f"{flags[key]!r} differs from "
                              f"{key} = {value!r} in {source}; give one of the two")
    merged = {k: v for k, v in flags.items() if v is not None} | given
    return check_sampling(merged.get("trials"), merged.get("rel_error"), source if given else "")


def _meta(plan: SweepPlan) -> dict[str, str]:
    """The meta rows of a new results file (fresh root entropy when the sweep is unseeded)."""
    import json

    import numpy as np

    from snatsim import __version__

    entropy = plan.seed if plan.seed is not None else np.random.SeedSequence().entropy
    return {"fingerprint": plan.fingerprint(), "config": plan.base.to_toml(),
            "grid": json.dumps(plan.grid.describe()), "engine": plan.engine,
            "crn": "true" if plan.crn else "false", "seed": json.dumps(plan.seed),
            "entropy": str(entropy), "created_by": f"snatsim {__version__}",
            **{key: json.dumps(value) for key, value in plan.sampling.given().items()}}


def _points(plan: SweepPlan) -> list[tuple[int, list[str], dict[str, Any], str]]:
    return [(p, list(plan.overrides[p]), plan.swept(p), plan.scenarios[p].to_toml())
            for p in range(len(plan.scenarios))]


def _run(plan: SweepPlan, store: Store, path: Path, entropy: int, client: Any, workers: int,
         progress: Callable[[int, int, int, int], None] | None) -> SweepOutcome:
    """Run every run of ``plan`` not yet in ``store``, storing each as it finishes."""
    from snatsim.sweep.runner import Task, run_dask, run_local

    start = time.perf_counter()
    finished = store.done()
    tasks = [t for t in plan.tasks() if (t.point, t.replicate) not in finished]
    left = {p: 0 for p in range(len(plan.scenarios))}
    for task in tasks:
        left[task.point] += 1
    points_done = sum(1 for n in left.values() if n == 0)
    swept = {p: plan.swept(p) for p in left if left[p]}
    ran = 0

    def done(task: Task, result: dict[str, Any]) -> None:
        nonlocal ran, points_done
        store.add({"point": task.point, "replicate": task.replicate, "swept": swept[task.point],
                   "entropy": str(entropy), "spawn_key": list(task.spawn_key),
                   "engine": plan.engine, **result})
        ran += 1
        left[task.point] -= 1
        points_done += left[task.point] == 0
        if progress is not None:
            progress(ran, len(tasks), points_done, len(left))

    if progress is not None:
        progress(0, len(tasks), points_done, len(left))
    try:
        if client is not None:
            run_dask(client, plan, entropy, tasks, done)
        else:
            run_local(plan, entropy, tasks, max(1, min(workers, len(tasks))), done)
    except BrokenProcessPool:
        raise SweepError("--workers", f"a worker process died (killed, or out of memory); the "
                         f"{ran + len(plan.tasks()) - len(tasks):,} finished runs are in "
                         f"{str(path)!r}: run the same command again to resume") from None
    except Exception as exc:
        if client is None or isinstance(exc, SnatsimError):
            raise
        why = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise SweepError("--scheduler", f"a run failed on the Dask cluster ({why}); check that "
                         f"every worker has this snatsim ({__version__}) and Python installed; "
                         "the finished runs are kept: run the same command again to resume"
                         ) from None
    finally:
        store.close()
    return SweepOutcome(path, len(plan.scenarios), plan.replicates, ran,
                        len(plan.tasks()) - len(tasks), time.perf_counter() - start, plan.engine,
                        "dask" if client is not None else workers)
