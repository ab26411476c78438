"""``snatsim run --replicates N``: spread intervals, same results whatever --workers, files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from snatsim.cli import app

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "legacy-rover.toml"
SHORT = ["--set", "simulation.duration_s=20", "--set", "simulation.warmup_s=0", "--seed", "11"]
WIDE = {"COLUMNS": "240"}
runner = CliRunner()


def replicates_json(*args: str, short: list[str] = SHORT) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "snatsim.cli", "run", str(CONFIG), *short, "--json", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert isinstance(data, dict)
    return data


def test_replicates_are_the_same_with_one_or_two_workers() -> None:
    one = replicates_json("--replicates", "3", "--workers", "1")
    two = replicates_json("--replicates", "3", "--workers", "2")
    assert one == two
    assert one["replicates"] == 3 and one["seeds"] == [[0], [1], [2]]
    ge1 = one["delayed_fraction"]["ge_1s"]
    assert set(ge1) == {"mean", "se", "ci95", "replicates"} and ge1["replicates"] == 3
    assert one != replicates_json("--replicates", "3", "--workers", "1", "--seed", "12")


def test_human_output_shows_the_spread_next_to_the_independence_interval() -> None:
    result = runner.invoke(app, ["run", str(CONFIG), *SHORT, "--replicates", "2", "--workers",
                                 "1"], env=WIDE)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "2 replicates" in out and "seed 11" in out
    assert "delayed ≥ 1 s per replicate:" in out
    for column in ("mean share", "SE", "95 % interval (spread)", "pooled count",
                   "binomial interval (independence)"):
        assert column in out, column


def test_a_single_run_still_says_its_interval_assumes_independence() -> None:
    result = runner.invoke(app, ["run", str(CONFIG), *SHORT], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "the interval assumes independent connections" in result.stdout


def test_out_writes_the_replicate_summary_and_each_replicate(tmp_path: Path) -> None:
    out = tmp_path / "reps"
    result = runner.invoke(app, ["run", str(CONFIG), *SHORT, "--replicates", "2", "--workers",
                                 "1", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "summary.json").read_text()) == json.loads(result.stdout)
    each = [json.loads((out / "replicates" / f"{i:03d}.json").read_text()) for i in range(2)]
    assert [s["provenance"]["spawn_key"] for s in each] == [[0], [1]]
    assert (out / "scenario.toml").is_file()


@pytest.mark.parametrize(
    ("args", "flag"),
    [(["--workers", "2"], "--workers"), (["--replicates", "2", "--trace", "t.jsonl"], "--trace"),
     (["--replicates", "0"], "--replicates")],
)
def test_replicate_flags_that_do_not_fit_are_refused(args: list[str], flag: str) -> None:
    result = runner.invoke(app, ["run", str(CONFIG), *SHORT, *args])
    assert result.exit_code == 2
    assert flag in result.stderr and "Traceback" not in result.output


def test_the_replicate_summary_carries_what_reruns_it() -> None:
    first = replicates_json("--replicates", "2", "--workers", "1")
    entropy = first["provenance"]["entropy"]
    assert first["provenance"]["config"]["simulation"]["seed"] == 11 and entropy == "11"
    unseeded = [*SHORT[:-2], "--set", "simulation.seed=null"]
    fresh = replicates_json("--replicates", "2", "--workers", "1", short=unseeded)
    assert fresh["provenance"]["config"]["simulation"]["seed"] is None
    again = replicates_json("--replicates", "2", "--workers", "1", "--seed",
                            fresh["provenance"]["entropy"], short=unseeded)
    assert again["provenance"]["config"]["simulation"]["seed"] is not None
    for summary in (fresh, again):
        summary.pop("provenance")
    assert again == fresh
