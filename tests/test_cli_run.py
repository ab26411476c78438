"""``snatsim run``: human and JSON output, overrides, seed, result files, trace, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from snatsim.cli import app
from snatsim.config import load_scenario

runner = CliRunner()
CONFIG = Path(__file__).resolve().parent.parent / "configs" / "default.toml"
SHORT = ["--set", "simulation.duration_s=3", "--set", "simulation.warmup_s=1"]
WIDE = {"COLUMNS": "200"}  # rich tables are not truncated to 80 columns
SUMMARY_KEYS = {
    "kernel", "window", "conntrack", "connections", "syn", "connect_latency_s",
    "delayed_fraction", "delayed_counts", "insert_failed_causes", "drops", "ports",
    "per_workload", "provenance",
}


def run_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["run", str(CONFIG), *SHORT, *args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_human_output_names_the_counters_and_the_latency_table() -> None:
    result = runner.invoke(app, ["run", str(CONFIG), *SHORT], env=WIDE)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for name in ("found", "insert_failed", "drop", "early_drop", "clash_resolve", "chaintoolong"):
        assert f" {name} " in out, name
    assert "connect() latency" in out
    assert "kernel 6.1" in out and "seed 1" in out
    assert "attempted" in out and "SMP race" in out


def test_json_output_is_the_summary() -> None:
    data = run_json()
    assert set(data) >= SUMMARY_KEYS
    assert data["window"] == {"duration_s": 3.0, "warmup_s": 1.0, "measured_s": 2.0}
    assert data["provenance"]["seed"] == 1
    assert data["connections"]["attempted"] > 0


def test_set_overrides_reach_the_simulation() -> None:
    data = run_json("--set", "kernel.version=4.14", "--set", "nat.random_fully=true")
    assert data["kernel"]["nat_era"] == "A1"
    config = data["provenance"]["config"]
    assert config["kernel"]["version"] == "4.14" and config["nat"]["random_fully"] is True


def test_seed_option_changes_the_recorded_seed_and_the_run() -> None:
    a = run_json("--seed", "42")
    b = run_json()
    assert a["provenance"]["seed"] == 42 and b["provenance"]["seed"] == 1
    assert a["provenance"]["config"]["simulation"]["seed"] == 42
    assert a["connections"] != b["connections"]


def test_out_writes_the_result_files_and_a_reloadable_scenario(tmp_path: Path) -> None:
    out = tmp_path / "results" / "run1"
    result = runner.invoke(app, ["run", str(CONFIG), *SHORT, "--seed", "7", "--out", str(out)],
                           env=WIDE)
    assert result.exit_code == 0, result.output
    assert "results written to" in result.stdout
    names = {p.name for p in out.iterdir()}
    assert names == {"summary.json", "connections.csv", "timeseries.csv", "scenario.toml"}
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) >= SUMMARY_KEYS and summary["provenance"]["seed"] == 7
    connections = pd.read_csv(out / "connections.csv")
    assert len(connections) == summary["connections"]["attempted"]
    assert (connections["start_s"] >= 1.0).all()
    series = pd.read_csv(out / "timeseries.csv")
    assert len(series) == 3 and "new_connections" in series.columns
    expected = load_scenario(CONFIG, [*SHORT[1::2], "simulation.seed=7"])
    assert load_scenario(out / "scenario.toml") == expected


def test_trace_writes_one_json_object_per_event(tmp_path: Path) -> None:
    trace = tmp_path / "deep" / "trace.jsonl"
    result = runner.invoke(
        app,
        ["run", str(CONFIG), "--set", "simulation.duration_s=1", "--set", "simulation.warmup_s=0",
         "--trace", str(trace), "--json"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    assert records and all({"t_s", "flow", "pod", "step", "port"} <= set(r) for r in records)
    syns = sum(r["step"] in ("syn", "retransmit") for r in records)
    assert syns == summary["syn"]["sent"] > 0
    assert records[-1]["insert_failed"] == summary["conntrack"]["insert_failed"]


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--set", "nat.randum=true"], ["nat.randum", "did you mean 'random'"]),
        (["--set", "node.cpus=0"], ["node.cpus"]),
        (["--set", "workload.7.pods=2"], ["workload.7.pods", "out of range"]),
    ],
)
def test_a_bad_setting_is_one_error_line_and_exit_2(args: list[str], names: list[str]) -> None:
    result = runner.invoke(app, ["run", str(CONFIG), *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    for name in names:
        assert name in lines[0]
    assert "Traceback" not in result.output


def test_several_bad_settings_get_one_line_each() -> None:
    result = runner.invoke(app, ["run", str(CONFIG), "--set", "node.cpus=0", "--set", "nat.randum=1"])
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and "2 invalid settings" in lines[0]
    assert len(lines) == 3 and all(line.startswith("  ") for line in lines[1:])
    assert any("node.cpus" in line for line in lines[1:])
    assert any("nat.randum" in line for line in lines[1:])
    assert "Traceback" not in result.output


def test_a_missing_file_is_one_error_line_and_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    result = runner.invoke(app, ["run", str(missing)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(missing) in lines[0]
    assert "no such file" in lines[0]
    assert "Traceback" not in result.output


def test_end_to_end_subprocess(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "snatsim.cli", "run", str(CONFIG), *SHORT, "--seed", "3", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    data = json.loads(out.stdout)
    assert set(data) >= SUMMARY_KEYS
    assert data["provenance"]["seed"] == 3
    assert data["connections"]["attempted"] > 0
