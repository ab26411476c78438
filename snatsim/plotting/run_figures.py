"""Figures of one run: connect-latency CDF, ports in use per destination, drops over time.

Each function takes a :class:`~snatsim.results.SimulationResult` or the path of a folder written
by ``snatsim run --out DIR``, draws on ``ax`` when given (else on a new slide-sized figure) and
returns the :class:`~matplotlib.figure.Figure`. None runs a simulation or calls ``pyplot.show``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from snatsim.plotting._figure import new_axes, scenario_title, slide_style
from snatsim.plotting.run_source import RunLike, RunSource, run_source

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from snatsim.config import Scenario

__all__ = ["RUN_KINDS", "latency_cdf", "latency_ecdf", "occupancy", "timeline"]

_NEVER_COMPLETED = ("failed", "app_timeout")  # the summary's denominators (snatsim.rundata)
_MAX_DESTINATIONS = 8  # lines in the occupancy figure; the rest are named in the legend


def _shade_warmup(ax: Axes, source: RunSource) -> None:
    ax.axvspan(0, source.scenario.simulation.warmup_s, color="0.85", alpha=0.5,
               label="warm-up (not measured)")


def _retransmit_times_s(scenario: Scenario) -> tuple[float, ...]:
    """When the SYN retransmits fire after the first SYN (spec §9): T1 1, 3, 7, 15 ... s."""
    from snatsim.kernel.tcp import syn_schedule

    tcp = scenario.tcp
    schedule = syn_schedule(scenario.kernel.profile().syn_era, syn_retries=tcp.syn_retries,
                            linear_timeouts=tcp.syn_linear_timeouts)
    return schedule.send_times_s[1:]


def latency_ecdf(latency_s: np.ndarray, never_completed: int) -> tuple[np.ndarray, np.ndarray]:
    """The empirical CDF drawn by :func:`latency_cdf`: sorted latencies and, at each, the fraction
    of connects done by then. Connects that never completed count in the denominator (they are
    never done), so the curve ends at ``completed / (completed + never_completed)``, and its value
    just below 1 s is one minus the summary's ``delayed_fraction.ge_1s``."""
    x = np.sort(np.asarray(latency_s, dtype=float))
    total = x.size + never_completed
    return x, np.arange(1, x.size + 1) / total


def _percent(k: int, n: int) -> str:
    """``"0.0998 % (42 of 42,087)"``."""
    return f"{100 * k / n:.3g} % ({k:,} of {n:,})" if k else f"none of {n:,}"


def latency_cdf(run: RunLike, ax: Axes | None = None, *, title: str | None = None) -> Figure:
    """Connect-latency CDF on a log time axis, with the SYN retransmit steps marked.

    A connect whose first SYN was dropped (an SNAT clash, spec §6) completes one retransmit
    timeout later: 1 s, 3 s, 7 s on kernels before 6.5 (spec §9). Those steps are drawn as
    dotted lines, each annotated with the share of connects that took at least that long. The
    y axis is a logit scale, so the 0.1 % tail is as visible as the median.

    Parameters
    ----------
    run:
        A :class:`~snatsim.results.SimulationResult` that kept rows (``simulate(..., rows=True)``)
        or the path of a folder written by ``snatsim run --out DIR`` (with ``connections.csv``).
    ax:
        Axes to draw on; ``None`` makes a new slide-sized figure.
    title:
        Replaces the title that names the scenario.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (``fig.savefig("cdf.png")``; a notebook shows it as a cell's value).
        This signature is stable: ``make demo`` and the notebooks call it.
    """
    source = run_source(run)
    rows = source.rows(("workload", "outcome", "latency_s"))
    with slide_style():
        figure, (axes,) = new_axes(ax)
        _draw_cdf(axes, source, rows)
        axes.set_title(title or scenario_title(source.scenario, source.name))
    return figure


def _draw_cdf(ax: Axes, source: RunSource, rows: pd.DataFrame) -> None:
    done = rows["latency_s"].notna()
    never = rows["outcome"].isin(_NEVER_COMPLETED)
    total = int(done.sum() + never.sum())
    if total == 0:
        ax.text(0.5, 0.5, "no measured connect completed", transform=ax.transAxes, ha="center")
        return
    x, y = latency_ecdf(rows.loc[done, "latency_s"].to_numpy(), int(never.sum()))
    label = f"all connects ({total:,})"
    if int(never.sum()):
        label += f"; {int(never.sum()):,} never completed"
    ax.step(x, y, where="post", label=label, color="C0", zorder=3)
    workloads = sorted(rows["workload"].unique())
    if len(workloads) > 1:
        for i, name in enumerate(workloads, start=1):
            mine = rows["workload"] == name
            wx, wy = latency_ecdf(rows.loc[done & mine, "latency_s"].to_numpy(),
                                  int((never & mine).sum()))
            ax.step(wx, wy, where="post", color=f"C{i}", linewidth=1.2, alpha=0.8,
                    label=f"{name} ({int(mine.sum()):,})")
    ax.set_xscale("log")
    ax.set_yscale("logit", one_half="½")
    steps = [t for t in _retransmit_times_s(source.scenario) if t <= max(7.0, float(x[-1]))]
    latencies = rows.loc[done, "latency_s"].to_numpy()
    for t in steps:
        slow = int((latencies >= t).sum()) + int(never.sum())
        ax.axvline(t, color="0.3", linestyle=":", linewidth=1.2, zorder=2)
        ax.annotate(f"SYN retransmit at {t:g} s\n≥ {t:g} s: {_percent(slow, total)}", (t, 0.3),
                    xycoords=("data", "axes fraction"), xytext=(4, 0),
                    textcoords="offset points", rotation=90, va="center", fontsize=10)
    low = max(float(x[0]), 1e-6)
    ax.set_xlim(low / 1.5, max(20.0, float(x[-1]) * 2.5))  # room for the last label
    ax.set_ylim(max(0.5 / total, 1e-6), 1 - max(0.5 / total, 1e-6))
    ax.set_xlabel("connect() latency (s, log scale)")
    ax.set_ylabel("fraction of connects done (logit scale)")
    ax.legend(loc="upper left")


def occupancy(run: RunLike, ax: Axes | None = None, *, title: str | None = None) -> Figure:
    """SNAT ports in use over time, per (NAT IP, destination), against the port window.

    Ports run out per (protocol, NAT IP, destination IP, destination port) (spec §5.1): each line
    is one such key, with its window size (spec §4.4) as a dashed line of the same colour and the
    Little's-law expectation (rate × hold time, :func:`snatsim.analytic.window_load.window_loads`)
    as a dotted one. Parameters and return value as :func:`latency_cdf`.
    """
    source = run_source(run)
    with slide_style():
        figure, (axes,) = new_axes(ax)
        _draw_occupancy(axes, source)
        axes.set_title(title or scenario_title(source.scenario, source.name))
    return figure


def _windows(scenario: Scenario) -> tuple[dict[str, int], dict[str, float]]:
    """Per ``ports_in_use`` label (``"tcp 192.0.2.10 -> 203.0.113.10:443"``): the port window's
    size and the expected ports held (Little's law; open-loop workloads only)."""
    from snatsim.analytic.window_load import window_loads

    windows: dict[str, int] = {}
    expected: dict[str, float] = {}
    for load in window_loads(scenario):
        label = f"{load.protocol} {load.nat_ip} -> {load.destination}"
        windows[label] = max(windows.get(label, 0), load.window)
        expected[label] = expected.get(label, 0.0) + load.ports
    return windows, expected


def _draw_occupancy(ax: Axes, source: RunSource) -> None:
    frame = source.timeseries
    prefix = "ports_in_use["
    columns = [c for c in frame.columns if c.startswith(prefix)]
    peaks = {c: int(frame[c].max()) for c in columns}
    columns.sort(key=lambda c: -peaks[c])
    windows, expected = _windows(source.scenario)
    seconds = frame.index.to_numpy()
    _shade_warmup(ax, source)
    for i, column in enumerate(columns[:_MAX_DESTINATIONS]):
        label = column[len(prefix):-1]
        color = f"C{i}"
        ax.step(seconds, frame[column].to_numpy(), where="post", color=color,
                label=f"{label} (max {peaks[column]:,})")
        if label in windows:
            ax.axhline(windows[label], color=color, linestyle="--", linewidth=1.5,
                       label=f"window: {windows[label]:,} ports")
        if expected.get(label):
            ax.axhline(expected[label], color=color, linestyle=":", linewidth=1.5,
                       label=f"Little's law: {expected[label]:,.0f}")
    hidden = len(columns) - _MAX_DESTINATIONS
    if hidden > 0:
        ax.plot([], [], " ", label=f"{hidden} more destinations not shown")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("SNAT ports in use (per NAT IP and destination)")
    ax.legend(loc="best")


def timeline(run: RunLike, ax: Axes | None = None, *, title: str | None = None) -> Figure:
    """Drops and retransmits per simulated second, under the new connections per second.

    Top panel: new connections per second. Bottom panel: SYNs dropped at NAT/confirm per second
    (``timeseries`` ``syn_drops``), UDP queries dropped (when the run has UDP), and the SYN
    retransmits per second of the measured connections (from their rows: a connection that sent
    *k* SYNs retransmitted at the era's times 1, 3, 7 ... s after its start, spec §9; left out when
    the run kept no rows). With ``ax`` given, only the bottom panel is drawn. Parameters and
    return value as :func:`latency_cdf`.
    """
    source = run_source(run)
    with slide_style():
        if ax is None:
            figure, (top, bottom) = new_axes(None, rows=2)
            _draw_new_connections(top, source)
        else:
            figure, (bottom,) = new_axes(ax)
            top = bottom
        _draw_drops(bottom, source)
        top.set_title(title or scenario_title(source.scenario, source.name))
    return figure


def _draw_new_connections(ax: Axes, source: RunSource) -> None:
    frame = source.timeseries
    _shade_warmup(ax, source)
    ax.step(frame.index.to_numpy(), frame["new_connections"].to_numpy(), where="post",
            color="C0", label="new connections")
    ax.set_ylabel("connections / s")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right")


def retransmits_per_second(source: RunSource, seconds: int) -> np.ndarray | None:
    """SYN retransmits of the measured TCP connections, per second (None without rows)."""
    from snatsim.errors import RowsNotKeptError

    try:
        rows = source.rows(("protocol", "start_s", "syns"))
    except RowsNotKeptError:
        return None
    rows = rows[(rows["protocol"] == "tcp") & (rows["syns"] > 1)]
    times = np.asarray(_retransmit_times_s(source.scenario))
    retransmits = (rows["syns"].to_numpy() - 1).clip(max=times.size)
    starts = np.repeat(rows["start_s"].to_numpy(), retransmits)
    offsets = np.concatenate([times[:k] for k in retransmits]) if retransmits.size else times[:0]
    counts = np.bincount(np.floor(starts + offsets).astype(int), minlength=seconds)
    return counts[:seconds]


def _draw_drops(ax: Axes, source: RunSource) -> None:
    frame = source.timeseries
    seconds = frame.index.to_numpy()
    _shade_warmup(ax, source)
    ax.step(seconds, frame["syn_drops"].to_numpy(), where="post", color="C3",
            label=f"SYNs dropped ({int(frame['syn_drops'].sum()):,})")
    if any(w.protocol == "udp" for w in source.scenario.workload):
        ax.step(seconds, frame["query_drops"].to_numpy(), where="post", color="C4",
                label=f"UDP queries dropped ({int(frame['query_drops'].sum()):,})")
    retransmits = retransmits_per_second(source, len(seconds))
    if retransmits is not None:
        ax.step(seconds, retransmits, where="post", color="C1", linestyle="--",
                label=f"SYN retransmits, measured connections ({int(retransmits.sum()):,})")
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("packets / s")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right")


RUN_KINDS = {"latency-cdf": latency_cdf, "occupancy": occupancy, "timeline": timeline}
"""``snatsim plot RUN_DIR --kind K``: each kind's figure function."""
