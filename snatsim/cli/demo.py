"""``snatsim demo``: the problem and its fix on one screen (``make demo``; logic in snatsim.demo)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from snatsim.cli._common import console, handle_errors

if TYPE_CHECKING:
    from rich.console import Console

    from snatsim.demo import Demo


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to ``app``."""
    app.command("demo")(demo)


@handle_errors
def demo(
    config: Annotated[
        Path, typer.Option(help="Scenario to show (without --random-fully).")
    ] = Path("configs/legacy-rover.toml"),
    figure: Annotated[
        Path,
        typer.Option(help="Where to write the latency CDFs of both runs (.png, .svg or .pdf); "
                     "an existing file is replaced."),
    ] = Path("out/demo-latency-cdf.png"),
    duration_s: Annotated[
        float | None,
        typer.Option("--duration-s", help="Simulated seconds of each run (default: the "
                     "scenario's; the warm-up is cut to at most a fifth of it).", min=0),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of both runs (default: simulation.seed).", min=0)
    ] = None,
) -> None:
    """Show the SNAT race and its fix: a scenario as configured next to it with --random-fully."""
    from snatsim.demo import check_figure_path, run_demo, scenarios

    scenarios(config, duration_s=duration_s)  # every bad input is reported before the message
    check_figure_path(figure)
    con = console()
    con.print(f"simulating {config} twice (as configured, then with --random-fully) ...")
    result = run_demo(config, duration_s=duration_s, figure=figure, rng=seed)
    render(result, con)


def render(result: Demo, con: Console) -> None:
    """The side-by-side table, what it means, and where the figure is."""
    from rich.table import Table

    s = result.problem.summary()
    k, w = s["kernel"], s["window"]
    nat = result.problem.scenario.nat
    title = (f"kernel {k['version']} (NAT era {k['nat_era']}), {nat.target.upper()}, "
             f"{w['measured_s']:g} s measured after {w['warmup_s']:g} s warm-up, "
             f"seed {s['provenance']['seed']}")
    table = Table(title=title, title_justify="left")
    table.add_column("")
    table.add_column("as configured", justify="right")
    table.add_column("--random-fully", justify="right")
    for label, problem, fix in result.rows():
        table.add_row(label, f"{problem:,}", f"{fix:,}")
    con.print(table)
    lost = [r.summary()["delayed_counts"]["ge_1s"] for r in (result.problem, result.fix)]
    con.print(
        f"{lost[0]:,} connects waited for a SYN retransmit (1 s or more) as configured, "
        f"{lost[1]:,} with --random-fully: two SYNs that race between NAT and confirm on "
        "different CPUs take the same port, and the loser is dropped (docs/kernel.md §6.2, §9)."
    )
    if result.figure is not None:
        con.print(f"figure written to [bold]{result.figure}[/bold]")
