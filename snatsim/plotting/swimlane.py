"""The swimlane figure of ``snatsim explain``: one lane per CPU and one for the conntrack table.

Each NAT decision is a dot on its CPU's lane with an arrow to its confirm (or clash) on the table
lane; SYNs, retransmits and connects are marked on the CPU lanes. Time runs on a *broken* axis:
events closer than :data:`GAP_S` form one segment drawn in microseconds, and the long gaps between
segments (the 1 s retransmit, the round trip) are cut out and labelled, so the 2 µs race window
and the 1 s retransmit are both visible. Takes a :class:`~snatsim.explain.story.Story`; never runs
a simulation, never calls ``plt.show()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from snatsim.explain.story import Story

__all__ = ["GAP_S", "TimeAxis", "swimlane"]

GAP_S = 50e-6  # events further apart than this start a new segment of the broken axis
SEGMENT_W = 1.0  # drawing width of a segment that spans some time
POINT_W = 0.35  # drawing width of a segment that is a single instant
BREAK_W = 0.45  # drawing width of a cut-out gap
TABLE_SPREAD = 0.3  # confirms from different CPUs sit this far apart on the table lane
SYN_SHIFT = 0.07  # a SYN is drawn this far left of the NAT decision at the same instant

MARKS: dict[str, dict[str, Any]] = {
    "syn": {"marker": ">", "color": "0.25", "label": "SYN sent"},
    "retransmit": {"marker": ">", "color": "#d08c00", "label": "SYN retransmitted"},
    "nat": {"marker": "o", "color": "#1f77b4", "label": "NAT decision (port chosen)"},
    "confirm": {"marker": "s", "color": "#2ca02c", "label": "confirm: entry inserted"},
    "clash": {"marker": "X", "color": "#d62728", "label": "clash at confirm: SYN dropped"},
    "evict": {"marker": "D", "color": "#9467bd", "label": "closing entry evicted"},
    "established": {"marker": "*", "color": "#2ca02c", "label": "connect() returns"},
    "close": {"marker": "|", "color": "0.5", "label": "connection closed"},
}


def _span_text(seconds: float) -> str:
    """A duration as ``2 µs``, ``2.002 ms`` or ``0.998 s``."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.4g} ms"
    return f"{seconds:.4g} s"


class TimeAxis:
    """A broken time axis: event times -> x positions, segments and the gaps cut out of them."""

    def __init__(self, times_s: list[float], gap_s: float = GAP_S) -> None:
        self.segments: list[tuple[float, float, float]] = []  # (first_s, last_s, x0)
        x = 0.0
        for t in sorted(set(times_s)):
            if self.segments and t - self.segments[-1][1] <= gap_s:
                first, _, x0 = self.segments[-1]
                self.segments[-1] = (first, t, x0)
                continue
            if self.segments:
                x = self.x_end(len(self.segments) - 1) + BREAK_W
            self.segments.append((t, t, x))

    def width(self, i: int) -> float:
        first, last, _ = self.segments[i]
        return SEGMENT_W if last > first else POINT_W

    def x_end(self, i: int) -> float:
        return self.segments[i][2] + self.width(i)

    def x(self, t_s: float) -> float:
        """The position of time ``t_s`` (which must be one of the times given)."""
        for first, last, x0 in self.segments:
            if first - 1e-12 <= t_s <= last + 1e-12:
                if last == first:
                    return x0 + POINT_W / 2
                pad = 0.1 * SEGMENT_W
                return x0 + pad + (t_s - first) / (last - first) * (SEGMENT_W - 2 * pad)
        raise ValueError(f"time {t_s!r} s is not on this axis")


def _draw_axis(ax: Axes, axis: TimeAxis, lanes: int) -> None:
    """Segment labels as ticks, and a cut mark with the skipped time in every gap."""
    ticks: list[float] = []
    labels: list[str] = []
    for i, (first, last, x0) in enumerate(axis.segments):
        ticks.append(axis.x(first))
        labels.append(f"{first:.6g} s")
        if last > first:
            ticks.append(axis.x(last))
            labels.append(f"+{_span_text(last - first)}")
        if i:
            gap_x = x0 - BREAK_W / 2
            skipped = first - axis.segments[i - 1][1]
            ax.axvspan(x0 - BREAK_W, x0, color="0.93", zorder=0)
            ax.text(gap_x, lanes - 0.45, f"// {_span_text(skipped)}", ha="center", va="center",
                    fontsize=7, color="0.35")
    ax.set_xticks(ticks, labels, fontsize=7, rotation=30, ha="right")
    ax.set_xlim(-0.1, axis.x_end(len(axis.segments) - 1) + 0.1)


def swimlane(story: Story, ax: Axes | None = None) -> Figure:
    """Draw ``story`` as a swimlane figure; return its Figure (drawn on ``ax`` when given)."""
    from matplotlib.lines import Line2D

    from snatsim.plotting._figure import new_axes

    fig, (ax,) = new_axes(ax)
    events = story.events
    cpus = sorted({e["cpu"] for e in events if e["cpu"] is not None})
    lane = {cpu: i for i, cpu in enumerate(cpus)}
    table_y = len(cpus)
    axis = TimeAxis([e["time_s"] for e in events])
    nat_at: dict[int, tuple[float, float]] = {}  # flow -> position of its last NAT decision
    used: set[str] = set()
    for e in events:
        kind, x = e["kind"], axis.x(e["time_s"])
        y = float(lane.get(e["cpu"], table_y))
        if kind in ("confirm", "clash"):  # on the table lane, a little apart per CPU
            y = table_y + TABLE_SPREAD * (y - (len(cpus) - 1) / 2)
        elif kind in ("syn", "retransmit"):
            x -= SYN_SHIFT  # just before the NAT dot it leads to
        if kind == "nat":
            nat_at[e["flow"]] = (x, y)
            for gone in e.get("evicted", []):
                _mark(ax, "evict", x, table_y, f"evicts {gone['port']}", used)
        if kind in ("confirm", "clash") and e["flow"] in nat_at:
            x0, y0 = nat_at.pop(e["flow"])
            ax.annotate("", xy=(x, y), xytext=(x0, y0), arrowprops={
                "arrowstyle": "->", "color": MARKS[kind]["color"], "lw": 1.2,
                "shrinkA": 4, "shrinkB": 6})
        if kind in MARKS:
            label = f"f{e['flow']}:{e['port']}" if e["port"] is not None else f"f{e['flow']}"
            _mark(ax, kind, x, y, label, used)
    ax.set_yticks(range(table_y + 1), [*(f"CPU {c}" for c in cpus), "conntrack table"])
    ax.set_ylim(-0.6, table_y + 0.6)
    for y in range(table_y + 1):
        ax.axhline(y, color="0.85", lw=0.8, zorder=0)
    _draw_axis(ax, axis, table_y + 1)
    ax.set_xlabel("simulated time (broken axis: grey bands are cut-out gaps)")
    lost = sum(c["lost"] for c in story.connections)
    ax.set_title(f"snatsim explain: kernel {story.kernel} ({story.eras.get('nat_era')}/"
                 f"{story.eras.get('confirm_era')}), --mode {story.mode}, --cause {story.cause}: "
                 f"{lost} SYN(s) lost", fontsize=10)
    handles = [Line2D([], [], ls="", marker=MARKS[k]["marker"], color=MARKS[k]["color"],
                      label=MARKS[k]["label"]) for k in MARKS if k in used]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False)
    return fig


def _mark(ax: Axes, kind: str, x: float, y: float, label: str, used: set[str]) -> None:
    style = MARKS[kind]
    ax.plot([x], [y], ls="", marker=style["marker"], color=style["color"], ms=9, zorder=3)
    dx, dy, ha = {"syn": (0, -12, "center"), "retransmit": (0, -12, "center"),
                  "confirm": (8, 0, "left"), "clash": (8, 0, "left"),
                  "evict": (-8, 0, "right")}.get(kind, (0, 10, "center"))
    ax.annotate(label, (x, y), textcoords="offset points", xytext=(dx, dy), ha=ha, va="center",
                fontsize=6.5, color=style["color"])
    used.add(kind)
