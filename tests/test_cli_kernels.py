"""``snatsim kernels`` and the CLI's error handling (spec §2.5)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

import snatsim.cli
from snatsim import __version__
from snatsim.cli import app, main
from snatsim.errors import ConfigError
from snatsim.kernel.profiles import PROFILES

runner = CliRunner()


def test_table_lists_every_named_profile() -> None:
    result = runner.invoke(app, ["kernels"])
    assert result.exit_code == 0, result.output
    for p in PROFILES:
        assert f" {p.version} " in result.stdout
    assert "A4" in result.stdout and "docs/kernel.md §2.5" in result.stdout


def test_json_matches_profiles() -> None:
    result = runner.invoke(app, ["kernels", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["profiles"] == [p.to_dict() for p in PROFILES]


def test_single_version_by_the_nearest_rule() -> None:
    result = runner.invoke(app, ["kernels", "3.2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["version"], data["nat_era"], data["syn_era"]) == ("3.2", "A1", "T0'")
    result = runner.invoke(app, ["kernels", "5.4"])
    assert result.exit_code == 0, result.output
    assert "5.4" in result.stdout and "C2" in result.stdout and "6.18" not in result.stdout


def test_bad_version_is_one_error_line_and_exit_2() -> None:
    result = runner.invoke(app, ["kernels", "six"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: kernel.version: 'six'")
    assert "Traceback" not in result.output


def test_version_option() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"snatsim {__version__}"


def test_no_arguments_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "kernels" in result.output and "Usage" in result.output


def test_main_turns_errors_into_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["kernels", "8.1"])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: kernel.version:")


def test_main_catches_errors_outside_decorated_commands(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An undecorated command raising a SnatsimError still gives one line and exit code 2."""
    bare = typer.Typer(pretty_exceptions_enable=False)

    @bare.command()
    def boom() -> None:
        raise ConfigError("nat.to_ports", "'9-1' is reversed;\nwrite 1-9")

    monkeypatch.setattr(snatsim.cli, "app", bare)
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err == "error: nat.to_ports: '9-1' is reversed; write 1-9\n"


def test_end_to_end_subprocess() -> None:
    cmd = [sys.executable, "-m", "snatsim.cli"]
    out = subprocess.run([*cmd, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"snatsim {__version__}"
    out = subprocess.run([*cmd, "kernels", "--json"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["profiles"] == [p.to_dict() for p in PROFILES]
    bad = subprocess.run([*cmd, "kernels", "6.x"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: kernel.version:") and bad.stderr.count("\n") == 1
    assert "Traceback" not in bad.stderr


def test_a_distribution_or_too_new_version_is_flagged() -> None:
    result = runner.invoke(app, ["kernels", "4.18.0-513.el8.x86_64"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "warning: kernel 4.18.0-513.el8.x86_64 is resolved as mainline 4.18.0" in result.stdout
    data = json.loads(runner.invoke(app, ["kernels", "7.2", "--json"]).stdout)
    assert data["nat_era"] == "A4" and "newer than 6.18" in data["warnings"][0]
    assert json.loads(runner.invoke(app, ["kernels", "6.1", "--json"]).stdout)["warnings"] == []
