"""``snatsim plot``: a figure of a run folder (``snatsim run --out DIR``) or of a sweep's results
file (``snatsim sweep --out FILE``), written atomically.

The drawing is :mod:`snatsim.plotting`; this module parses, checks the options and the output
path before anything is read or drawn, and calls one figure function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from snatsim.cli._common import handle_errors
from snatsim.errors import ConfigError

__all__ = ["RUN_KIND_NAMES", "SWEEP_KIND_NAMES", "plot", "register"]

RUN_KIND_NAMES = ("latency-cdf", "occupancy", "timeline")
"""The figure kinds of a run folder (``snatsim.plotting.RUN_KINDS``; listed here so that the
command's help needs no matplotlib)."""
SWEEP_KIND_NAMES = ("lines", "heatmap")
"""The figure kinds of a results file: ``snatsim.plotting.sweep_lines`` and ``sweep_heatmap``."""
_SWEEP_OPTIONS = ("--x", "--y", "--z", "--hue", "--logx", "--logy", "--logz")


def register(app: typer.Typer) -> None:
    """Add the ``plot`` command to ``app``."""
    app.command("plot")(plot)


def _choose_kind(kind: str | None, sweep: bool) -> str:
    names, other, what = ((SWEEP_KIND_NAMES, RUN_KIND_NAMES, "a results file") if sweep
                          else (RUN_KIND_NAMES, SWEEP_KIND_NAMES, "a run folder"))
    if kind is None:
        return names[0]
    if kind in names:
        return kind
    also = (f" ({kind!r} is a figure of "
            f"{'a run folder' if sweep else 'a results file'})" if kind in other else "")
    raise ConfigError("--kind", f"{kind!r} is not a figure kind of {what}{also}; choose one of "
                      + ", ".join(names))


def _check_sweep_options(kind: str, given: dict[str, str | bool | None]) -> None:
    """Which of --x/--y/--z/--hue/--log* the kind needs and takes."""
    needs = {"lines": ("--x", "--y"), "heatmap": ("--x", "--y", "--z")}[kind]
    takes = {"lines": (*needs, "--hue", "--logx", "--logy"), "heatmap": (*needs, "--logz")}[kind]
    for flag in needs:
        if not given[flag]:
            example = {"--x": "workload.0.rate_per_s", "--y": "delayed_fraction.ge_1s",
                       "--z": "delayed_fraction.ge_1s"}[flag]
            if kind == "heatmap" and flag == "--y":
                example = "nat.random_fully"
            raise ConfigError(flag, f"the {kind} figure needs {flag}, e.g. {flag} {example}")
    for flag, value in given.items():
        if value and flag not in takes:
            raise ConfigError(flag, f"does not apply to --kind {kind}; it takes "
                              + ", ".join(takes))


@handle_errors
def plot(
    source: Annotated[
        Path, typer.Argument(help="A run folder (snatsim run --out DIR) or a sweep's results "
                             "file (snatsim sweep --out FILE).", show_default=False)
    ],
    out: Annotated[
        Path,
        typer.Option("-o", "--out", help="The figure file: .png, .svg or .pdf (the extension "
                     "picks the format).", show_default=False),
    ],
    kind: Annotated[
        str | None,
        typer.Option(help="Which figure. A run folder: latency-cdf (the default; connect latency "
                     "with the 1 s / 3 s / 7 s SYN retransmit steps), occupancy (ports in use per "
                     "destination against the window) or timeline (drops and retransmits per "
                     "second). A results file: lines (the default; --y against --x, one line per "
                     "--hue value, 95 % bands) or heatmap (--z over --x and --y).",
                     show_default=False),
    ] = None,
    x: Annotated[str | None, typer.Option("--x", help="Results file: the swept key on the x "
                                          "axis, e.g. workload.0.rate_per_s.")] = None,
    y: Annotated[str | None, typer.Option("--y", help="Results file: the metric (lines), e.g. "
                                          "delayed_fraction.ge_1s, or the second swept key "
                                          "(heatmap).")] = None,
    z: Annotated[str | None, typer.Option("--z", help="Results file, heatmap: the metric "
                                          "coloured.")] = None,
    hue: Annotated[str | None, typer.Option("--hue", help="Results file, lines: the swept key "
                                            "that makes one line per value.")] = None,
    logx: Annotated[bool, typer.Option("--logx", help="Log x axis (lines).")] = False,
    logy: Annotated[bool, typer.Option("--logy", help="Log y axis (lines).")] = False,
    logz: Annotated[bool, typer.Option("--logz", help="Log colour scale (heatmap).")] = False,
    title: Annotated[
        str | None, typer.Option(help="Title instead of the one that names the scenario.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing figure file.")] = False,
) -> None:
    """Draw a figure of a run (latency CDF, ports in use, drops over time) or of a sweep
    (a metric against swept keys, as lines with interval bands or as a heatmap).

    The figure is slide-sized (1500 × 844 px as PNG) and written in one rename: a failure leaves
    no half-written file.
    """
    given = {"--x": x, "--y": y, "--z": z, "--hue": hue, "--logx": logx, "--logy": logy,
             "--logz": logz}
    if not source.exists():
        raise ConfigError("SOURCE", f"{str(source)!r} does not exist; give a run folder (snatsim "
                          "run --out DIR) or a results file (snatsim sweep --out FILE)")
    sweep = not source.is_dir()
    chosen = _choose_kind(kind, sweep)
    if sweep:
        _check_sweep_options(chosen, given)
    else:
        for flag, value in given.items():
            if value:
                raise ConfigError(flag, "applies to a sweep's results file (snatsim sweep --out "
                                  f"FILE), not to a run folder such as {str(source)!r}")
    from snatsim.plotting import RUN_KINDS, save, sweep_heatmap, sweep_lines
    from snatsim.plotting._figure import check_figure_path

    check_figure_path(out, force=force, flag="--out")
    if not sweep:
        figure = RUN_KINDS[chosen](source, title=title)
    elif chosen == "lines":
        assert x is not None and y is not None
        figure = sweep_lines(source, x, y, hue, logx=logx, logy=logy, title=title)
    else:
        assert x is not None and y is not None and z is not None
        figure = sweep_heatmap(source, x, y, z, logz=logz, title=title)
    written = save(figure, out, force=force)
    typer.echo(f"wrote {written}")
