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


SMALL = """\
[simulation]
duration_s = 4.0
warmup_s = 1.0
seed = 2

[kernel]
version = "4.14"

[[workload]]
name = "api"
pods = 4
arrival = "poisson"
rate_per_s = 20.0
destinations = ["203.0.113.10:443"]
"""


@pytest.fixture(scope="module")
def results_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real results file: 2 x 2 points of a small scenario, swept by snatsim sweep."""
    folder = tmp_path_factory.mktemp("cli-plot-sweep")
    (folder / "small.toml").write_text(SMALL, encoding="utf-8")
    db = folder / "sweep.db"
    result = CliRunner().invoke(app, [
        "sweep", str(folder / "small.toml"), "--grid", "nat.random_fully=false,true",
        "--grid", "workload.0.rate_per_s=10,40", "--out", str(db), "--workers", "1",
        "--no-progress",
    ])
    assert result.exit_code == 0, result.output
    return db


def test_plot_lines_of_a_results_file(results_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "lines.png"
    result = CliRunner().invoke(app, [
        "plot", str(results_db), "--x", "workload.0.rate_per_s", "--y",
        "connections.attempted", "--hue", "nat.random_fully", "--logx", "-o", str(out),
    ])
    assert result.exit_code == 0, result.output
    pixels = imread(out)
    assert pixels.shape[1] >= 1200 and float(pixels[..., :3].var()) > 0


def test_plot_lines_data_are_the_results(results_db: Path) -> None:
    from snatsim.plotting import sweep_lines

    frame = snatsim.load_results(results_db)
    figure = sweep_lines(results_db, "workload.0.rate_per_s", "connections.attempted",
                         "nat.random_fully")
    ax = figure.axes[0]
    line = next(ln for ln in ax.get_lines() if ln.get_label() == "nat.random_fully = true")
    want = frame[frame["nat.random_fully"] == True]  # noqa: E712 - a pandas mask
    assert list(line.get_xdata()) == list(want["workload.0.rate_per_s"])
    assert list(line.get_ydata()) == list(want["connections.attempted"])
    assert "kernel 4.14" in ax.get_title()  # the base scenario, from the file


def test_plot_heatmap_of_a_results_file(results_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "heat.svg"
    result = CliRunner().invoke(app, [
        "plot", str(results_db), "--kind", "heatmap", "--x", "workload.0.rate_per_s",
        "--y", "nat.random_fully", "--z", "connections.attempted", "-o", str(out),
    ])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<?xml")


def test_plot_unknown_metric_of_a_results_file(results_db: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "plot", str(results_db), "--x", "workload.0.rate_per_s", "--y", "delayed_fraction.ge1s",
        "--hue", "nat.random_fully", "-o", str(tmp_path / "f.png"),
    ])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --y: 'delayed_fraction.ge1s' is not a metric")
    assert "did you mean 'delayed_fraction.ge_1s'" in result.stderr
    assert list(tmp_path.iterdir()) == []
