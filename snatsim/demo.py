"""The first run (``snatsim demo``, ``make demo``): the XING case next to the same node with
``--random-fully``.

One scenario (``configs/legacy-rover.toml`` by default: aligned cron tickers on a 4.14 node with the
global sequential rover, docs/kernel.md §4.4 "A1") is simulated twice with the same seed: as
configured, and with ``nat.random_fully = true``. The two runs see the same arrivals, so every
difference in the counters comes from the port search: with the shared rover, two searches that
overlap inside the NAT -> confirm window (§6.2) take the same port, the loser's insert fails and its
SYN is retransmitted 1 s later (§9); with a random start offset per search they almost never do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snatsim.errors import ConfigError

if TYPE_CHECKING:
    from snatsim.config import Scenario
    from snatsim.results import SimulationResult
    from snatsim.rng import SeedLike

__all__ = ["DEFAULT_CONFIG", "DEFAULT_FIGURE", "MITIGATION", "Demo", "run_demo", "scenarios"]

DEFAULT_CONFIG = Path("configs/legacy-rover.toml")
"""The scenario shown, relative to the repository root (where ``make demo`` runs)."""
DEFAULT_FIGURE = Path("out/demo-latency-cdf.png")
"""Where the figure goes unless told otherwise (``out/`` is not tracked by git)."""
MITIGATION = "nat.random_fully=true"
"""The one override that turns the problem into its fix."""
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")

# (label, how to read the value from a summary) for the side-by-side table
_ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("connections (after warm-up)", ("delayed_counts", "of")),
    ("connect() took >= 1 s (a SYN was lost)", ("delayed_counts", "ge_1s")),
    ("connect() took >= 3 s", ("delayed_counts", "ge_3s")),
    ("never completed", ("delayed_counts", "never_completed")),
    ("conntrack -S insert_failed", ("conntrack", "insert_failed")),
    ("conntrack -S drop", ("conntrack", "drop")),
)


@dataclass(frozen=True)
class Demo:
    """The two runs of the demo and the figure written from them.

    Attributes
    ----------
    problem, fix:
        The scenario as configured, and the same scenario and seed with ``--random-fully``.
    figure:
        The latency figure's path, or ``None`` when none was asked for.
    """

    problem: SimulationResult
    fix: SimulationResult
    figure: Path | None

    def rows(self) -> list[tuple[str, int, int]]:
        """``(what, as configured, with --random-fully)`` counts, the demo's table."""
        return [(label, _lookup(self.problem.summary(), keys), _lookup(self.fix.summary(), keys))
                for label, keys in _ROWS]


def _lookup(summary: dict[str, Any], keys: tuple[str, ...]) -> int:
    value: Any = summary
    for key in keys:
        value = value[key]
    return int(value)


def scenarios(
    config: str | Path = DEFAULT_CONFIG, *, duration_s: float | None = None
) -> tuple[Scenario, Scenario]:
    """The demo's two scenarios: ``config`` as it is, and with ``--random-fully``.

    ``duration_s`` shortens (or lengthens) both runs; the warm-up is then cut to at most a fifth
    of it, so that something is still measured.
    """
    from snatsim.config import load_scenario

    overrides: list[str] = []
    if duration_s is not None:
        if not duration_s > 0:
            raise ConfigError("--duration-s", f"{duration_s:g} is not a positive number of seconds")
        warmup_s = load_scenario(config).simulation.warmup_s
        overrides += [f"simulation.duration_s={duration_s!r}",
                      f"simulation.warmup_s={min(warmup_s, duration_s / 5)!r}"]
    problem = load_scenario(config, overrides)
    if problem.nat.random_fully:
        raise ConfigError(
            str(config), "already uses --random-fully (nat.random_fully = true), so the demo "
            "has nothing to compare; pass a scenario without it, e.g. configs/legacy-rover.toml"
        )
    return problem, load_scenario(config, [*overrides, MITIGATION])


def run_demo(
    config: str | Path = DEFAULT_CONFIG,
    *,
    duration_s: float | None = None,
    figure: str | Path | None = DEFAULT_FIGURE,
    rng: SeedLike = None,
) -> Demo:
    """Simulate ``config`` with and without ``--random-fully`` and draw both latency CDFs.

    Parameters
    ----------
    config:
        A scenario TOML without ``--random-fully``.
    duration_s:
        Simulated seconds of each run (default: the scenario's own).
    figure:
        Where to write the overlaid connect-latency CDFs (``.png``, ``.svg`` or ``.pdf``; an
        existing file is replaced, in one step), or ``None`` for no figure.
    rng:
        Seed shared by both runs (default ``simulation.seed``), so they see the same arrivals.
    """
    from snatsim.results import simulate

    problem_scenario, fix_scenario = scenarios(config, duration_s=duration_s)
    figure_path = None if figure is None else check_figure_path(figure)
    if rng is None:
        rng = problem_scenario.simulation.seed
    rows = "none" if figure_path is None else "all"  # the figure needs every latency
    problem = simulate(problem_scenario, rng=rng, rows=rows)
    fix = simulate(fix_scenario, rng=rng, rows=rows)
    if figure_path is not None:
        write_figure(problem, fix, figure_path, Path(config).stem)
    return Demo(problem, fix, figure_path)


def check_figure_path(figure: str | Path) -> Path:
    """The figure's absolute path, checked before anything is simulated (an existing file is
    replaced: the demo is meant to be run again)."""
    from snatsim.output import check_file_target

    if Path(figure).suffix.lower() not in FIGURE_SUFFIXES:
        raise ConfigError(
            "--figure", f"{str(figure)!r} is not a figure file name; end it in .png, .svg or .pdf "
            "(the extension picks the format)"
        )
    return check_file_target(figure, force=True, flag="--figure", example="demo.png",
                             when="the figure replaces its file once drawn")


def write_figure(problem: SimulationResult, fix: SimulationResult, path: Path, name: str) -> None:
    """Both runs' connect-latency CDFs on one axes, written to ``path`` in one rename.

    The configured run is drawn by :func:`snatsim.plotting.latency_cdf` (its retransmit steps
    annotated with its shares); the ``--random-fully`` run's CDF of all connects is laid over it.
    """
    from snatsim.plotting import latency_cdf, latency_ecdf, save

    figure = latency_cdf(problem, title=f"{name}: as configured vs --random-fully "
                         "(same seed, same arrivals)")
    (ax,) = figure.axes
    for line in ax.get_lines():
        if not str(line.get_label()).startswith("_"):
            line.set_label(f"as configured: {line.get_label()}")
    counts = fix.summary()["delayed_counts"]
    x, y = latency_ecdf(fix.to_frame()["latency_s"].dropna().to_numpy(),
                        int(counts["never_completed"]))
    ax.step(x, y, where="post", color="black", linestyle="--", linewidth=2.0, zorder=4,
            label=f"--random-fully: all connects ({int(counts['of']):,})")
    ax.legend(loc="upper left")
    save(figure, path, force=True)
