"""``snatsim plot``: a figure of a run folder (``snatsim run --out DIR``), written atomically.

The drawing is :mod:`snatsim.plotting`; this module parses, checks the output path before
anything is read or drawn, and calls one figure function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from snatsim.cli._common import handle_errors
from snatsim.errors import ConfigError

__all__ = ["RUN_KIND_NAMES", "plot", "register"]

RUN_KIND_NAMES = ("latency-cdf", "occupancy", "timeline")
"""The figure kinds of a run folder (``snatsim.plotting.RUN_KINDS``; listed here so that the
command's help needs no matplotlib)."""


def register(app: typer.Typer) -> None:
    """Add the ``plot`` command to ``app``."""
    app.command("plot")(plot)


@handle_errors
def plot(
    source: Annotated[
        Path, typer.Argument(help="A run folder written by snatsim run --out DIR.",
                             show_default=False)
    ],
    out: Annotated[
        Path,
        typer.Option("-o", "--out", help="The figure file: .png, .svg or .pdf (the extension "
                     "picks the format).", show_default=False),
    ],
    kind: Annotated[
        str,
        typer.Option(help="Which figure: latency-cdf (connect latency with the 1 s / 3 s / 7 s "
                     "SYN retransmit steps), occupancy (ports in use per destination against "
                     "the window) or timeline (drops and retransmits per second)."),
    ] = "latency-cdf",
    title: Annotated[
        str | None, typer.Option(help="Title instead of the one that names the scenario.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing figure file.")] = False,
) -> None:
    """Draw a figure of a run: its connect-latency CDF, ports in use, or drops over time.

    The figure is slide-sized (1500 × 844 px as PNG) and written in one rename: a failure leaves
    no half-written file.
    """
    if kind not in RUN_KIND_NAMES:
        raise ConfigError(
            "--kind", f"{kind!r} is not a figure kind of a run folder; choose one of "
            + ", ".join(RUN_KIND_NAMES)
        )
    from snatsim.plotting import RUN_KINDS, save
    from snatsim.plotting._figure import check_figure_path

    check_figure_path(out, force=force, flag="--out")
    figure = RUN_KINDS[kind](source, title=title)
    written = save(figure, out, force=force)
    typer.echo(f"wrote {written}")
