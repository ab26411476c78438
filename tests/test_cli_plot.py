"""``snatsim plot RUN_DIR``: each kind written by the command, in-process and as a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.image import imread
from typer.testing import CliRunner

import snatsim
from snatsim.cli import app
from snatsim.cli.plot import RUN_KIND_NAMES
from snatsim.plotting import RUN_KINDS


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scenario = snatsim.load_scenario("configs/legacy-rover.toml",
                                     ["simulation.duration_s=40", "simulation.warmup_s=10"])
    folder = tmp_path_factory.mktemp("cli-plot") / "rover"
    snatsim.simulate(scenario, rng=3, rows=True).write(folder)
    return folder


def test_the_command_knows_every_kind_of_the_library() -> None:
    assert set(RUN_KIND_NAMES) == set(RUN_KINDS)


@pytest.mark.parametrize("kind", RUN_KIND_NAMES)
def test_plot_writes_each_kind(kind: str, run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "figs" / f"{kind}.png"
    result = CliRunner().invoke(app, ["plot", str(run_dir), "--kind", kind, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"wrote {out}"
    pixels = imread(out)
    assert pixels.shape[1] >= 1200 and float(pixels[..., :3].var()) > 0


def test_plot_title_and_force(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "cdf.svg"
    args = ["plot", str(run_dir), "-o", str(out), "--title", "XING on 4.14"]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert "XING on 4.14" in out.read_text(encoding="utf-8")
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "--force" in again.stderr
    assert CliRunner().invoke(app, [*args[:-2], "--title", "new", "--force"]).exit_code == 0
    assert "XING on 4.14" not in out.read_text(encoding="utf-8")


def test_plot_in_a_real_process(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "timeline.pdf"
    proc = subprocess.run(
        [sys.executable, "-m", "snatsim.cli", "plot", str(run_dir), "--kind", "timeline",
         "-o", str(out)], capture_output=True, text=True, check=False, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:4] == b"%PDF"
