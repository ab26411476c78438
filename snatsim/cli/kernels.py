"""``snatsim kernels``: the kernel profiles (spec §2.5), version -> era resolution, and the legend.

The one-line meaning of each era code comes from :mod:`snatsim.kernel.legend`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from snatsim.cli._common import console, handle_errors, print_json

__all__ = ["kernels", "register"]

_COLUMNS = (
    ("version", "version"),
    ("nat_era", "NAT"),
    ("confirm_era", "confirm"),
    ("client_era", "client"),
    ("syn_era", "SYN"),
    ("note", "note"),
)
_DOCS = "docs/kernel.md"


def register(app: typer.Typer) -> None:
    """Add the ``kernels`` command to ``app``."""
    app.command("kernels")(kernels)


@handle_errors
def kernels(
    version: Annotated[
        str | None,
        typer.Argument(
            help="Show only this kernel version (any X.Y or X.Y.Z, e.g. 5.4 or 5.15.0-91-generic), "
            f"resolved by the nearest rule of {_DOCS} §2.1–§2.4.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print JSON instead of a table: {"profiles": [...], "legend": {...}}, or, when a '
            'version is given, its profile with a "legend" of its four eras.',
        ),
    ] = False,
) -> None:
    """List the named kernel profiles, the behaviour era of each, and what the era codes mean.

    Eras (docs/kernel.md §2.1–§2.6): NAT allocator A1–A4, confirm C0–C5, client port P0–P4,
    SYN schedule T0–T2.
    """
    from snatsim.kernel.legend import legend
    from snatsim.kernel.profiles import PROFILES, resolve_profile, version_warnings

    profiles = PROFILES if version is None else (resolve_profile(version),)
    warnings = [] if version is None else version_warnings(version)
    rows = [p.to_dict() for p in profiles]
    meanings = legend()
    if version is not None:  # only the four eras this kernel has
        meanings = {key: {rows[0][key]: codes[rows[0][key]]} for key, codes in meanings.items()}
    if as_json:
        if version is None:
            print_json({"profiles": rows, "legend": meanings})
        else:
            flat = {key: text for key, codes in meanings.items() for text in codes.values()}
            print_json({**rows[0], "legend": flat, "warnings": warnings})
        return

    from rich.table import Table

    out = console()
    title = f"Kernel profiles ({_DOCS} §2.5)" if version is None else f"Kernel {version}"
    table = Table(title=title, title_justify="left")
    for key, header in _COLUMNS:
        if key == "note":
            table.add_column(header, overflow="fold", ratio=1)
        else:
            table.add_column(header, no_wrap=True)
    for row in rows:
        table.add_row(*(row[key] for key, _ in _COLUMNS))
    out.print(table)
    for warning in warnings:
        out.print(f"[bold yellow]warning:[/bold yellow] {warning}")
    _print_legend(meanings)


def _print_legend(meanings: dict[str, dict[str, str]]) -> None:
    """The era codes below the table: one line each, grouped by family with its section."""
    from rich.table import Table

    from snatsim.kernel.legend import FAMILIES

    table = Table(title=f"Era codes ({_DOCS} §2.6)", title_justify="left", box=None,
                  show_header=False, padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold", ratio=1)
    for family in FAMILIES:
        table.add_row("", f"[bold]{family.title}[/] ({family.section}, kernel.{family.key})")
        for code, text in meanings[family.key].items():
            table.add_row(code, text)
    console().print(table)
