"""What every snatsim figure shares: slide-sized style, a fresh figure or the caller's axes, titles
and saving.

No pyplot: figures are :class:`matplotlib.figure.Figure` objects drawn without any GUI backend,
so nothing opens a window, nothing depends on ``$DISPLAY`` and no global figure list grows
(rendering uses Agg for PNG, matplotlib's own writers for SVG and PDF). In Jupyter a returned
figure shows as the cell's value.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib.figure import Figure

from snatsim.errors import ConfigError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from snatsim.config import Scenario

__all__ = ["FORMATS", "SLIDE_SIZE_IN", "check_figure_path", "figure_bytes", "new_axes", "save",
           "scenario_title", "slide_style"]

FORMATS = ("png", "svg", "pdf")
"""File types a figure is written as, chosen by the ``-o`` extension."""
SLIDE_SIZE_IN = (10.0, 5.625)
"""Figure size in inches: 16:9, a slide's shape; at 150 dpi a 1500 × 844 PNG."""
DPI = 150
_SLIDE_RC = {
    "font.size": 13,
    "axes.titlesize": 14,
    "axes.labelsize": 13,
    "legend.fontsize": 11,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "lines.linewidth": 2.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "svg.hashsalt": "snatsim",  # the same figure gives the same SVG bytes
    "pdf.compression": 6,
}


@contextmanager
def slide_style() -> Iterator[None]:
    """Fonts and lines readable on a slide (applies to what is drawn inside the block)."""
    with matplotlib.rc_context(_SLIDE_RC):  # type: ignore[arg-type]  # a str-keyed dict
        yield


def new_axes(ax: Axes | None, *, rows: int = 1) -> tuple[Figure, list[Axes]]:
    """The caller's ``ax`` (and its figure), or a new slide-sized figure with ``rows`` axes
    stacked on a shared x axis."""
    if ax is not None:
        if rows != 1:
            raise ValueError(f"this figure draws {rows} stacked panels; pass ax=None")
        figure = ax.figure
        if not isinstance(figure, Figure):  # a SubFigure's axes: return the whole figure
            figure = figure.figure
        return figure, [ax]
    figure = Figure(figsize=SLIDE_SIZE_IN, dpi=DPI, layout="constrained")
    axes = figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return figure, list(axes)


def scenario_title(scenario: Scenario, name: str | None = None) -> str:
    """``"legacy-rover: kernel 4.14 (A1 C1 P1 T1), MASQUERADE, 4 CPUs, seed 7"``: which run this is."""
    profile = scenario.kernel.profile()
    eras = " ".join(str(e) for e in (profile.nat_era, profile.confirm_era, profile.client_era,
                                       profile.syn_era))
    nat = scenario.nat
    flags = [flag for flag, on in (("--random", nat.random), ("--random-fully", nat.random_fully),
                                   ("--persistent", nat.persistent)) if on]
    if nat.to_ports:
        flags.append(f"--to-ports {nat.to_ports}")
    target = "MASQUERADE" if nat.target == "masquerade" else "SNAT"
    seed = scenario.simulation.seed
    parts = [f"kernel {profile.version} ({eras})", " ".join([target, *flags]),
             f"{scenario.node.cpus} CPUs", "fresh seed" if seed is None else f"seed {seed}"]
    text = ", ".join(parts)
    return f"{name}: {text}" if name else text


def check_figure_path(out: str | Path, *, force: bool, flag: str = "out") -> Path:
    """Check ``out`` before anything is drawn: a known extension (:data:`FORMATS`) and a file that
    can be written (:func:`snatsim.output.check_file_target`); return it as an absolute path."""
    from snatsim.output import check_file_target

    suffix = Path(out).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        shown = f"'.{suffix}'" if suffix else "no extension"
        raise ConfigError(
            flag, f"{str(out)!r} has {shown}; name the figure .png, .svg or .pdf (the extension "
            "picks the format)"
        )
    return check_file_target(out, force=force, flag=flag, example="figure.png",
                             when="the figure replaces its file once drawn")


def figure_bytes(figure: Figure, fmt: str) -> bytes:
    """The figure rendered as ``fmt`` (one of :data:`FORMATS`), in memory.

    PDF and SVG carry no creation date, so the same figure gives the same bytes.
    """
    buffer = io.BytesIO()
    metadata: dict[str, Any] = {"png": {"Software": None}, "svg": {"Date": None},
                                "pdf": {"CreationDate": None}}[fmt]
    figure.savefig(buffer, format=fmt, dpi=DPI, metadata=metadata)
    return buffer.getvalue()


def save(figure: Figure, out: str | Path, *, force: bool = False) -> Path:
    """Write ``figure`` to ``out`` (format from the extension), complete or not at all.

    The figure is rendered in memory first, then written beside ``out`` and renamed into place
    (:func:`snatsim.output.atomic_write_bytes`): a failure leaves no half-written file. An
    existing file is replaced only with ``force``.
    """
    from snatsim.output import atomic_write_bytes

    path = check_figure_path(out, force=force)
    with slide_style():
        data = figure_bytes(figure, path.suffix.lower().lstrip("."))
    return atomic_write_bytes(path, data)
