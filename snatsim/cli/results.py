"""``snatsim results``: print or export a sweep's results file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from snatsim.cli._common import console, handle_errors
from snatsim.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

HEADLINE = ("delayed_fraction.ge_1s", "connections.attempted", "conntrack.insert_failed",
            "connect_latency_s.p99")
"""Metrics shown by default beside the swept keys (every column is in --csv and --json)."""


def register(app: typer.Typer) -> None:
    """Add the ``results`` command to ``app``."""
    app.command("results")(results)


@handle_errors
def results(
    path: Annotated[Path, typer.Argument(help="A results file written by snatsim sweep --out.")],
    csv: Annotated[
        Path | None, typer.Option(help="Write every column to this CSV file (written whole, "
                                  "at the end).")
    ] = None,
    json_: Annotated[
        bool, typer.Option("--json", help="Print the rows as a JSON list of objects.")
    ] = False,
    where: Annotated[
        list[str] | None,
        typer.Option(metavar="KEY=VALUE", help="Keep rows where this holds (=, !=, <, <=, >, "
                     ">=; repeat: all must hold), e.g. --where nat.random_fully=true."),
    ] = None,
    columns: Annotated[
        str | None, typer.Option(metavar="A,B,...", help="Columns to print (default: point, "
                                 "replicate, the swept keys and a few headline metrics).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --csv file.")] = False,
) -> None:
    """Print a sweep's results as a table, or export them (--csv, --json).

    Columns: point, replicate, the swept keys as given, every summary metric by its dotted
    path (delayed_fraction.ge_1s) with intervals as *_lo / *_hi, then provenance.
    """
    from snatsim.output import atomic_write_bytes, check_file_target
    from snatsim.sweep import load_results
    from snatsim.sweep.query import filter_rows

    if csv is not None:
        check_file_target(csv, force=force, flag="--csv", example="results.csv",
                          when="the CSV replaces its file once written whole")
    frame = filter_rows(load_results(path), where or [])
    if columns is not None:
        chosen = [c.strip() for c in columns.split(",") if c.strip()]
        missing = [c for c in chosen if c not in frame.columns]
        if missing or not chosen:
            raise ConfigError("--columns", f"no column {missing[0]!r} in {str(path)!r}; see "
                              "every column with --json" if missing else "name at least one")
    else:
        chosen = ["point", "replicate", *frame.attrs["swept"],
                  *(m for m in HEADLINE if m in frame.columns)]
    if csv is not None:
        atomic_write_bytes(csv, frame.to_csv(index=False).encode("utf-8"))
    if json_:
        sys.stdout.write(frame.to_json(orient="records", indent=2) + "\n")
    elif csv is None:
        _print_table(frame[chosen], path)
    else:
        console().print(f"{len(frame):,} rows written to [bold]{csv}[/bold]", soft_wrap=True)


def _print_table(frame: pd.DataFrame, path: Path) -> None:
    from rich.table import Table

    table = Table(title=f"{path}: {len(frame):,} runs", title_justify="left")
    from pandas.api.types import is_numeric_dtype

    for column in frame.columns:
        numeric = is_numeric_dtype(frame[column])
        table.add_column(str(column), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    con = console()
    if not con.is_terminal:  # a pipe or a file: whole column names, never cut to 80 columns
        con.width = 100_000
    con.print(table)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
