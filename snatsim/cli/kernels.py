"""``snatsim kernels``: the kernel profiles (spec §2.5) and version -> era resolution."""

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
_CAPTION = (
    "NAT allocator A1-A4 (spec §2.1), confirm C0-C5 (§2.2), client port P0-P4 (§2.3), "
    "SYN schedule T0-T2 (§2.4)"
)


def register(app: typer.Typer) -> None:
    """Add the ``kernels`` command to ``app``."""
    app.command("kernels")(kernels)


@handle_errors
def kernels(
    version: Annotated[
        str | None,
        typer.Argument(
            help="Show only this kernel version (any X.Y or X.Y.Z, e.g. 5.4 or 5.15.0-91-generic), "
            "resolved by the nearest rule of spec §2.1–§2.4.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print JSON instead of a table: a list of objects, or one object when a version is given.",
        ),
    ] = False,
) -> None:
    """List the named kernel profiles and the behaviour era of each (spec §2.5).

    Eras: NAT A1–A4 (spec §2.1), confirm C0–C5 (§2.2), client P0–P4 (§2.3), SYN T0–T2 (§2.4).
    """
    from snatsim.kernel.profiles import PROFILES, resolve_profile

    profiles = PROFILES if version is None else (resolve_profile(version),)
    rows = [p.to_dict() for p in profiles]
    if as_json:
        print_json(rows if version is None else rows[0])
        return

    from rich.table import Table

    title = "Kernel profiles (spec §2.5)" if version is None else f"Kernel {version}"
    table = Table(title=title, title_justify="left", caption=_CAPTION, caption_justify="left")
    for key, header in _COLUMNS:
        if key == "note":
            table.add_column(header, overflow="fold", ratio=1)
        else:
            table.add_column(header, no_wrap=True)
    for row in rows:
        table.add_row(*(row[key] for key, _ in _COLUMNS))
    console().print(table)
