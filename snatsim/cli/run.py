"""``snatsim run``: simulate one scenario and report what the node and its users saw."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from snatsim.cli._common import console, handle_errors, print_json
from snatsim.errors import ConfigError
from snatsim.output import PARTIAL_SUFFIX
from snatsim.progress import LINE_EVERY_S

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from snatsim.results import SimulationResult


EXIT_INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT), as shells report it."""


def register(app: typer.Typer) -> None:
    """Add the ``run`` command to ``app``."""
    app.command("run")(run)


@handle_errors
def run(
    config: Annotated[Path, typer.Argument(help="Scenario TOML file, e.g. configs/default.toml.")],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override a key: --set nat.random_fully=true --set workload.0.pods=8; "
            "KEY=null removes a key (back to its default).",
            metavar="KEY=VALUE",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed (overrides simulation.seed).", min=0)
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write summary.json, connections.csv, timeseries.csv, scenario.toml to this "
            "folder, all at once when the run ends (a folder holds one complete run or none)."
        ),
    ] = None,
    trace: Annotated[
        Path | None,
        typer.Option(
            help="Write the teaching trace (JSON lines) to this file. It is written as "
            "FILE.partial and renamed to FILE when the run ends: a run that crashed or was "
            "killed leaves only FILE.partial."
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            help="Replace an existing --out run folder (in one step) and an existing --trace file."
        ),
    ] = False,
    json_: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object.")
    ] = False,
    replicates: Annotated[
        int | None,
        typer.Option(
            help="Run N independent replicates (SeedSequence children of the seed) and give "
            "intervals from the spread between them, which hold for correlated workloads.",
            min=1, metavar="N",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes for --replicates (default: all CPUs); results do not depend "
            "on it.", min=1, metavar="W",
        ),
    ] = None,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="--progress draws the bar even when stderr is not a terminal; --no-progress "
            "shows nothing. Default: a bar in a terminal, elsewhere one line on stderr every "
            "--progress-every seconds.",
            show_default=False,
        ),
    ] = None,
    progress_every: Annotated[
        float, typer.Option(help="Wall seconds between progress lines off a terminal.", min=0)
    ] = LINE_EVERY_S,
) -> None:
    """Run one scenario through the SimPy model of a node."""
    from snatsim.config import load_scenario
    from snatsim.output import check_outputs
    from snatsim.progress import ProgressDisplay, choose_mode
    from snatsim.results import simulate

    overrides = list(set_ or [])
    if seed is not None:
        overrides.append(f"simulation.seed={seed}")
    scenario = load_scenario(config, overrides)
    if replicates is None and workers is not None:
        raise ConfigError("--workers", "only applies to --replicates N; add --replicates")
    if replicates is not None and trace is not None:
        raise ConfigError("--trace", "traces one run, not replicates; drop --trace or --replicates")
    check_outputs(out, trace, force=force, config=config)
    display = ProgressDisplay(scenario.simulation.duration_s, "simulated s",
                              mode=choose_mode(progress), every_s=progress_every)
    if replicates is not None:
        from snatsim.cli._replicates import run_replicates

        display.total, display.unit = replicates, "replicates"
        with stopped_cleanly(out, None):
            run_replicates(scenario, replicates, workers, display, out=out, force=force,
                           json_=json_)
        return
    with stopped_cleanly(out, trace), display:
        result = simulate(scenario, trace=trace, progress=display.run_callback())
    if json_:
        print_json(result.summary())
    else:
        render(result, console())
    if out is not None:
        write_atomically(lambda: result.write(out, force=force), out)
        if not json_:
            console().print(f"results written to [bold]{out}[/bold]")
    if trace is not None and not json_:
        console().print(f"trace written to [bold]{trace}[/bold]")


@contextmanager
def stopped_cleanly(out: Path | None, trace: Path | None) -> Iterator[None]:
    """Ctrl-C: one line saying what was (not) written, exit code 130, no traceback."""
    try:
        yield
    except KeyboardInterrupt:
        left = [f"nothing was written to {out}"] if out is not None else []
        if trace is not None:
            left.append(f"the trace so far is in {trace}{PARTIAL_SUFFIX}")
        sys.stderr.write("interrupted" + "".join(f"; {x}" for x in left) + "\n")
        raise typer.Exit(EXIT_INTERRUPTED) from None


def write_atomically(write: Callable[[], object], out: Path) -> None:
    """Run ``write``; a filesystem error (the place changed during the run) becomes one line."""
    try:
        write()
    except OSError as exc:
        raise ConfigError(
            "--out", f"could not write {str(out)!r}: {exc.strerror or exc}; nothing was written "
            "there (the summary is above): check the place and run again"
        ) from None


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.3g} %"


def _sec(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x * 1e3:.3g} ms" if x < 1 else f"{x:.3g} s"


def _identity(result: SimulationResult) -> str:
    """NAT rule, flags, port range and CPU steering of the run, as one line."""
    sc = result.scenario
    nat = sc.nat
    flags = [f for f, on in (("--random", nat.random), ("--random-fully", nat.random_fully),
                              ("--persistent", nat.persistent)) if on]
    rule = nat.target.upper() + (f" --to-source {','.join(nat.to_source)}" if nat.to_source else "")
    if nat.to_ports:
        rule += f" --to-ports {nat.to_ports}"
    return (
        f"{rule} {' '.join(flags)}".rstrip()
        + f"   {sc.node.cpus} CPUs, {sc.node.steering} steering"
    )


def _seed_text(provenance: dict[str, Any]) -> str:
    """The seed used; for an unseeded run the entropy to pass back as --seed."""
    if provenance["seed"] is not None:
        return f"seed {provenance['seed']}"
    return f"unseeded: rerun with --seed {provenance['entropy']}"


def render(result: SimulationResult, con: Console) -> None:
    """Print a run's summary as rich tables: counters, connections, latency, causes."""
    from rich.table import Table

    s: dict[str, Any] = result.summary()
    k = s["kernel"]
    w = s["window"]
    con.print(
        f"[bold]kernel {k['version']}[/bold]  NAT {k['nat_era']} · confirm {k['confirm_era']} · "
        f"client {k['client_era']} · SYN {k['syn_era']}   measured {w['measured_s']:g} s "
        f"after {w['warmup_s']:g} s warm-up"
    )
    con.print(f"{_identity(result)}   {_seed_text(s['provenance'])}")
    for warning in s["warnings"]:
        con.print(f"[bold yellow]warning:[/bold yellow] {warning}")
    title = "conntrack -S (measured window, summed over CPUs)"
    ct = Table(title=title, title_justify="left", min_width=len(title))
    ct.add_column("counter")
    ct.add_column("value", justify="right")
    for key, value in s["conntrack"].items():
        ct.add_row(key, f"{value:,}")
    con.print(ct)

    c = s["connections"]
    title = "connections (started after warm-up)"
    conn = Table(title=title, title_justify="left", min_width=len(title))
    conn.add_column("")
    conn.add_column("count", justify="right")
    rows = [(key.replace("_", " "), c[key]) for key in
            ("attempted", "established", "failed", "app_timeouts", "local_errors", "in_flight")]
    packets = []
    if any(wl.protocol == "tcp" for wl in result.scenario.workload):
        packets += [("SYNs sent", s["syn"]["sent"]), ("SYNs dropped", s["syn"]["dropped"])]
    if any(wl.protocol == "udp" for wl in result.scenario.workload):
        q = s["udp_queries"]
        packets += [("UDP queries sent", q["sent"]), ("UDP queries dropped", q["dropped"])]
    for label, value in [*rows, *packets]:
        conn.add_row(label, f"{value:,}")
    con.print(conn)

    lat = s["connect_latency_s"]
    lt = Table(title="connect() latency", title_justify="left")
    for col in ("mean", "p50", "p90", "p99", "p99.9", "max"):
        lt.add_column(col, justify="right")
    lt.add_row(*(_sec(lat[key]) for key in ("mean", "p50", "p90", "p99", "p999", "max")))
    con.print(lt)

    d = s["delayed_fraction"]
    ci = s["delayed_fraction_ci95"]
    n = s["delayed_counts"]
    dt = Table(
        title="delayed connects (failed and timed-out ones count at every threshold)",
        title_justify="left", caption="the interval assumes independent connections; "
        "aligned tickers are not: compare seeds (snatsim.replicate)", caption_justify="left",
    )
    dt.add_column("took", justify="left")
    dt.add_column("share", justify="right")
    dt.add_column("95 % interval", justify="right")
    dt.add_column("count", justify="right")
    thresholds = [("ge_1s", "≥ 1 s"), ("ge_2s", "≥ 2 s"), ("ge_3s", "≥ 3 s")]
    for key, label in thresholds:
        interval = "—" if ci[key] is None else f"{_pct(ci[key][0])} – {_pct(ci[key][1])}"
        dt.add_row(label, _pct(d[key]), interval, f"{n[key]:,} of {n['of']:,}")
    con.print(dt)

    if len(s["per_workload"]) > 1:
        wt = Table(title="per workload", title_justify="left")
        for col in ("workload", "attempted", "established", "delayed ≥ 1 s", "lost packets"):
            wt.add_column(col, justify="left" if col == "workload" else "right")
        for name, row in s["per_workload"].items():
            wt.add_row(name, f"{row['attempted']:,}", f"{row['established']:,}",
                       f"{row['delayed_ge_1s']:,}", f"{row['lost_packets']:,}")
        con.print(wt)

    causes = s["insert_failed_causes"]
    what = "SYNs" if all(wl.protocol == "tcp" for wl in result.scenario.workload) else "packets"
    cause_t = Table(title=f"why {what} were dropped (docs/kernel.md §16.1)", title_justify="left")
    for col in ("SMP race", "eviction refused", "window exhausted", "table full"):
        cause_t.add_column(col, justify="right")
    cause_t.add_row(f"{causes['race']:,}", f"{causes['eviction']:,}", f"{causes['exhaustion']:,}",
                    f"{s['drops']['table_full']:,}")
    con.print(cause_t)
    ports = s["ports"]
    busiest = max(ports["max_in_use"].items(), key=lambda kv: kv[1], default=None)
    line = f"pod source port kept by SNAT: {_pct(ports['preserved_fraction'])}"
    if busiest is not None:
        line += f"   busiest destination: {busiest[0]} ({busiest[1]:,} ports in use at peak)"
    con.print(line)
