"""``snatsim estimate``: a scenario's figures from the Monte Carlo engine, in run's tables."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any

import typer

from snatsim.cli._common import (
    ConfigArgument,
    JsonOption,
    ProgressEveryOption,
    ProgressOption,
    SeedOption,
    SetOption,
    handle_errors,
    load_config,
)
from snatsim.errors import ConfigError
from snatsim.progress import LINE_EVERY_S

if TYPE_CHECKING:
    from rich.console import Console

    from snatsim.estimates import EstimateResult

MAX_TRIALS = 10**9
"""Most trials one command samples: about 20 min of CPU here, and the per-block tallies kept for
the intervals stay far below 512 MiB (benchmarks/README.md); more: split the work over seeds."""


def register(app: typer.Typer) -> None:
    """Add the ``estimate`` command to ``app``."""
    app.command("estimate")(estimate)


@handle_errors
def estimate(
    config: ConfigArgument,
    set_: SetOption = None,
    seed: SeedOption = None,
    trials: Annotated[
        int | None,
        typer.Option(
            help="Trials (new flows) to sample. Default: 1,048,576. Not with --rel-error.",
            metavar="N",
        ),
    ] = None,
    rel_error: Annotated[
        float | None,
        typer.Option(
            help="Sample until the 95 % interval of the >= 1 s delayed share is within this "
            "fraction of it (e.g. 0.05), or the trials cap is hit; the output says which.",
            metavar="F",
        ),
    ] = None,
    json_: JsonOption = False,
    progress: ProgressOption = None,
    progress_every: ProgressEveryOption = LINE_EVERY_S,
) -> None:
    """Estimate one scenario with the vectorized Monte Carlo engine (no event simulation)."""
    from snatsim.cli.run import report, stopped_cleanly, warn_before
    from snatsim.estimates import DEFAULT_TRIALS, estimate
    from snatsim.estimates import MAX_TRIALS as REL_ERROR_CAP
    from snatsim.progress import ProgressDisplay, choose_mode

    _check_trials(trials, rel_error)
    scenario = load_config(config, set_, seed)
    warn_before(scenario)
    planned = trials or (REL_ERROR_CAP if rel_error is not None else DEFAULT_TRIALS)
    display = ProgressDisplay(planned, "trials", mode=choose_mode(progress),
                              every_s=progress_every, verb="sampling")
    with stopped_cleanly(None, None), display:
        result = estimate(scenario, trials=trials, rel_error=rel_error,
                          progress=lambda done, _planned: display.update(done))
    report(result, render_estimate, json_=json_, out=None, force=False)


def _check_trials(trials: int | None, rel_error: float | None) -> None:
    """``--trials`` and ``--rel-error``: each in range, and not both (one error line each)."""
    if trials is not None and trials < 1:
        raise ConfigError("--trials", f"{trials:,}: give a number of trials from 1 to "
                          f"{MAX_TRIALS:,}, e.g. --trials 1000000")
    if trials is not None and trials > MAX_TRIALS:
        raise ConfigError("--trials", f"{trials:,} is more than one command samples "
                          f"({MAX_TRIALS:,}); split the work: several --seed values, pooled")
    if rel_error is not None and not (math.isfinite(rel_error) and 0 < rel_error < 1):
        raise ConfigError("--rel-error", f"{rel_error:g} is not a relative half-width between 0 "
                          "and 1 (exclusive); e.g. --rel-error 0.05 for +-5 %")
    if trials is not None and rel_error is not None:
        raise ConfigError("--trials", "give --trials N (a fixed sample) or --rel-error F (sample "
                          "until the interval is that tight), not both")


def method_note(summary: dict[str, Any]) -> str:
    """One line: the method, trials, allocations and, for --rel-error, how sampling stopped."""
    line = (f"Monte Carlo estimate: {summary['trials']:,} trials, {summary['allocations']:,} "
            "allocations; counts are expected values over the measured window")
    rel = summary["rel_error"]
    if rel["target"] is not None:
        goal = f"±{100 * rel['target']:g} % on the ≥ 1 s share"
        line += (f"\n--rel-error: {goal} reached" if rel["reached"]
                 else f"\n--rel-error: {goal} [bold]not reached[/bold]: stopped at the trials cap")
    return line


def render_estimate(result: EstimateResult, con: Console) -> None:
    """``snatsim run``'s tables, with the estimate's method line under the header."""
    from snatsim.cli.run import render

    render(result, con, note=method_note(result.summary()))
