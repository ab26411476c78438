"""Progress of a run or of a set of replicates: a rich bar, plain lines, or nothing.

The SimPy model reports through its per-second sample (see :func:`snatsim.des.run`): the hot
path does not change whether anyone is watching. Three displays:

* ``bar``: a rich progress bar on stderr. Rich draws it in a terminal and in Jupyter; ``force``
  draws it even when stderr is a pipe (``snatsim run --progress``).
* ``lines``: one plain line on stderr every ``every_s`` seconds of wall time (default 5 s), for
  logs and CI: ``progress: 120/600 simulated s (20 %), 36,000 connections started, ETA 40 s``.
  A run shorter than ``every_s`` prints nothing.
* ``off``: nothing.

``auto`` (the default of ``snatsim run`` and of ``simulate(progress=True)``) is ``bar`` where rich
can draw one (a terminal, Jupyter) and ``lines`` elsewhere.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import IO, TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

__all__ = ["LINE_EVERY_S", "Mode", "ProgressDisplay", "choose_mode"]

LINE_EVERY_S = 5.0
"""Wall seconds between two plain progress lines (``lines`` mode)."""

Mode = Literal["auto", "bar", "force", "lines", "off"]


def choose_mode(flag: bool | None) -> Mode:
    """``--progress`` forces the bar, ``--no-progress`` turns it off, no flag is ``auto``."""
    if flag is None:
        return "auto"
    return "force" if flag else "off"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "< 1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class ProgressDisplay:
    """Show progress towards ``total`` (in ``unit``) on stderr; use it as a context manager.

    Parameters
    ----------
    total:
        The amount of work, e.g. the simulated seconds of a run or the number of replicates.
    unit:
        What ``total`` counts, for the display (``"simulated s"``, ``"replicates"``).
    mode:
        ``auto``, ``bar``, ``force``, ``lines`` or ``off`` (see the module docstring).
    every_s:
        Wall seconds between plain lines.
    verb:
        What the bar says is going on (``"simulating"``; ``"sampling"`` for Monte Carlo).
    stream, clock:
        Where lines go (default ``sys.stderr``) and the wall clock (tests pass their own).
    """

    def __init__(
        self,
        total: float,
        unit: str,
        *,
        mode: Mode = "auto",
        every_s: float = LINE_EVERY_S,
        verb: str = "simulating",
        stream: IO[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.unit = unit
        self.every_s = every_s
        self.verb = verb
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.lines = 0
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._started = self._last = clock()
        self.mode = self._resolve(mode)

    def _resolve(self, mode: Mode) -> Mode:
        if mode != "auto":
            return mode
        from rich.console import Console

        con = Console(file=self.stream)
        return "bar" if con.is_terminal or con.is_jupyter else "lines"

    def __enter__(self) -> ProgressDisplay:
        if self.mode in ("bar", "force"):
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            con = Console(file=self.stream, force_terminal=True if self.mode == "force" else None)
            self._bar = Progress(
                TextColumn(f"[bold]{self.verb}"),
                BarColumn(),
                TextColumn(f"{{task.completed:,.0f}}/{{task.total:,.0f}} {self.unit}"),
                TextColumn("{task.description}"),
                TimeRemainingColumn(),
                console=con,
                transient=True,
            )
            self._task = self._bar.add_task("", total=self.total)
            self._bar.start()
        self._started = self._last = self.clock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def update(self, done: float, detail: str = "") -> None:
        """``done`` of ``total`` are finished; ``detail`` is shown beside (e.g. connections)."""
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done, description=detail)
        elif self.mode == "lines":
            now = self.clock()
            if now - self._last >= self.every_s:
                self._last = now
                self.stream.write(self.line(done, detail, now - self._started) + "\n")
                self.stream.flush()
                self.lines += 1

    def line(self, done: float, detail: str, elapsed_s: float) -> str:
        """``progress: 120/600 simulated s (20 %), <detail>, ETA 40 s``."""
        share = done / self.total if self.total else 1.0
        parts = [f"progress: {done:,.0f}/{self.total:,.0f} {self.unit} ({100 * share:.0f} %)"]
        if detail:
            parts.append(detail)
        if 0 < share < 1:
            parts.append(f"ETA {_duration(elapsed_s * (1 - share) / share)}")
        return ", ".join(parts)

    def run_callback(self) -> Callable[[float, float, int], None]:
        """The ``progress(simulated_s, duration_s, connections_started)`` callback of a run."""

        def callback(simulated_s: float, _duration_s: float, started: int) -> None:
            self.update(simulated_s, f"{started:,} connections started")

        return callback
