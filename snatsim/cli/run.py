"""``snatsim run``: simulate one scenario and report what the node and its users saw."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer

from snatsim.cli._common import (
    ConfigArgument,
    JsonOption,
    ProgressEveryOption,
    ProgressOption,
    SeedOption,
    SetOption,
    console,
    handle_errors,
    load_config,
    print_json,
)
from snatsim.errors import ConfigError
from snatsim.output import PARTIAL_SUFFIX
from snatsim.progress import LINE_EVERY_S

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from snatsim.config import Scenario


class Summarized(Protocol):
    """What :func:`render` prints: a run's result or a Monte Carlo estimate (same summary keys;
    an estimate's counts are expected values, floats, and it adds ``method`` and ``ci95``)."""

    scenario: Scenario

    def summary(self) -> dict[str, Any]: ...


EXIT_INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT), as shells report it."""


def register(app: typer.Typer) -> None:
    """Add the ``run`` command to ``app``."""
    app.command("run")(run)


@handle_errors
def run(
    config: ConfigArgument,
    set_: SetOption = None,
    seed: SeedOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write summary.json, connections.csv, timeseries.csv, scenario.toml to this "
            "folder, all at once when the run ends (a folder holds one complete run or none)."
        ),
    ] = None,
    rows: Annotated[
        str | None,
        typer.Option(
            help="Per-connection rows for connections.csv (with --out): a number, 'all' or "
            "'none'. Default with --out: up to 1,000,000 (about 400 bytes each in memory).",
            metavar="N|all|none",
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
    json_: JsonOption = False,
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
    progress: ProgressOption = None,
    progress_every: ProgressEveryOption = LINE_EVERY_S,
) -> None:
    """Run one scenario through the SimPy model of a node."""
    from snatsim.output import check_outputs
    from snatsim.progress import ProgressDisplay, choose_mode
    from snatsim.results import simulate

    scenario = load_config(config, set_, seed)
    if replicates is None and workers is not None:
        raise ConfigError("--workers", "only applies to --replicates N; add --replicates")
    if replicates is not None and trace is not None:
        raise ConfigError("--trace", "traces one run, not replicates; drop --trace or --replicates")
    if replicates is not None and rows is not None:
        raise ConfigError("--rows", "keeps the rows of one run, not of replicates; drop --rows")
    keep_rows = _rows_option(rows, out)
    check_outputs(out, trace, force=force, config=config)
    warn_before(scenario)
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
        result = simulate(scenario, trace=trace, progress=display.run_callback(), rows=keep_rows)
    report(result, render, json_=json_, out=out, force=force)
    if out is not None:
        note = result.rows_note()
        if note is not None:
            console(stderr=True).print(f"note: {note}")
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


def report(result: Any, render_tables: Callable[[Any, Console], None], *, json_: bool,
           out: Path | None, force: bool) -> None:
    """Print a run's (or replicate set's) summary as JSON or tables, then write it to ``out``.

    A filesystem error while writing (the place changed during the run) becomes one line; the
    summary has been printed by then, so nothing simulated is lost.
    """
    if json_:
        print_json(result.summary())
    else:
        render_tables(result, console())
    if out is None:
        return
    try:
        result.write(out, force=force)
    except OSError as exc:
        raise ConfigError(
            "--out", f"could not write {str(out)!r}: {exc.strerror or exc}; nothing was written "
            "there (the summary is above): check the place and run again"
        ) from None
    if not json_:
        console().print(f"results written to [bold]{out}[/bold]")


def _rows_option(rows: str | None, out: Path | None) -> bool | int | str:
    """``--rows`` as ``simulate(rows=...)``: default True (a cap) with --out, else none."""
    if rows is None:
        return out is not None
    if out is None:
        raise ConfigError("--rows", "rows are written to connections.csv: add --out DIR")
    text = rows.strip().lower()
    if text in ("all", "none"):
        return text
    if text.isascii() and text.isdigit():
        return int(text)
    raise ConfigError("--rows", f"{rows!r} is not a number of rows, 'all' or 'none'")


def warn_before(scenario: Scenario) -> None:
    """Print, on stderr and before anything is simulated, what Little's law says about the load:
    a window the load exhausts, and what the kernel era will do then."""
    from snatsim.analytic.window_load import window_warnings

    err = console(stderr=True)
    for warning in window_warnings(scenario):
        err.print(f"[bold yellow]warning:[/bold yellow] {warning}")


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.3g} %"


def _sec(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x * 1e3:.3g} ms" if x < 1 else f"{x:.3g} s"


# what a run's workloads are called, by the protocols they use: TCP connects, UDP lookups
_TERMS = {
    "tcp": {"noun": "connections", "latency": "connect() latency", "dropped": "SYNs",
            "never": "failed and timed-out ones",
            "labels": ("attempted", "established", "failed", "app timeouts", "local errors",
                       "in flight")},
    "udp": {"noun": "lookups", "latency": "lookup latency (first query to both answers)",
            "dropped": "queries", "never": "lookups the resolver gave up on",
            "labels": ("lookups", "answered", "failed (the resolver gave up)", "app timeouts",
                       "local errors (no port)", "unanswered at the end")},
    "both": {"noun": "connections and lookups", "latency": "connect() / lookup latency",
             "dropped": "packets (SYNs and queries)",
             "never": "failed and timed-out ones",
             "labels": ("attempted", "established or answered", "failed", "app timeouts",
                        "local errors", "in flight")},
}


def _terms(result: Summarized) -> dict[str, Any]:
    """The words for this run: TCP-only, UDP-only or both."""
    protocols = {wl.protocol for wl in result.scenario.workload}
    return _TERMS[protocols.pop() if len(protocols) == 1 else "both"]


def _identity(result: Summarized) -> str:
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


def _count(x: float) -> str:
    """A count: exact for a run (int); an estimate's expected count (float) to 3 figures, whole
    from 100 up."""
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _interval(ci: list[float] | None) -> str:
    return "—" if ci is None else f"{_pct(ci[0])} – {_pct(ci[1])}"


def render(result: Summarized, con: Console, *, note: str | None = None) -> None:
    """Print a run's (or an estimate's) summary as rich tables: counters, connections, latency,
    causes; ``note`` is printed under the header (an estimate's method and trials)."""
    from rich.table import Table

    from snatsim.kernel.eras import NatEra

    s: dict[str, Any] = result.summary()
    k = s["kernel"]
    w = s["window"]
    con.print(
        f"[bold]kernel {k['version']}[/bold]  NAT {k['nat_era']} · confirm {k['confirm_era']} · "
        f"client {k['client_era']} · SYN {k['syn_era']}   measured {w['measured_s']:g} s "
        f"after {w['warmup_s']:g} s warm-up"
    )
    con.print(f"{_identity(result)}   {_seed_text(s['provenance'])}")
    if note is not None:
        con.print(note)
    for warning in s["warnings"]:
        con.print(f"[bold yellow]warning:[/bold yellow] {warning}")
    title = "conntrack -S (measured window, summed over CPUs)"
    ct = Table(title=title, title_justify="left", min_width=len(title))
    ct.add_column("counter")
    ct.add_column("value", justify="right")
    for key, value in s["conntrack"].items():
        ct.add_row(key, _count(value))
    con.print(ct)

    c = s["connections"]
    terms = _terms(result)
    title = f"{terms['noun']} (started after warm-up)"
    conn = Table(title=title, title_justify="left", min_width=len(title))
    conn.add_column("")
    conn.add_column("count", justify="right")
    keys = ("attempted", "established", "failed", "app_timeouts", "local_errors", "in_flight")
    rows = [(label, c[key]) for label, key in zip(terms["labels"], keys, strict=True)
            if c[key] or key in ("attempted", "established", "failed")]
    packets = []
    if any(wl.protocol == "tcp" for wl in result.scenario.workload):
        packets += [("SYNs sent", s["syn"]["sent"]), ("SYNs dropped", s["syn"]["dropped"])]
    if any(wl.protocol == "udp" for wl in result.scenario.workload):
        q = s["udp_queries"]
        packets += [("UDP queries sent", q["sent"]), ("UDP queries dropped", q["dropped"])]
    for label, value in [*rows, *packets]:
        conn.add_row(label, _count(value))
    con.print(conn)

    lat = s["connect_latency_s"]
    lt = Table(title=terms["latency"], title_justify="left")
    for col in ("mean", "p50", "p90", "p99", "p99.9", "max"):
        lt.add_column(col, justify="right")
    lt.add_row(*(_sec(lat[key]) for key in ("mean", "p50", "p90", "p99", "p999", "max")))
    con.print(lt)

    d = s["delayed_fraction"]
    ci = s["delayed_fraction_ci95"]
    n = s["delayed_counts"]
    caption = (f"the interval assumes independent {terms['noun']}; aligned tickers are not: "
               "--replicates N gives an interval from the spread")
    if s.get("method") == "mc":
        caption = f"the interval: {s['delayed_fraction_ci95_assumes']}"
    dt = Table(
        title=f"delayed {terms['noun']} ({terms['never']} count at every threshold)",
        title_justify="left", caption=caption, caption_justify="left",
    )
    dt.add_column("took", justify="left")
    dt.add_column("share", justify="right")
    dt.add_column("95 % interval", justify="right")
    dt.add_column("count", justify="right")
    for key in d:  # ge_1s, ge_2s, ge_3s, and ge_5s (the resolver's retry) when UDP runs
        label = "≥ " + key.removeprefix("ge_").replace("s", " s")
        dt.add_row(label, _pct(d[key]), _interval(ci[key]), f"{_count(n[key])} of {_count(n['of'])}")
    con.print(dt)

    if len(s["per_workload"]) > 1:
        wt = Table(title="per workload", title_justify="left")
        for col in ("workload", "attempted", "established", "delayed ≥ 1 s", "lost packets"):
            wt.add_column(col, justify="left" if col == "workload" else "right")
        for name, row in s["per_workload"].items():
            wt.add_row(name, *(_count(row[key]) for key in
                               ("attempted", "established", "delayed_ge_1s", "lost_packets")))
        con.print(wt)

    causes = s["insert_failed_causes"]
    cause_t = Table(title=f"why {terms['dropped']} were dropped (docs/kernel.md §16.1)",
                    title_justify="left")
    for col in ("SMP race", "eviction refused", "window exhausted", "table full"):
        cause_t.add_column(col, justify="right")
    cause_t.add_row(*(_count(causes[key]) for key in ("race", "eviction", "exhaustion")),
                    _count(s["drops"]["table_full"]))
    if "ci95" in s:  # an estimate: each cause's drops per connect, 95 % interval
        cause_t.add_row(*(_interval(s["ci95"][f"{key}_drops_per_connect"]) for key in
                          ("race", "eviction", "exhaustion", "table_full")))
        cause_t.caption = "second row: drops per connect, 95 % interval"
        cause_t.caption_justify = "left"
    con.print(cause_t)
    ports = s["ports"]
    busiest = max(ports["max_in_use"].items(), key=lambda kv: kv[1], default=None)
    line = f"pod source port kept by SNAT: {_pct(ports['preserved_fraction'])}"
    if busiest is not None:
        line += (f"   busiest destination: {busiest[0]} ({_count(busiest[1])} ports in use at "
                 "peak)")
    con.print(line)
    if terms is not _TERMS["udp"]:  # eviction frees ports for TCP SYNs only
        evicted = _count(ports["time_wait_evicted"])
        if NatEra[k["nat_era"]] < NatEra.A3:
            evicted += f" (NAT era {k['nat_era']}: no eviction before A3, 6.5)"
        con.print(f"TIME_WAIT entries evicted by new SYNs (docs/kernel.md §5.3): {evicted}")
