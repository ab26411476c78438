"""Run figures (snatsim.plotting): each kind drawn from a result and from a run folder, valid images
of slide size, and the data on the axes equal to the run's own rows and series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import imread

import snatsim
from snatsim.errors import ConfigError, RowsNotKeptError
from snatsim.plotting import RUN_KINDS, latency_cdf, latency_ecdf, occupancy, save, timeline
from snatsim.plotting.run_figures import retransmits_per_second
from snatsim.plotting.run_source import run_source

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# the XING case, short: 70 measured seconds with a few SYNs lost to the rover race
SHORT_ROVER = ["simulation.duration_s=90", "simulation.warmup_s=20"]


@pytest.fixture(scope="module")
def result() -> snatsim.SimulationResult:
    scenario = snatsim.load_scenario("configs/legacy-rover.toml", SHORT_ROVER)
    return snatsim.simulate(scenario, rng=7, rows="all")


@pytest.fixture(scope="module")
def run_dir(result: snatsim.SimulationResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("plot") / "rover"
    result.write(folder)
    return folder


def _line(figure: Figure, label_start: str, axes: int = 0) -> tuple[np.ndarray, np.ndarray]:
    (line,) = [ln for ln in figure.axes[axes].get_lines()
               if str(ln.get_label()).startswith(label_start)]
    return np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)


def test_the_run_has_delayed_connects(result: snatsim.SimulationResult) -> None:
    """The figures below are checked on a run with 1 s steps to show."""
    assert result.summary()["delayed_counts"]["ge_1s"] >= 2


def test_ecdf_counts_never_completed_connects_in_the_denominator() -> None:
    x, y = latency_ecdf(np.array([3.0, 0.002, 1.0]), never_completed=1)
    assert x.tolist() == [0.002, 1.0, 3.0]
    assert y.tolist() == [0.25, 0.5, 0.75]


@pytest.mark.parametrize("source", ["result", "folder"])
def test_latency_cdf_line_is_the_empirical_cdf_of_the_rows(
    source: str, result: snatsim.SimulationResult, run_dir: Path
) -> None:
    figure = latency_cdf(result if source == "result" else run_dir)
    x, y = _line(figure, "all connects")
    rows = pd.read_csv(run_dir / "connections.csv")  # the rows, read independently
    latency = np.sort(rows["latency_s"].dropna().to_numpy())
    never = int(rows["outcome"].isin(["failed", "app_timeout"]).sum())
    np.testing.assert_allclose(x, latency, rtol=1e-15, atol=0)
    np.testing.assert_array_equal(y, np.arange(1, latency.size + 1) / (latency.size + never))
    # just below 1 s the curve stands at 1 - the summary's delayed fraction
    below_1s = y[x < 1.0][-1]
    assert below_1s == pytest.approx(1 - result.summary()["delayed_fraction"]["ge_1s"], abs=1e-12)


def test_latency_cdf_marks_the_retransmit_steps_on_log_and_logit_axes(run_dir: Path) -> None:
    figure = latency_cdf(run_dir)
    ax = figure.axes[0]
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "logit")
    steps = sorted(float(ln.get_xdata()[0]) for ln in ax.get_lines() if ln.get_linestyle() == ":")
    assert steps == [1.0, 3.0, 7.0]  # T1 (4.14): the first SYN's retransmits
    texts = [t.get_text() for t in ax.texts]
    delayed = pd.read_csv(run_dir / "connections.csv")["latency_s"].ge(1.0).sum()
    assert any("≥ 1 s:" in t and f"({delayed:,} of " in t for t in texts), texts
    assert "connect() latency (s" in ax.get_xlabel() and ax.get_ylabel()
    assert ax.get_title().startswith("rover: kernel 4.14 (A1 C1 P1 T1), MASQUERADE")
    counts = pd.read_csv(run_dir / "connections.csv")["workload"].value_counts()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[1:] == [f"{name} ({counts[name]:,})" for name in sorted(counts.index)]


def test_latency_cdf_draws_on_the_given_axes_with_the_given_title(run_dir: Path) -> None:
    figure = Figure()
    ax: Axes = figure.add_subplot()
    assert latency_cdf(run_dir, ax, title="mine") is figure
    assert ax.get_title() == "mine" and ax.get_lines()


def test_occupancy_lines_are_the_series_against_the_window(
    result: snatsim.SimulationResult, run_dir: Path
) -> None:
    figure = occupancy(run_dir)
    series = result.timeseries()
    for label in ("tcp 192.0.2.10 -> 203.0.113.20:443", "tcp 192.0.2.10 -> 203.0.113.30:443"):
        x, y = _line(figure, label)
        np.testing.assert_array_equal(x, series.index.to_numpy())
        np.testing.assert_array_equal(y, series[f"ports_in_use[{label}]"].to_numpy())
    windows = [float(ln.get_ydata()[0]) for ln in figure.axes[0].get_lines()
               if str(ln.get_label()).startswith("window")]
    assert windows == [64512.0, 64512.0]  # 1024-65535 (spec §4.4)
    expected = [float(ln.get_ydata()[0]) for ln in figure.axes[0].get_lines()
                if str(ln.get_label()).startswith("Little")]
    assert len(expected) == 2 and all(0 < e < 64512 for e in expected)
    assert "ports in use" in figure.axes[0].get_ylabel()
    assert "(s)" in figure.axes[0].get_xlabel()


def test_timeline_plots_the_drops_and_the_retransmits_of_the_rows(
    result: snatsim.SimulationResult, run_dir: Path
) -> None:
    figure = timeline(run_dir)
    top, bottom = figure.axes
    series = result.timeseries()
    _, new = _line(figure, "new connections", axes=0)
    np.testing.assert_array_equal(new, series["new_connections"].to_numpy())
    _, drops = _line(figure, "SYNs dropped", axes=1)
    np.testing.assert_array_equal(drops, series["syn_drops"].to_numpy())
    _, retransmits = _line(figure, "SYN retransmits", axes=1)
    rows = result.to_frame()
    # T1: a connect that sent 2 SYNs retransmitted once, 1 s after it started
    assert set(rows["syns"]) <= {1, 2}
    want = np.bincount(np.floor(rows.loc[rows["syns"] == 2, "start_s"] + 1.0).astype(int),
                       minlength=len(series))
    np.testing.assert_array_equal(retransmits, want[: len(series)])
    assert retransmits.sum() == (rows["syns"] - 1).sum() > 0
    assert "packets / s" in bottom.get_ylabel() and "connections / s" in top.get_ylabel()


def test_retransmits_follow_the_era_schedule_for_several_lost_syns(
    result: snatsim.SimulationResult,
) -> None:
    """Three SYNs sent (two lost) on T1: retransmits at start + 1 s and start + 3 s."""
    source = run_source(result)
    fake = pd.DataFrame({"protocol": ["tcp", "tcp", "udp"], "start_s": [10.5, 20.0, 30.0],
                         "syns": [3, 1, 4]})
    object.__setattr__(source, "rows", lambda columns: fake.loc[:, list(columns)])
    counts = retransmits_per_second(source, 40)
    assert counts is not None and counts.tolist() == [0] * 11 + [1, 0, 1] + [0] * 26


def test_timeline_leaves_out_retransmits_without_rows(tmp_path: Path) -> None:
    scenario = snatsim.load_scenario("configs/legacy-rover.toml",
                                     ["simulation.duration_s=25", "simulation.warmup_s=5"])
    snatsim.simulate(scenario, rng=1).write(tmp_path / "norows")
    figure = timeline(tmp_path / "norows")
    labels = [str(ln.get_label()) for ln in figure.axes[1].get_lines()]
    assert any(lb.startswith("SYNs dropped") for lb in labels)
    assert not any(lb.startswith("SYN retransmits") for lb in labels)
    with pytest.raises(RowsNotKeptError, match="--rows all"):
        latency_cdf(tmp_path / "norows")


def test_a_result_without_rows_says_how_to_keep_them() -> None:
    scenario = snatsim.load_scenario("configs/legacy-rover.toml",
                                     ["simulation.duration_s=25", "simulation.warmup_s=5"])
    with pytest.raises(RowsNotKeptError, match="rows=True"):
        latency_cdf(snatsim.simulate(scenario, rng=1))


@pytest.mark.parametrize("kind", sorted(RUN_KINDS))
def test_each_kind_is_a_valid_slide_sized_png(kind: str, run_dir: Path, tmp_path: Path) -> None:
    out = save(RUN_KINDS[kind](run_dir), tmp_path / f"{kind}.png")
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    pixels = imread(out)
    height, width = pixels.shape[:2]
    assert 1200 <= width <= 2000 and 600 <= height <= 1200
    assert float(pixels[..., :3].var()) > 0
    assert [p.name for p in tmp_path.iterdir()] == [f"{kind}.png"]  # no temporary left


@pytest.mark.parametrize(("suffix", "magic"), [(".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_svg_and_pdf_are_written_and_repeatable(
    suffix: str, magic: bytes, run_dir: Path, tmp_path: Path
) -> None:
    first = save(occupancy(run_dir), tmp_path / f"a{suffix}").read_bytes()
    second = save(occupancy(run_dir), tmp_path / f"b{suffix}").read_bytes()
    assert first.startswith(magic) and len(first) > 1000
    assert first == second


def test_save_refuses_a_bad_extension_and_an_existing_file(run_dir: Path, tmp_path: Path) -> None:
    figure = occupancy(run_dir)
    with pytest.raises(ConfigError, match=r"out: .*'\.jpg'.*\.png, \.svg or \.pdf"):
        save(figure, tmp_path / "x.jpg")
    (tmp_path / "x.png").write_bytes(b"old")
    with pytest.raises(ConfigError, match="force=True"):
        save(figure, tmp_path / "x.png")
    assert (tmp_path / "x.png").read_bytes() == b"old"
    save(figure, tmp_path / "x.png", force=True)
    assert (tmp_path / "x.png").read_bytes()[:8] == PNG_SIGNATURE


def test_a_failed_render_leaves_nothing(run_dir: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    figure = occupancy(run_dir)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="renderer failed"):
        save(figure, tmp_path / "sub" / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_figures_use_no_pyplot(run_dir: Path) -> None:
    """Drawn and saved in a fresh interpreter without loading pyplot (no GUI backend, no global
    figure list), whatever $DISPLAY says."""
    import subprocess
    import sys

    code = (
        "import sys, snatsim.plotting as p\n"
        f"for f in p.RUN_KINDS.values(): p.figure_bytes(f({str(run_dir)!r}), 'png')\n"
        "print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"DISPLAY": ":99", "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "False"


def test_the_readme_figures_are_in_docs_figures() -> None:
    """Every image the README shows is a committed, valid, slide-sized PNG."""
    import re

    readme = Path("README.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\((docs/figures/[^)]+\.png)\)", readme)
    assert len(images) >= 2
    for image in images:
        data = Path(image).read_bytes()
        assert data[:8] == PNG_SIGNATURE
        height, width = imread(image).shape[:2]
        assert width >= 1200 and height >= 600, image
