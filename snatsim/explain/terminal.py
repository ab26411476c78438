"""The coloured terminal timeline of a :class:`~snatsim.explain.story.Story` (rich).

Rich is imported inside :func:`render`, so importing this module stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from snatsim.explain.story import Story
from snatsim.kernel.legend import FAMILIES, meaning

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["render"]

STYLES = {
    "syn": "bold", "retransmit": "bold yellow", "nat": "cyan", "confirm": "green",
    "clash": "bold red", "established": "bold green", "close": "dim",
    "etimedout": "bold red", "app-timeout": "bold red",
}


def clock(time_s: float) -> str:
    """A time as ``1.000002 s`` (µs resolution: the race window is a few µs)."""
    return f"{time_s:.6f} s"


def _latency(conn: dict[str, Any]) -> str:
    lat = conn["latency_s"]
    return "not connected at the end of the script" if lat is None else clock(lat)


def render(story: Story, console: Console) -> None:
    """Print the setup, the eras, the timeline and what each application saw."""
    from rich.markup import escape
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.table import Table

    eras = "\n".join(
        f"[bold]{story.eras[f.key]}[/] {escape(meaning(f.key, story.eras[f.key]))}"
        for f in FAMILIES
    )
    console.print(Panel(
        f"{escape(story.setup)}\n\n{eras}",
        title=f"snatsim explain: kernel {story.kernel}, --mode {story.mode}, "
        f"--cause {story.cause} (seed {story.seed})",
        title_align="left",
    ))
    if story.why_not is not None:
        title = f"kernel {story.kernel} with --mode {story.mode} cannot show {story.cause}"
        console.print(Panel(escape(story.why_not), title=title, title_align="left",
                            border_style="yellow"))
    console.print("[bold]Timeline[/] (sections of docs/kernel.md in brackets)")
    for e in story.events:
        style = STYLES.get(e["kind"], "")
        cpu = "     " if e["cpu"] is None else f"CPU {e['cpu']}"
        port = "" if e["port"] is None else f"port {e['port']}"
        head = f"{clock(e['time_s']):>12}  {cpu}  flow {e['flow']}  "
        console.print(f"{head}[{style or 'default'}]{e['kind']:<11}[/] {port}")
        console.print(Padding(escape(e["text"]), (0, 0, 0, 14)), style="dim" if
                      e["kind"] in ("syn", "close") else "")
    seen = Table(title="What the applications saw", title_justify="left", padding=(0, 1))
    for header in ("flow", "pod", "pod port", "NAT port", "SYNs sent", "SYNs lost",
                   "connect() latency"):
        seen.add_column(header, justify="right" if header != "connect() latency" else "left")
    for c in story.connections:
        lost = f"[bold red]{c['lost']}[/]" if c["lost"] else "0"
        seen.add_row(str(c["flow"]), str(c["pod"]), str(c["pod_port"]),
                     "-" if c["nat_port"] is None else str(c["nat_port"]), str(c["syns"]), lost,
                     _latency(c))
    console.print(seen)
    counters = ", ".join(f"{k} {v}" for k, v in story.counters.items())
    console.print(f"conntrack -S at the end: {counters} (docs/kernel.md §7)")
    if story.mitigations:
        _print_mitigations(story, console)


def _slowest(seconds: float | None) -> str:
    return "never (within the script)" if seconds is None else clock(seconds)


def _print_mitigations(story: Story, console: Console) -> None:
    """The same script replayed with each mitigation, next to the story's own outcome."""
    from rich.table import Table

    table = Table(title="The same script with a mitigation (each from its own run)",
                  title_justify="left", padding=(0, 1))
    for header in ("run", "SYNs lost", "clashes", "evictions", "slowest connect()"):
        table.add_column(header, justify="left" if header in ("run", "slowest connect()")
                         else "right")
    rows = [{"mitigation": f"as above (--mode {story.mode})", **story.outcome()},
            *story.mitigations]
    for row in rows:
        lost = f"[bold red]{row['syns_lost']}[/]" if row["syns_lost"] else "0"
        table.add_row(row["mitigation"], lost, str(row["clashes"]), str(row["evictions"]),
                      _slowest(row["slowest_connect_s"]))
    console.print(table)
