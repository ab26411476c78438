"""Command-line usage errors are one plain line, like every other snatsim error; help still works."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from snatsim.cli import app, main

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["run", "x.toml", "--zzz"], "error: no such option: --zzz; see 'snatsim run --help'"),
        (["run"], "error: missing argument 'config'; see 'snatsim run --help'"),
        (["kernels", "6.1", "--json=1"],
         "error: option '--json' does not take a value; see 'snatsim --help'"),
    ],
)
def test_a_usage_error_is_one_plain_line_with_the_help_to_read(
    args: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == line + "\n"


def test_help_version_and_a_bare_command_still_work() -> None:
    assert runner.invoke(app, ["--version"]).exit_code == 0
    helped = runner.invoke(app, ["run", "--help"])
    assert helped.exit_code == 0 and "--seed" in helped.stdout
    bare = runner.invoke(app, [])
    assert bare.exit_code == 2 and "Usage" in bare.output and "error:" not in bare.output
