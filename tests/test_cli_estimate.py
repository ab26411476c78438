"""``snatsim estimate``: the Monte Carlo engine behind run's tables, JSON, --rel-error, progress."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import snatsim
from snatsim.cli import app
from snatsim.config import load_scenario
from snatsim.mc import engine

runner = CliRunner()
CONFIG = Path(__file__).resolve().parent.parent / "configs" / "default.toml"
TRIALS = ["--trials", "20000"]
WIDE = {"COLUMNS": "200"}  # rich tables are not truncated to 80 columns


def estimate_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["estimate", str(CONFIG), *args, "--json", "--no-progress"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_json_is_the_library_estimate_with_the_seed_and_overrides_applied() -> None:
    data = estimate_json(*TRIALS, "--seed", "5", "--set", "node.cpus=8")
    scenario = load_scenario(CONFIG, ["simulation.seed=5", "node.cpus=8"])
    expected = snatsim.estimate(scenario, trials=20000).summary()
    assert data == json.loads(json.dumps(expected))
    assert data["method"] == "mc" and data["provenance"]["seed"] == 5
    assert data["trials"] >= 20000 and data["allocations"] >= data["trials"]
    assert data["rel_error"]["target"] is None


def test_human_output_is_runs_tables_with_the_method_line() -> None:
    data = estimate_json(*TRIALS)
    result = runner.invoke(app, ["estimate", str(CONFIG), *TRIALS, "--no-progress"], env=WIDE)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert (f"Monte Carlo estimate: {data['trials']:,} trials, {data['allocations']:,} "
            "allocations") in out
    for title in ("conntrack -S", "connections (started after warm-up)", "connect() latency",
                  "delayed connections", "95 % interval", "why SYNs were dropped"):
        assert title in out, title
    assert "batch means over groups of Monte Carlo blocks" in out  # the interval's caption
    assert "drops per connect, 95 % interval" in out
    assert f"{round(data['connections']['attempted']):,}" in out  # expected counts, whole
    assert "seed 1" in out and "--rel-error" not in out


def test_rel_error_says_when_the_target_is_reached() -> None:
    data = estimate_json("--rel-error", "0.5")
    assert data["rel_error"] == {"target": 0.5, "reached": True, "stopped_by": "target"}
    result = runner.invoke(app, ["estimate", str(CONFIG), "--rel-error", "0.5", "--no-progress"],
                           env=WIDE)
    assert "--rel-error: ±50 % on the ≥ 1 s share reached" in result.stdout


def test_rel_error_says_when_the_cap_stopped_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("snatsim.estimates.MAX_TRIALS", 2048)
    data = estimate_json("--rel-error", "1e-9")
    # the cap is below the floor of MIN_BLOCKS blocks per stream, which is sampled regardless
    floor = engine.MIN_BLOCKS * engine.SMALLEST_BLOCK_TRIALS
    assert data["rel_error"]["stopped_by"] == "trials cap" and data["trials"] == floor
    result = runner.invoke(app, ["estimate", str(CONFIG), "--rel-error", "1e-9", "--no-progress"],
                           env=WIDE)
    assert "±1e-07 % on the ≥ 1 s share not reached: stopped at the trials cap" in result.stdout


def test_progress_lines_count_trials_and_no_progress_is_silent() -> None:
    args = ["estimate", str(CONFIG), "--trials", "200000", "--json"]
    lines = runner.invoke(app, [*args, "--progress-every", "0"]).stderr.splitlines()
    done = [int(line.split()[1].split("/")[0].replace(",", "")) for line in lines]
    assert all(line.startswith("progress: ") and "/200,000 trials (" in line for line in lines)
    assert len(done) >= 3 and done == sorted(done) and done[-1] >= 200000
    assert runner.invoke(app, [*args, "--no-progress"]).stderr == ""


def test_progress_bar_says_sampling() -> None:
    result = runner.invoke(app, ["estimate", str(CONFIG), *TRIALS, "--json", "--progress"])
    assert result.exit_code == 0
    assert "sampling" in result.stderr and "trials" in result.stderr


def test_estimate_in_a_real_process() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "snatsim.cli", "estimate", str(CONFIG), *TRIALS, "--json"],
        capture_output=True, text=True, check=False, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["method"] == "mc" and data["trials"] >= 20000


def test_help_states_the_engines_default_trials() -> None:
    from snatsim.estimates import DEFAULT_TRIALS

    result = runner.invoke(app, ["estimate", "--help"], env=WIDE)
    assert f"Default: {DEFAULT_TRIALS:,}" in " ".join(result.stdout.split())


def test_a_filling_window_is_answered_with_its_table_full_interval_and_caption() -> None:
    """configs/to-ports-restricted.toml (256 ports, full of TIME_WAIT) was refused; the
    exhaustion simulation answers it, and a table-full case fills the table-full column."""
    ports = CONFIG.parent / "to-ports-restricted.toml"
    result = runner.invoke(app, ["estimate", str(ports), "--trials", "1", "--no-progress"],
                           env=WIDE)
    assert result.exit_code == 0, result.output
    words = " ".join(result.stdout.split())  # the caption wraps at the table's width
    assert "batch means over groups of simulated replicas" in words
    assert "TIME_WAIT entries evicted by new SYNs" in result.stdout
    full = runner.invoke(app, ["estimate", str(CONFIG), "--trials", "1", "--no-progress",
                               "--set", "conntrack.max=3000", "--set",
                               "workload.0.rate_per_s=30", "--set", "simulation.duration_s=200"],
                         env=WIDE)
    assert full.exit_code == 0, full.output
    row = next(line for line in full.stdout.splitlines() if line.count("–") == 4)
    assert row.rstrip(" │").split("│")[-1].strip() != "—"  # table full has its interval
