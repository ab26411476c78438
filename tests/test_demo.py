"""``snatsim demo`` / ``make demo`` (issue #11 "The first run"): both sides printed, a valid figure."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from snatsim.cli import app
from snatsim.demo import MITIGATION, run_demo, scenarios

ROOT = Path(__file__).resolve().parents[1]
ROVER = ROOT / "configs" / "legacy-rover.toml"


def assert_valid_image(path: Path) -> None:
    """A PNG that matplotlib can read, of slide size, and not blank (its pixels vary)."""
    import matplotlib.image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[0] >= 300 and pixels.shape[1] >= 400
    assert float(pixels[..., :3].std()) > 0.01


def test_the_two_scenarios_differ_only_by_random_fully() -> None:
    problem, fix = scenarios(ROVER, duration_s=50.0)
    assert (problem.nat.random_fully, fix.nat.random_fully) == (False, True)
    assert problem.simulation.duration_s == fix.simulation.duration_s == 50.0
    assert problem.simulation.warmup_s == 10.0  # cut to a fifth of the duration
    assert problem.model_copy(update={"nat": fix.nat}) == fix
    assert MITIGATION == "nat.random_fully=true"


def test_a_scenario_that_already_has_the_fix_is_refused() -> None:
    from snatsim.errors import ConfigError

    with pytest.raises(ConfigError, match="already uses --random-fully"):
        scenarios(ROOT / "configs" / "legacy-random-fully.toml")


def test_both_runs_share_arrivals_and_only_the_rover_run_clashes() -> None:
    """Full length (~8 s): the same connections, drops only as configured (the seed is fixed)."""
    demo = run_demo(ROVER, figure=None)
    rows = {label: (problem, fix) for label, problem, fix in demo.rows()}
    assert rows["connections (after warm-up)"][0] == rows["connections (after warm-up)"][1] > 0
    assert rows["conntrack -S insert_failed"][0] > 0
    assert rows["connect() took >= 1 s (a SYN was lost)"][0] > 0
    assert rows["conntrack -S insert_failed"][1] == rows["conntrack -S drop"][1] == 0
    assert demo.figure is None


def test_demo_prints_both_sides_and_writes_the_figure(tmp_path: Path) -> None:
    figure = tmp_path / "figs" / "demo.png"
    result = CliRunner().invoke(
        app, ["demo", "--config", str(ROVER), "--duration-s", "30", "--figure", str(figure)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "as configured" in result.output and "--random-fully" in result.output
    assert re.search(r"conntrack -S insert_failed\s*│\s*\d+\s*│\s*\d+", result.output)
    assert f"figure written to {figure}" in result.output
    assert_valid_image(figure)
    assert list(figure.parent.iterdir()) == [figure]  # no partial file left behind


@pytest.mark.parametrize(
    ("args", "field"),
    [(["--figure", "demo.txt"], "--figure"), (["--duration-s", "0"], "--duration-s"),
     (["--config", "no-such.toml"], "no-such.toml")],
)
def test_bad_input_is_one_line_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], field: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo", "--config", str(ROVER), *args],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert f"error: {field}" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_make_demo_runs_snatsim_demo() -> None:
    """``make demo`` is the README's first command: it runs this command, nothing else."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"\$\(BIN\)/snatsim demo\b", recipe)


@pytest.mark.slow
def test_console_script_demo_end_to_end(tmp_path: Path) -> None:
    """The installed command, as ``make demo`` runs it (short, in a subprocess)."""
    figure = tmp_path / "demo.svg"
    out = subprocess.run(
        [sys.executable, "-m", "snatsim.cli", "demo", "--config", str(ROVER), "--duration-s", "20",
         "--figure", str(figure)],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "--random-fully" in out.stdout
    assert figure.read_text(encoding="utf-8").lstrip().startswith("<?xml")
