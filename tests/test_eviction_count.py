"""TIME_WAIT entries freed by 6.5+ eviction (spec §5.3) are counted, in the measured window."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from snatsim.cli import app
from snatsim.config import load_scenario
from snatsim.results import simulate

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "to-ports-restricted.toml"


def evicted(*overrides: str) -> int:
    count: int = simulate(load_scenario(CONFIG, list(overrides))).summary()["ports"][
        "time_wait_evicted"]
    return count


def test_the_restricted_window_evicts_on_6_18_and_never_on_6_1() -> None:
    assert evicted("kernel.version=6.18") > 0
    assert evicted("kernel.version=6.1") == 0


def test_only_evictions_of_the_measured_window_count() -> None:
    """Evictions before warm-up ends are those of a run that stops there: the two add up."""
    short = ["kernel.version=6.18", "simulation.duration_s=200"]
    whole = evicted(*short, "simulation.warmup_s=0")
    before = evicted("kernel.version=6.18", "simulation.duration_s=120", "simulation.warmup_s=0",
                     "simulation.drain=false")
    after = evicted(*short, "simulation.warmup_s=120")
    assert before > 0 and after > 0
    assert before + after == whole


@pytest.mark.parametrize(("kernel", "text"), [("6.18", ""), ("6.1", "no eviction before")])
def test_human_output_reports_the_evictions(kernel: str, text: str) -> None:
    args = ["--set", f"kernel.version={kernel}", "--set", "simulation.duration_s=200"]
    result = CliRunner().invoke(app, ["run", str(CONFIG), *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if "TIME_WAIT entries evicted" in x)
    count = evicted(f"kernel.version={kernel}", "simulation.duration_s=200")
    assert f": {count:,}" in line and text in line
