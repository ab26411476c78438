"""``snatsim explain``: run a tiny scripted scenario and narrate it from its trace (docs/explain.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from snatsim.cli._common import console, handle_errors, print_json
from snatsim.errors import ConfigError

__all__ = ["explain", "register"]

# the choices and default seed, spelled here too so that `snatsim --help` needs no import of
# snatsim.explain (tests/test_cli_explain.py checks they match)
MODES = ("default", "random", "random-fully")
CAUSES = ("race", "preservation", "eviction", "exhaustion")


def register(app: typer.Typer) -> None:
    """Add the ``explain`` command to ``app``."""
    app.command("explain")(explain)


def _choice(flag: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(flag, f"unknown value {value!r}; use one of {', '.join(allowed)}")
    return value


@handle_errors
def explain(
    kernel: Annotated[
        str,
        typer.Option(help="Kernel version (4.14, 5.4, 6.1, 6.18, any X.Y[.Z]); `snatsim kernels` "
                     "lists its eras.", metavar="VERSION"),
    ] = "4.14",
    mode: Annotated[
        str,
        typer.Option(help="The MASQUERADE rule's flag: default, random (--random) or "
                     "random-fully (--random-fully).", metavar="|".join(MODES)),
    ] = "default",
    cause: Annotated[
        str,
        typer.Option(help="What the script provokes: race (two searches start at the same port), "
                     "preservation (two pods keep the same port), eviction (a SYN meets a window "
                     "of TIME_WAIT entries, 6.5+), exhaustion (a window full of live entries).",
                     metavar="|".join(CAUSES)),
    ] = "race",
    seed: Annotated[int, typer.Option(help="Seed of the script (ISNs, random offsets).",
                                      min=0)] = 2,
    svg: Annotated[
        Path | None,
        typer.Option(help="Also draw the swimlane figure (one lane per CPU and one for the "
                     "conntrack table) as SVG to this file.",
                     metavar="FILE"),
    ] = None,
    png: Annotated[
        Path | None,
        typer.Option(help="The same figure as PNG.", metavar="FILE"),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Replace an existing --svg/--png file.")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the story as JSON: the eras, whether the kernel can "
                     "show the cause (and why not), and every event (time_s, cpu, flow, kind, "
                     "port, text, …)."),
    ] = False,
) -> None:
    """Watch one lost SYN happen, step by step, from a real run of the model.

    Two pods on a two-CPU node connect to one destination; the narration (NAT lookups, ports
    chosen and why, confirms, clashes, counters, retransmits, latencies) comes from the trace.
    """
    from snatsim.kernel.profiles import resolve_profile
    from snatsim.output import check_file_target

    _choice("--mode", mode, MODES)
    _choice("--cause", cause, CAUSES)
    try:
        resolve_profile(kernel)
    except ConfigError as exc:
        raise ConfigError("--kernel", exc.message) from None
    if svg is not None and png is not None:
        raise ConfigError("--svg", "give --svg FILE or --png FILE, not both")
    figure = svg if svg is not None else png
    flag = "--svg" if svg is not None else "--png"
    target = None
    if figure is not None:
        target = check_file_target(figure, force=force, flag=flag, example="race." + flag[2:],
                                   when="the figure replaces its file once drawn")

    from snatsim.explain import explain as tell

    story = tell(kernel, mode, cause, seed)
    if target is not None:
        from snatsim.output import atomic_write_bytes
        from snatsim.plotting import figure_bytes
        from snatsim.plotting.swimlane import swimlane

        atomic_write_bytes(target, figure_bytes(swimlane(story), flag[2:]))
    if as_json:
        print_json(story.to_dict())
        return
    from snatsim.explain.terminal import render

    out = console()
    render(story, out)
    if target is not None:
        out.print(f"swimlane figure: {target}")
