"""Running a sweep: every point validated first, then each missing (point, replicate) run in
worker processes or on a Dask cluster, and stored as it finishes.

Seeds
-----
One root: ``simulation.seed`` (``--seed``), or fresh entropy recorded in the results file on the
first run and reused on resume. Run (point *p*, replicate *r*) gets
``SeedSequence(root, spawn_key=(p, r))``, i.e. child *r* of child *p* of the root; with ``crn``
(common random numbers) it gets ``spawn_key=(r,)`` at every point, so replicate *r* draws the same
streams at every point and differences between points are not noise. The seed of a run depends
on nothing else, so results are the same for any number of workers, on Dask, and after a resume.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from snatsim import __version__
from snatsim.errors import ConfigError
from snatsim.sweep.columns import flatten_summary, resolved_value
from snatsim.sweep.grid import Grid

if TYPE_CHECKING:
    from snatsim.config import Scenario

__all__ = ["ENGINES", "SCHEDULER_TIMEOUT_S", "Sampling", "SweepPlan", "Task", "check_sampling",
           "plan_sweep", "run_task"]

ENGINES = ("auto", "des", "mc")
SCHEDULER_TIMEOUT_S = 10.0
"""How long to try to reach a Dask scheduler before giving up."""
MAX_RUNS = 1_000_000
"""Points x replicates above this would take days on any machine and bloat the file: split it."""


MAX_TRIALS = 10**9
"""Most trials one run may sample (as ``snatsim estimate --trials``)."""


class Sampling(NamedTuple):
    """How each Monte Carlo run of a sweep samples: ``trials`` (a fixed sample; the cap with
    ``rel_error``) or ``rel_error`` (until the 95 % interval of the >= 1 s delayed fraction is
    that tight), as :func:`snatsim.estimate`; both None: its default."""

    trials: int | None = None
    rel_error: float | None = None

    def given(self) -> dict[str, int | float]:
        """The settings given (empty for the default), as stored and fingerprinted."""
        return {k: v for k, v in self._asdict().items() if v is not None}


def check_sampling(trials: Any, rel_error: Any, source: str = "") -> Sampling:
    """``--trials`` / ``--rel-error`` (or a sweep file's ``trials``/``rel_error``, ``source``
    naming it) checked: a whole number in 1..:data:`MAX_TRIALS`, a fraction in (0, 1), not both."""
    where = f" ({source})" if source else ""
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int)
                               or not 1 <= trials <= MAX_TRIALS):
        raise ConfigError(f"--trials{where}", f"{trials!r} is not a number of trials from 1 to "
                          f"{MAX_TRIALS:,}; e.g. --trials 262144")
    if rel_error is not None and (isinstance(rel_error, bool)
                                  or not isinstance(rel_error, int | float)
                                  or not 0 < rel_error < 1):
        raise ConfigError(f"--rel-error{where}", f"{rel_error!r} is not a relative half-width "
                          "between 0 and 1 (exclusive); e.g. --rel-error 0.05 for +-5 %")
    if trials is not None and rel_error is not None:
        raise ConfigError(f"--trials{where}", "give trials (a fixed sample) or rel_error "
                          "(sample until the interval is that tight), not both")
    return Sampling(trials, None if rel_error is None else float(rel_error))


DEFAULT_SAMPLING = Sampling()


class Task(NamedTuple):
    """One run of a sweep: a point, a replicate and the spawn key of its seed."""

    point: int
    replicate: int
    spawn_key: tuple[int, ...]


def run_task(engine: str, scenario: Scenario, entropy: int, spawn_key: tuple[int, ...],
             sampling: Sampling = DEFAULT_SAMPLING) -> dict[str, Any]:
    """Run one (point, replicate) and return what the results file stores (in a worker)."""
    import numpy as np

    start = time.perf_counter()
    seed = np.random.SeedSequence(entropy, spawn_key=spawn_key)
    if engine == "mc":
        import snatsim

        summary = snatsim.estimate(scenario, rng=seed, trials=sampling.trials,
                                   rel_error=sampling.rel_error).summary()
    else:
        from snatsim.results import simulate

        summary = simulate(scenario, rng=seed).summary()
    return {"metrics": flatten_summary(summary), "wall_s": time.perf_counter() - start,
            "snatsim_version": __version__}


@dataclass(frozen=True)
class SweepPlan:
    """A validated sweep: every point's scenario, its seed root and its fingerprint."""

    base: Scenario
    grid: Grid
    overrides: tuple[tuple[str, ...], ...]
    scenarios: tuple[Scenario, ...]
    replicates: int
    engine: str
    """``des`` or ``mc``, as resolved from ``auto``."""
    crn: bool
    note: str | None = None
    """Why ``auto`` chose the engine it did, when it is not the Monte Carlo engine."""
    sampling: Sampling = DEFAULT_SAMPLING
    """The Monte Carlo engine's ``trials`` / ``rel_error`` per run (``mc`` only)."""

    @property
    def seed(self) -> int | None:
        """The root seed (``simulation.seed`` after ``--seed``), None for fresh entropy."""
        return self.base.simulation.seed

    def fingerprint(self) -> str:
        """What must match for a results file to be resumed (replicates may grow)."""
        what = {"config": self.base.to_dict(), "grid": self.grid.describe(),
                "engine": self.engine, "crn": self.crn, "seed": self.seed}
        if self.sampling.given():  # only when given: files made without it still resume
            what["sampling"] = self.sampling.given()
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()

    def swept(self, point: int) -> dict[str, Any]:
        """The swept keys' values in the point's resolved scenario."""
        config = self.scenarios[point].to_dict()
        return {key: resolved_value(config, key) for key in self.grid.keys}

    def tasks(self) -> list[Task]:
        """Every (point, replicate), in order."""
        return [Task(p, r, (r,) if self.crn else (p, r))
                for p in range(len(self.scenarios)) for r in range(self.replicates)]


def choose_engine(engine: str, points: Sequence[tuple[str, ...]],
                  scenarios: Sequence[Scenario]) -> tuple[str, str | None]:
    """Resolve ``auto``: the Monte Carlo engine when it covers every point, else the SimPy model
    for the whole sweep (rows of one sweep come from one engine), with a note saying why.

    ``mc`` asked for a point the Monte Carlo engine does not cover is a ConfigError naming it.
    """
    import snatsim

    if engine == "des":
        return "des", None
    if "estimate" not in snatsim._LAZY:
        if engine == "mc":
            raise ConfigError("--engine", "mc needs snatsim.estimate (the Monte Carlo engine), "
                              "which this snatsim does not have; use --engine des")
        return "des", "this snatsim has no Monte Carlo engine: running the SimPy model (des)"
    from snatsim.mc.steady import plan as mc_plan

    for overrides, scenario in zip(points, scenarios, strict=True):
        try:
            mc_plan(scenario)
        except ConfigError as exc:
            where = " ".join(overrides)
            if engine == "mc":
                raise ConfigError(f"--engine mc at point {where}",
                                  f"{exc}; use --engine des (the SimPy model)") from None
            return "des", (f"the Monte Carlo engine does not cover point {where} ({exc}): the "
                           "whole sweep runs on the SimPy model (des)")
    return "mc", None


def plan_sweep(
    config: str | Path,
    grid: Grid,
    *,
    sets: Sequence[str] = (),
    replicates: int = 1,
    engine: str = "auto",
    crn: bool = False,
    sampling: Sampling = DEFAULT_SAMPLING,
) -> SweepPlan:
    """Validate the base scenario and every point's scenario; nothing is run or written.

    Raises
    ------
    ConfigError
        The base config or any point is invalid (the first bad point is named with its
        overrides), an unknown engine, more runs than :data:`MAX_RUNS`, or ``sampling`` for a
        sweep that runs the SimPy model.
    """
    from snatsim.config import load_scenario
    from snatsim.replicates import MAX_REPLICATES

    if engine not in ENGINES:
        raise ConfigError("--engine", f"{engine!r} is not an engine; use auto, des or mc")
    if not 1 <= replicates <= MAX_REPLICATES:
        raise ConfigError("--replicates", f"{replicates:,} is outside 1..{MAX_REPLICATES:,}")
    if grid.size() * replicates > MAX_RUNS:
        raise ConfigError("--replicates", f"{grid.size():,} points x {replicates:,} replicates "
                          f"is more than {MAX_RUNS:,} runs; split the sweep")
    base = load_scenario(config, list(sets))
    points = grid.points()
    scenarios = []
    for overrides in points:
        try:
            scenarios.append(load_scenario(config, [*sets, *overrides]))
        except ConfigError as exc:
            problems = getattr(exc, "problems", ())
            why = "; ".join(f"{f}: {m}" for f, m in problems) if problems else exc.message
            raise ConfigError(f"--grid point {' '.join(overrides)}", why) from None
    if sampling.given() and engine == "des":
        flag = "--trials" if sampling.trials is not None else "--rel-error"
        raise ConfigError(flag, "sets the Monte Carlo engine's sampling; --engine des runs the "
                          "SimPy model: drop it, or use --engine mc")
    chosen, note = choose_engine(engine, points, scenarios)
    if sampling.given() and chosen == "des":
        flag = "--trials" if sampling.trials is not None else "--rel-error"
        raise ConfigError(flag, f"sets the Monte Carlo engine's sampling, but {note}; drop it "
                          "to run the SimPy model")
    return SweepPlan(base, grid, tuple(points), tuple(scenarios), replicates, chosen, crn, note,
                     sampling)


# --------------------------------------------------------------------------------- execution
Done = Callable[[Task, dict[str, Any]], None]


def run_local(plan: SweepPlan, entropy: int, tasks: Sequence[Task], workers: int,
              done: Done) -> None:
    """Run ``tasks`` in ``workers`` processes (1: in this process), calling ``done`` as each
    finishes, in this process (the only writer of the results file)."""
    if workers == 1:
        for task in tasks:
            done(task, run_task(plan.engine, plan.scenarios[task.point], entropy, task.spawn_key,
                                plan.sampling))
        return
    with ProcessPoolExecutor(workers) as pool:
        try:
            for task, result in _as_finished(pool, plan, entropy, tasks, workers):
                done(task, result)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _as_finished(pool: ProcessPoolExecutor, plan: SweepPlan, entropy: int,
                 tasks: Sequence[Task], workers: int) -> Iterator[tuple[Task, dict[str, Any]]]:
    """Keep a few tasks per worker queued (not all: a kill loses only those), yield as they end."""
    queue = iter(tasks)
    running: dict[Future[dict[str, Any]], Task] = {}

    def top_up() -> None:
        for task in queue:
            future = pool.submit(run_task, plan.engine, plan.scenarios[task.point], entropy,
                                 task.spawn_key, plan.sampling)
            running[future] = task
            if len(running) >= 2 * workers:
                return

    top_up()
    while running:
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in finished:
            yield running.pop(future), future.result()
        top_up()


def connect_scheduler(address: str) -> Any:
    """A ``distributed.Client`` for ``address``; one ConfigError line when it cannot be reached."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("--scheduler", "needs Dask: pip install 'snatsim[dask]'") from None
    try:
        return Client(address, timeout=SCHEDULER_TIMEOUT_S,  # type: ignore[no-untyped-call]
                      set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError, ValueError (bad address) ...: one line
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise ConfigError(
            "--scheduler", f"cannot reach a Dask scheduler at {address!r} within "
            f"{SCHEDULER_TIMEOUT_S:g} s ({reason}); check the address (e.g. tcp://host:8786) "
            "and that `dask scheduler` runs there"
        ) from None


def run_dask(client: Any, plan: SweepPlan, entropy: int, tasks: Sequence[Task], done: Done
             ) -> None:
    """Run ``tasks`` on a Dask cluster, calling ``done`` here as each finishes."""
    from distributed import as_completed

    prefix = f"snatsim-sweep-{plan.fingerprint()[:12]}"
    futures = {}
    for task in tasks:
        future = client.submit(run_task, plan.engine, plan.scenarios[task.point], entropy,
                               task.spawn_key, plan.sampling,
                               key=f"{prefix}-{task.point}-{task.replicate}")
        futures[future.key] = (future, task)
    try:
        for future in as_completed(  # type: ignore[no-untyped-call]
                [f for f, _ in futures.values()], loop=client.loop):
            done(futures[future.key][1], future.result())
            future.release()
    except BaseException:
        client.cancel([f for f, _ in futures.values()])
        raise


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
