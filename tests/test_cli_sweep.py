"""``snatsim sweep`` and ``snatsim results`` through the CLI (CliRunner)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from bad_inputs import BASE
from typer.testing import CliRunner

from snatsim.cli import app
from snatsim.sweep import runner

TINY = BASE  # 2 pods, 20 connects/s for 3 simulated seconds, seed 1


@pytest.fixture
def swept(tmp_path: Path) -> Path:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY, encoding="utf-8")
    out = tmp_path / "s.db"
    result = CliRunner().invoke(app, [
        "sweep", str(config), "--grid", "kernel.version=4.14,6.1", "--grid",
        "workload.0.rate_per_s=10..40:lin:2", "--workers", "1", "--engine", "des", "--out",
        str(out), "--no-progress",
    ])
    assert result.exit_code == 0, result.output
    assert "4 points x 1 replicates (des): ran 4 runs in 1 process" in " ".join(result.stdout.split())
    return out


def test_sweep_again_resumes_and_says_so(swept: Path) -> None:
    config = swept.parent / "tiny.toml"
    result = CliRunner().invoke(app, [
        "sweep", str(config), "--grid", "kernel.version=4.14,6.1", "--grid",
        "workload.0.rate_per_s=10..40:lin:2", "--engine", "des", "--out", str(swept),
        "--no-progress",
    ])
    assert result.exit_code == 0, result.output
    assert "ran 0 runs" in result.stdout and "4 were already there" in result.stdout


def test_results_prints_the_swept_keys_and_headline_metrics(swept: Path) -> None:
    result = CliRunner().invoke(app, ["results", str(swept), "--columns",
                                      "point,kernel.version,workload.0.rate_per_s"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "│" in line]
    assert [line.split("│")[1:4] for line in lines] == [
        [f" {p} ".rjust(7), f" {v} ".ljust(16), f" {r} ".rjust(23)]
        for p, v, r in [(0, "4.14", 10), (1, "4.14", 40), (2, "6.1", 10), (3, "6.1", 40)]]


def test_results_json_and_where(swept: Path) -> None:
    result = CliRunner().invoke(app, ["results", str(swept), "--json", "--where",
                                      "kernel.version=4.14", "--where", "workload.0.rate_per_s>20"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["point"], r["kernel.version"], r["workload.0.rate_per_s"]) for r in rows] == [
        (1, "4.14", 40.0)]
    assert rows[0]["kernel.nat_era"] == "A1" and "delayed_fraction.ge_1s_hi" in rows[0]


def test_results_csv_has_every_column(swept: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "s.csv"
    result = CliRunner().invoke(app, ["results", str(swept), "--csv", str(target)])
    assert result.exit_code == 0, result.output
    with open(target, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and rows[2]["kernel.version"] == "6.1"
    assert {"delayed_fraction.ge_1s_lo", "conntrack.insert_failed", "wall_s"} <= set(rows[0])
    again = CliRunner().invoke(app, ["results", str(swept), "--csv", str(target)])
    assert again.exit_code == 2 and "--force" in again.stderr


@pytest.mark.parametrize(("where", "message"), [
    ("kernel.verison=4.14", "did you mean 'kernel.version'"),
    ("kernel.version", "expected KEY=VALUE"),
    ("kernel.version<4", "cannot compare"),
])
def test_results_bad_where(swept: Path, where: str, message: str) -> None:
    result = CliRunner().invoke(app, ["results", str(swept), "--where", where])
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""


def test_an_unreachable_scheduler_is_one_line_and_nothing_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr(runner, "SCHEDULER_TIMEOUT_S", 1.0)
    config = tmp_path / "tiny.toml"
    config.write_text(TINY, encoding="utf-8")
    result = CliRunner().invoke(app, [
        "sweep", str(config), "--grid", "nat.random_fully=false,true", "--out",
        str(tmp_path / "s.db"), "--scheduler", "tcp://127.0.0.1:9",
    ])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: --scheduler: cannot reach a Dask scheduler at "
                                    "'tcp://127.0.0.1:9'")
    assert len(result.stderr.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.toml"]


@pytest.mark.parametrize("change", [
    ["--grid", "kernel.version=4.14,6.1", "--grid", "workload.0.rate_per_s=10..40:lin:3"],
    ["--grid", "kernel.version=4.14,6.1", "--grid", "workload.0.rate_per_s=10..40:lin:2",
     "--set", "workload.0.pods=3"],
])
def test_another_sweep_against_an_existing_file_is_one_line_and_the_file_is_kept(
        swept: Path, change: list[str]) -> None:
    before = swept.read_bytes()
    result = CliRunner().invoke(app, ["sweep", str(swept.parent / "tiny.toml"), *change,
                                      "--engine", "des", "--out", str(swept), "--no-progress"])
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"error: --out {str(swept)!r}: holds a different sweep")
    assert swept.read_bytes() == before


def test_trials_reach_the_rows(tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY, encoding="utf-8")
    out = tmp_path / "s.db"
    result = CliRunner().invoke(app, ["sweep", str(config), "--grid", "nat.random_fully=true",
                                      "--engine", "mc", "--trials", "65536", "--out", str(out),
                                      "--no-progress"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["results", str(out), "--json"])
    (row,) = json.loads(result.stdout)
    assert row["trials"] >= 65536 and row["engine"] == "mc"
