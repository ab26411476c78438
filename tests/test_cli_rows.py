"""``snatsim run --out DIR --rows N|all|none``: which per-connection rows reach connections.csv."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from snatsim.cli import app

runner = CliRunner()
CONFIG = Path(__file__).resolve().parent.parent / "configs" / "default.toml"
SHORT = ["--set", "simulation.duration_s=3", "--set", "simulation.warmup_s=1"]


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["run", str(CONFIG), *SHORT, *args], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_rows_none_writes_no_connections_csv_and_says_so(tmp_path: Path) -> None:
    code, _, err = run("--out", str(tmp_path / "r"), "--rows", "none")
    assert code == 0
    assert not (tmp_path / "r" / "connections.csv").exists()
    assert (tmp_path / "r" / "summary.json").exists()
    assert "connections.csv not written" in err and "--rows" in err


def test_a_number_caps_the_rows_and_the_note_says_how_many_are_missing(tmp_path: Path) -> None:
    code, _, err = run("--out", str(tmp_path / "r"), "--rows", "5")
    assert code == 0
    lines = (tmp_path / "r" / "connections.csv").read_text().splitlines()
    attempted = json.loads((tmp_path / "r" / "summary.json").read_text())["connections"][
        "attempted"]
    assert len(lines) == 1 + 5 and attempted > 5
    assert f"first 5 of {attempted:,}" in err


def test_rows_all_writes_every_connection(tmp_path: Path) -> None:
    code, _, err = run("--out", str(tmp_path / "r"), "--rows", "all")
    assert code == 0 and "note:" not in err
    lines = (tmp_path / "r" / "connections.csv").read_text().splitlines()
    attempted = json.loads((tmp_path / "r" / "summary.json").read_text())["connections"][
        "attempted"]
    assert len(lines) == 1 + attempted


@pytest.mark.parametrize(("args", "says"), [
    (["--rows", "lots", "--out", "OUT"], "'lots' is not a number"),
    (["--rows", "-3", "--out", "OUT"], "is not a number"),
    (["--rows", "all"], "add --out"),
])
def test_bad_rows_are_one_error_line_and_exit_2(tmp_path: Path, args: list[str],
                                                 says: str) -> None:
    args = [str(tmp_path / "o") if a == "OUT" else a for a in args]
    code, out, err = run(*args)
    assert code == 2 and out == ""
    assert err.startswith("error: --rows") and says in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()
