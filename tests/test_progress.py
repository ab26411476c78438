"""Progress: plain lines off a terminal, a forced bar, nothing when asked, callbacks per second."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from snatsim.config import load_scenario
from snatsim.progress import ProgressDisplay
from snatsim.results import simulate

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "default.toml"
SHORT = ["--set", "simulation.duration_s=4", "--set", "simulation.warmup_s=1"]
# rich treats these as "a terminal": the tests decide that themselves
PLAIN_ENV = {k: v for k, v in os.environ.items()
             if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
LINE = re.compile(r"^progress: (\d)/4 simulated s \(\d+ %\), ([\d,]+) connections started")


def snatsim_run(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "snatsim.cli", "run", str(CONFIG), *SHORT, "--json", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=PLAIN_ENV)
    assert out.returncode == 0, out.stderr
    return out


def test_off_a_terminal_progress_is_plain_lines_on_stderr() -> None:
    err = snatsim_run("--progress-every", "0").stderr.splitlines()
    matches = [LINE.match(line) for line in err]
    assert all(matches) and len(matches) == 4, err
    seconds = [int(m.group(1)) for m in matches if m]
    started = [int(m.group(2).replace(",", "")) for m in matches if m]
    assert seconds == [1, 2, 3, 4]
    assert started == sorted(started) and started[0] > 0
    assert "ETA" in err[0] and "ETA" not in err[-1]


def test_a_short_run_prints_no_line_before_the_interval() -> None:
    assert snatsim_run().stderr == ""  # default: one line per 5 s of wall time


def test_progress_forces_the_bar_off_a_terminal() -> None:
    err = snatsim_run("--progress").stderr
    assert "simulating" in err and "━" in err and "simulated s" in err
    assert "progress:" not in err


def test_no_progress_prints_nothing() -> None:
    assert snatsim_run("--no-progress", "--progress-every", "0").stderr == ""


def test_lines_come_every_interval_of_wall_time_with_an_eta() -> None:
    now = [0.0]
    stream = io.StringIO()
    display = ProgressDisplay(100, "simulated s", mode="lines", every_s=5.0, stream=stream,
                              clock=lambda: now[0])
    with display:
        for t, wall in [(10, 1.0), (20, 5.0), (30, 6.0), (50, 10.0)]:
            now[0] = wall
            display.update(t, "x")
    assert stream.getvalue().splitlines() == [
        "progress: 20/100 simulated s (20 %), x, ETA 20 s",
        "progress: 50/100 simulated s (50 %), x, ETA 10 s",
    ]


def test_simulate_calls_progress_once_per_simulated_second() -> None:
    calls: list[tuple[float, float, int]] = []
    scenario = load_scenario(CONFIG, ["simulation.duration_s=5", "simulation.warmup_s=1"])
    with_progress = simulate(scenario, rng=3, progress=lambda *a: calls.append(a))
    assert [c[0] for c in calls] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert all(c[1] == 5.0 for c in calls)
    assert [c[2] for c in calls] == sorted(c[2] for c in calls)
    assert calls[-1][2] == sum(with_progress.series.new_connections)
    assert simulate(scenario, rng=3).summary() == with_progress.summary()  # only an observer


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_is_a_bar_on_a_terminal_and_lines_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in set(os.environ) - set(PLAIN_ENV):
        monkeypatch.delenv(name)
    assert ProgressDisplay(1, "s", stream=FakeTerminal()).mode == "bar"
    assert ProgressDisplay(1, "s", stream=io.StringIO()).mode == "lines"
    assert ProgressDisplay(1, "s", mode="off", stream=FakeTerminal()).mode == "off"


def test_simulate_and_replicate_draw_the_bar_on_a_terminal_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from snatsim.replicates import replicate

    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    scenario = load_scenario(CONFIG, ["simulation.duration_s=3", "simulation.warmup_s=1"])
    simulate(scenario, rng=1, progress=True)
    assert "3/3 simulated s" in terminal.getvalue()
    replicate(scenario, 2, rng=1, workers=1, progress=True)
    assert "2/2 replicates" in terminal.getvalue()
