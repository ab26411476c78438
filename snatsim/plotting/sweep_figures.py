"""Figures of a sweep: a metric against one swept key (lines per another, interval bands) and a
heatmap over two swept keys.

They take the frame of ``snatsim.load_results(path)`` (one row per point × replicate; columns as
:mod:`snatsim.sweep.columns` names them: the swept keys as given, each summary metric by its
dotted path, its interval as ``METRIC_lo`` / ``METRIC_hi``) or the results file's path.

Replicates of a point are combined: with one replicate the band is the run's own 95 % interval
(``METRIC_lo``/``_hi``, an exact binomial one for fractions); with several it is the mean's 95 %
interval from their spread (Student t), which holds for correlated workloads too.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from snatsim.errors import ConfigError
from snatsim.plotting._figure import new_axes, scenario_title, slide_style

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["SweepLike", "axis_label", "sweep_heatmap", "sweep_lines", "sweep_points"]

SweepLike = Union["pd.DataFrame", str, Path]
"""What the sweep figures take: a results frame, or the path of a results file."""

_NOT_METRICS = {"point", "replicate", "warnings", "entropy", "spawn_key", "wall_s",
                "snatsim_version", "engine"}
_METRIC_NAMES = {
    "delayed_fraction.ge_1s": "connects delayed ≥ 1 s or failed (fraction)",
    "delayed_fraction.ge_2s": "connects delayed ≥ 2 s or failed (fraction)",
    "delayed_fraction.ge_3s": "connects delayed ≥ 3 s or failed (fraction)",
    "delayed_fraction.ge_5s": "lookups delayed ≥ 5 s or failed (fraction)",
    "conntrack.insert_failed": "conntrack insert_failed (count)",
    "conntrack.drop": "conntrack drop (count)",
    "syn.dropped": "SYNs dropped (count)",
    "ports.preserved_fraction": "connects that kept the pod's port (fraction)",
}
_SUMMARY_SECTIONS = {"kernel", "window", "conntrack", "connections", "syn", "udp_queries",
                     "connect_latency_s", "delayed_fraction", "delayed_counts",
                     "insert_failed_causes", "drops", "ports", "per_workload", "mean", "se"}
_UNITS = (("_per_s", "per s"), ("_us", "µs"), ("_s", "s"))
_MAX_TICKS = 12  # up to this many swept values get a tick each
_MAX_CELL_TEXTS = 150  # heatmap cells annotated with their value up to this many


def axis_label(key: str) -> str:
    """A readable axis label with the unit: ``workload.0.rate_per_s`` -> ``... (per s)``."""
    if key in _METRIC_NAMES:
        return _METRIC_NAMES[key]
    if key.startswith("connect_latency_s."):
        return f"connect() latency {key.rsplit('.', 1)[1]} (s)"
    if key.startswith("delayed_fraction.") or key.endswith("_fraction"):
        return f"{key} (fraction)"
    for suffix, unit in _UNITS:
        if key.endswith(suffix):
            return f"{key} ({unit})"
    return key


def _frame(results: SweepLike) -> pd.DataFrame:
    import pandas as pd

    if isinstance(results, pd.DataFrame):
        return results
    if isinstance(results, str | Path):
        from snatsim import load_results

        frame: pd.DataFrame = load_results(results)
        return frame
    raise TypeError(f"expected a results DataFrame or a path, not {type(results).__name__}")


def _swept(frame: pd.DataFrame) -> list[str]:
    """The swept keys, in grid order: ``frame.attrs["swept"]`` as ``load_results`` sets it, else
    every column that is neither a metric (dotted path with an interval, or a known metric) nor
    bookkeeping."""
    swept = frame.attrs.get("swept")
    if swept:
        return list(swept)
    intervals = {c[:-3] for c in frame.columns if c.endswith("_lo")}
    return [c for c in frame.columns
            if c not in _NOT_METRICS and c not in intervals and c not in _METRIC_NAMES
            and not c.endswith(("_lo", "_hi")) and not _is_summary_path(c)]


def _is_summary_path(column: str) -> bool:
    """A metric column: a dotted path under a summary section (``connections.attempted``)."""
    return column.split(".", 1)[0] in _SUMMARY_SECTIONS


def _check_column(frame: pd.DataFrame, key: str, flag: str, *, swept: list[str] | None) -> None:
    """``key`` is a swept key (``swept`` given) or a metric column of ``frame``."""
    if swept is not None:
        if key in swept:
            return
        close = difflib.get_close_matches(key, swept, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            flag, f"{key!r} is not a swept key of these results; {hint}swept: "
            + ", ".join(swept)
        )
    if key in frame.columns and key not in _NOT_METRICS:
        numeric = frame[key].dropna()
        if len(numeric) and not all(isinstance(v, int | float) and not isinstance(v, bool)
                                    for v in numeric):
            raise ConfigError(flag, f"{key!r} holds text, not numbers; choose a numeric metric "
                              "such as delayed_fraction.ge_1s")
        return
    metrics = [c for c in frame.columns if "." in c and not c.endswith(("_lo", "_hi"))]
    close = difflib.get_close_matches(key, metrics, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(
        flag, f"{key!r} is not a metric of these results; {hint}e.g. "
        + ", ".join(m for m in ("delayed_fraction.ge_1s", "connect_latency_s.p99",
                                "conntrack.insert_failed") if m in frame.columns)
        + " (snatsim results FILE --json lists every column)"
    )


def _check_rest_fixed(frame: pd.DataFrame, used: list[str], swept: list[str], *,
                      flag: str, fix: str) -> None:
    """Every swept key not on a figure axis holds one value (else the figure would mix them)."""
    for key in swept:
        count = frame[key].nunique(dropna=False) if key in frame.columns else 1
        if key not in used and count > 1:
            raise ConfigError(
                flag, f"the sweep also varies {key!r} ({count} values) and one figure cannot mix "
                f"them; {fix.format(key=key)}, or plot a sweep that holds it fixed"
            )


def sweep_points(frame: pd.DataFrame, x: str, y: str, by: list[str]) -> pd.DataFrame:
    """Per value of ``by + [x]`` (in grid order): ``y`` (mean of the replicates), the band's
    ``lo``/``hi``, the number of replicates ``n`` and ``run_hi``, the mean of the runs' own upper
    bounds (``METRIC_hi``; what a point at 0 is drawn at on a log axis). See the module docstring
    for the band."""
    import pandas as pd
    from scipy.stats import t as student_t

    keys = [*by, x]
    lo_col, hi_col = f"{y}_lo", f"{y}_hi"
    records = []
    for values, group in frame.groupby(keys, sort=False, dropna=False):
        values = values if isinstance(values, tuple) else (values,)
        ys = group[y].astype(float).to_numpy()
        n = int(np.isfinite(ys).sum())
        mean = float(np.nanmean(ys)) if n else math.nan
        if n == 1 and lo_col in group and hi_col in group:
            lo, hi = float(group[lo_col].astype(float).iloc[0]), float(
                group[hi_col].astype(float).iloc[0])
        elif n > 1:
            half = float(student_t.ppf(0.975, n - 1)) * float(np.nanstd(ys, ddof=1)) / math.sqrt(n)
            lo, hi = mean - half, mean + half
        else:
            lo = hi = math.nan
        run_hi = float(group[hi_col].astype(float).mean()) if hi_col in group else math.nan
        records.append({**dict(zip(keys, values, strict=True)), "y": mean, "lo": lo, "hi": hi,
                        "n": n, "run_hi": run_hi})
    return pd.DataFrame.from_records(records, columns=[*keys, "y", "lo", "hi", "n", "run_hi"])


def _positions(values: pd.Series, order: list[str] | None) -> np.ndarray:
    """x positions: the numbers themselves, or the index in ``order`` of text/boolean values."""
    if order is None:
        return values.astype(float).to_numpy()
    return np.array([order.index(_show(v)) for v in values], dtype=float)


def _text_order(values: pd.Series) -> list[str] | None:
    """None for numeric values; else the distinct values as shown, in grid order (tick labels)."""
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return None
    return list(dict.fromkeys(_show(v) for v in values))


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _title(frame: pd.DataFrame, what: str) -> str:
    config = frame.attrs.get("config")
    if not config:
        return what
    import tomllib

    from snatsim.config import Scenario

    try:
        scenario = Scenario.from_dict(tomllib.loads(config))
    except (ValueError, tomllib.TOMLDecodeError):
        return what
    return f"{what}\n{scenario_title(scenario)}"


def sweep_lines(results: SweepLike, x: str, y: str, hue: str | None = None, *,
                logx: bool = False, logy: bool = False, ax: Axes | None = None,
                title: str | None = None) -> Figure:
    """``y`` (a summary metric) against the swept key ``x``, one line per value of ``hue``, with
    95 % interval bands (e.g. drop probability vs load per allocator on log-log axes).

    Parameters
    ----------
    results:
        The frame of ``snatsim.load_results(path)`` or the results file's path.
    x, hue:
        Swept keys as given to ``snatsim sweep --grid`` (``workload.0.rate_per_s``,
        ``nat.random_fully``). Every other swept key must hold one value.
    y:
        A metric column (``delayed_fraction.ge_1s``, ``connect_latency_s.p99``).
    logx, logy:
        Log axes (points at 0 cannot show on a log axis; the legend says how many).
    ax, title:
        As for :func:`snatsim.plotting.latency_cdf`.
    """
    frame = _frame(results)
    swept = _swept(frame)
    _check_column(frame, x, "--x", swept=swept)
    if hue is not None:
        _check_column(frame, hue, "--hue", swept=swept)
    _check_column(frame, y, "--y", swept=None)
    _check_rest_fixed(frame, [x] if hue is None else [x, hue], swept,
                      flag="--hue", fix="pass --hue {key}" if hue is None else "use it as --x")
    points = sweep_points(frame, x, y, [] if hue is None else [hue])
    with slide_style():
        figure, (axes,) = new_axes(ax)
        groups = [(None, points)] if hue is None else list(points.groupby(hue, sort=False))
        ticks = _text_order(points[x])
        axes.set_xscale("log" if logx and ticks is None else "linear")
        if logy:
            axes.set_yscale("log")
        for i, (value, group) in enumerate(groups):
            xs = _positions(group[x], ticks)
            label = f"{y}" if hue is None else f"{hue} = {_show(value)}"
            zero = (group["y"] <= 0).to_numpy() if logy else np.zeros(len(group), dtype=bool)
            bounded = zero & np.isfinite(group["run_hi"].to_numpy())
            if zero.any():
                label += f" ({int(zero.sum())} at 0" + (": ▼ at a run's 95 % upper bound)"
                                                         if bounded.any() else ", not shown)")
            axes.plot(xs, group["y"].to_numpy(), marker="o", color=f"C{i}", label=label)
            axes.fill_between(xs, group["lo"].to_numpy(), group["hi"].to_numpy(),
                              color=f"C{i}", alpha=0.2, linewidth=0)
            if bounded.any():
                axes.plot(xs[bounded], group["run_hi"].to_numpy()[bounded], linestyle="none",
                          marker="v", markersize=10, color=f"C{i}")
        if ticks is not None:
            axes.set_xticks(range(len(ticks)), ticks)
        elif points[x].nunique() <= _MAX_TICKS:  # a tick at each swept value, as written
            values = sorted(set(points[x].astype(float)))
            axes.set_xticks(values, [_show(v) for v in values])
            axes.minorticks_off()
        axes.plot([], [], " ", label="band: 95 % interval")
        axes.set_xlabel(axis_label(x))
        axes.set_ylabel(axis_label(y))
        axes.legend(loc="best")
        axes.set_title(title or _title(frame, f"{y} by {x}" + (f" and {hue}" if hue else "")))
    return figure


def sweep_heatmap(results: SweepLike, x: str, y: str, z: str, *, logz: bool = False,
                  ax: Axes | None = None, title: str | None = None) -> Figure:
    """The metric ``z`` over two swept keys ``x`` and ``y`` (mean of the replicates per cell),
    each cell annotated with its value; ``logz`` colours on a log scale."""
    from matplotlib.colors import LogNorm, Normalize

    frame = _frame(results)
    swept = _swept(frame)
    _check_column(frame, x, "--x", swept=swept)
    _check_column(frame, y, "--y", swept=swept)
    if x == y:
        raise ConfigError("--y", f"is the same key as --x ({x!r}); a heatmap needs two swept keys")
    _check_column(frame, z, "--z", swept=None)
    _check_rest_fixed(frame, [x, y], swept, flag="--x", fix="put {key} on --x or --y")
    points = sweep_points(frame, x, z, [y])
    xs = list(dict.fromkeys(_show(v) for v in points[x]))
    ys = list(dict.fromkeys(_show(v) for v in points[y]))
    grid = np.full((len(ys), len(xs)), np.nan)
    for x_value, y_value, z_value in zip(points[x], points[y], points["y"], strict=True):
        grid[ys.index(_show(y_value)), xs.index(_show(x_value))] = z_value
    with slide_style():
        figure, (axes,) = new_axes(ax)
        positive = grid[np.isfinite(grid) & (grid > 0)]
        norm = (LogNorm(vmin=positive.min(), vmax=positive.max()) if logz and positive.size
                else Normalize(vmin=np.nanmin(grid), vmax=np.nanmax(grid)))
        image = axes.imshow(np.ma.masked_invalid(grid), origin="lower", aspect="auto",
                            norm=norm, cmap="viridis")
        axes.set_xticks(range(len(xs)), xs)
        axes.set_yticks(range(len(ys)), ys)
        axes.grid(False)
        if grid.size <= _MAX_CELL_TEXTS:
            for (r, c), value in np.ndenumerate(grid):
                if np.isfinite(value):
                    axes.text(c, r, f"{value:.3g}", ha="center", va="center", fontsize=9,
                              color="white" if norm(value) < 0.5 else "black")
        colorbar = figure.colorbar(image, ax=axes)
        colorbar.set_label(axis_label(z))
        axes.set_xlabel(axis_label(x))
        axes.set_ylabel(axis_label(y))
        axes.set_title(title or _title(frame, f"{z} over {x} and {y}"))
    return figure

