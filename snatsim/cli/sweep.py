"""``snatsim sweep``: run a scenario over a grid of what-ifs into a resumable SQLite file."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from snatsim.cli._common import console, handle_errors
from snatsim.progress import LINE_EVERY_S, Mode, choose_mode

if TYPE_CHECKING:
    from snatsim.progress import ProgressDisplay

EXIT_INTERRUPTED = 130


def register(app: typer.Typer) -> None:
    """Add the ``sweep`` command to ``app``."""
    app.command("sweep")(sweep)


class _Progress:
    """The sweep's progress display, opened at the first report (when the work is known)."""

    def __init__(self, mode: Mode, every_s: float) -> None:
        self.mode, self.every_s = mode, every_s
        self.display: ProgressDisplay | None = None
        self.start = time.monotonic()

    def __call__(self, done: int, total: int, points_done: int, points: int) -> None:
        from snatsim.progress import ProgressDisplay

        if self.display is None:
            self.display = ProgressDisplay(total, "runs", mode=self.mode, every_s=self.every_s)
            self.display.__enter__()
            self.start = time.monotonic()
        rate = done / max(time.monotonic() - self.start, 1e-9)
        self.display.update(done, f"{points_done:,}/{points:,} points done, {rate:.3g} runs/s")

    def close(self) -> None:
        if self.display is not None:
            self.display.__exit__(None, None, None)


@handle_errors
def sweep(
    config: Annotated[Path, typer.Argument(help="Scenario TOML file, e.g. configs/default.toml.")],
    out: Annotated[
        Path, typer.Option(help="Results file (SQLite). The same command again resumes it.")
    ],
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid", metavar="KEY=VALUES",
            help="Swept key and its values: a list (nat.random_fully=false,true; "
            "kernel.version=4.14,5.4,6.1; null removes the key) or a range A..B:lin:N / "
            "A..B:log:N (workload.0.rate_per_s=10..10000:log:20). Repeat for more axes.",
        ),
    ] = None,
    grid_file: Annotated[
        Path | None, typer.Option(help="A sweep file (TOML) with a \\[grid] table (and zip, "
                                  "trials or rel_error).")
    ] = None,
    zip_: Annotated[
        list[str] | None,
        typer.Option("--zip", metavar="KEY,KEY", help="Swept keys that move together (step i "
                     "of each) instead of forming a product."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="Override a key of the base config."),
    ] = None,
    replicates: Annotated[
        int, typer.Option(help="Runs per point, each with its own seed.", min=1, metavar="N")
    ] = 1,
    engine: Annotated[
        str, typer.Option(help="auto: the Monte Carlo engine (snatsim estimate) when it covers "
                          "every point, else the SimPy model, with a note; des: the SimPy model "
                          "(snatsim run); mc: Monte Carlo only.", metavar="auto|des|mc")
    ] = "auto",
    workers: Annotated[
        int | None,
        typer.Option(help="Local worker processes (default: all CPUs); results do not depend "
                     "on it.", min=1, metavar="W"),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Run on a Dask cluster: its scheduler's address, tcp://host:8786 "
                     "(needs snatsim\\[dask]).", metavar="ADDRESS"),
    ] = None,
    crn: Annotated[
        bool, typer.Option("--crn", help="Common random numbers: replicate r uses the same "
                           "seed streams at every point.")
    ] = False,
    seed: Annotated[
        int | None, typer.Option(help="Root seed (overrides simulation.seed).", min=0)
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option(help="Monte Carlo trials per run (default 1,048,576; stored in each row). "
                     "Not with --engine des, nor with --rel-error.", metavar="N"),
    ] = None,
    rel_error: Annotated[
        float | None,
        typer.Option(help="Monte Carlo runs sample until the 95 % interval of the >= 1 s delayed "
                     "share is within this fraction of it (e.g. 0.05).", metavar="F"),
    ] = None,
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", show_default=False,
                     help="--progress draws the bar even off a terminal; --no-progress shows "
                     "nothing. Default: a bar in a terminal, else a line every --progress-every s."),
    ] = None,
    progress_every: Annotated[
        float, typer.Option(help="Wall seconds between progress lines off a terminal.", min=0)
    ] = LINE_EVERY_S,
) -> None:
    """Run a scenario at every point of a grid (x replicates) into an SQLite results file.

    Every point is validated before anything runs; a sweep stopped at any moment resumes where
    it was when the same command is run again. Read the results with `snatsim results FILE`.
    """
    from snatsim.sweep import run_sweep

    display = _Progress(choose_mode(progress), progress_every)
    try:
        outcome = run_sweep(
            config, grid or [], out, sets=set_ or [], zips=zip_ or [], grid_file=grid_file,
            replicates=replicates, engine=engine, workers=workers, scheduler=scheduler, crn=crn,
            seed=seed, trials=trials, rel_error=rel_error, progress=display,
            notify=lambda note: console(stderr=True).print(f"note: {note}", soft_wrap=True),
        )
    except KeyboardInterrupt:
        display.close()
        sys.stderr.write(f"interrupted; every finished run is in {out}: run the same command "
                         "again to resume\n")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    display.close()
    where = "on the Dask cluster" if outcome.workers == "dask" else f"in {outcome.workers} " + (
        "process" if outcome.workers == 1 else "processes")
    resumed = f", {outcome.resumed:,} were already there" if outcome.resumed else ""
    console().print(
        f"{outcome.points:,} points x {outcome.replicates:,} replicates ({outcome.engine}): "
        f"ran {outcome.ran:,} runs {where} in {outcome.wall_s:.1f} s{resumed}; results in "
        f"[bold]{out}[/bold] (snatsim results {out})", soft_wrap=True
    )
