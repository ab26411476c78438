"""``snatsim run --replicates N``: independent replicates, intervals from their spread."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from snatsim.config import Scenario
    from snatsim.progress import ProgressDisplay
    from snatsim.replicates import ReplicateSet

THRESHOLDS = (("ge_1s", "≥ 1 s"), ("ge_2s", "≥ 2 s"), ("ge_3s", "≥ 3 s"))


def run_replicates(
    scenario: Scenario,
    replicates: int,
    workers: int | None,
    display: ProgressDisplay,
    *,
    out: Path | None,
    force: bool,
    json_: bool,
) -> None:
    """Run the replicates with a progress display, print them, write ``out`` if asked."""
    from snatsim.cli.run import report
    from snatsim.replicates import replicate

    with display:
        reps = replicate(
            scenario, replicates, workers=workers,
            progress=lambda done, _total: display.update(done),
        )
    report(reps, render_replicates, json_=json_, out=out, force=force)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.3g} %"


def _interval(ci: list[float] | None) -> str:
    return "—" if ci is None else f"{_pct(max(ci[0], 0.0))} – {_pct(ci[1])}"


def render_replicates(reps: ReplicateSet, con: Console) -> None:
    """The spread between replicates next to what one run's binomial interval would claim."""
    from rich.table import Table

    from snatsim.results import proportion_ci95

    s: dict[str, Any] = reps.summary()
    first = reps.summaries[0]
    k = first["kernel"]
    root_seed = reps.scenario.simulation.seed
    seed = (f"seed {root_seed}" if root_seed is not None
            else f"fresh entropy: rerun with --seed {first['provenance']['entropy']}")
    con.print(
        f"[bold]kernel {k['version']}[/bold]  NAT {k['nat_era']} · confirm {k['confirm_era']} · "
        f"client {k['client_era']} · SYN {k['syn_era']}   {s['replicates']} replicates "
        f"(SeedSequence children 0–{s['replicates'] - 1} of {seed})"
    )
    for warning in first["warnings"]:
        con.print(f"[bold yellow]warning:[/bold yellow] {warning}")
    per_rep = ", ".join(f"{c['delayed_counts']['ge_1s']:,}" for c in reps.summaries)
    con.print(f"delayed ≥ 1 s per replicate: {per_rep}")
    table = Table(
        title="delayed connects across replicates (failed and timed-out ones count at every "
        "threshold)", title_justify="left",
        caption="spread interval: 95 % Student t over the replicates' shares, valid whatever the "
        "correlation inside a run; binomial interval: exact binomial on the pooled count, which "
        "assumes independent connections", caption_justify="left",
    )
    for col in ("took", "mean share", "SE", "95 % interval (spread)", "pooled count",
                "binomial interval (independence)"):
        table.add_column(col, justify="left" if col == "took" else "right")
    counts = s["delayed_counts"]
    for key, label in THRESHOLDS:
        d = s["delayed_fraction"][key]
        table.add_row(
            label, _pct(d["mean"]), _pct(d["se"]), _interval(d["ci95"]),
            f"{counts[key]:,} of {counts['of']:,}", _interval(proportion_ci95(counts[key],
                                                                               counts["of"])),
        )
    con.print(table)
