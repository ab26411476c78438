"""Sweep figures (snatsim.plotting.sweep_figures) on a results frame built with the columns
snatsim.sweep.columns documents: lines with interval bands, heatmaps, and their checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from snatsim.errors import ConfigError
from snatsim.plotting import save
from snatsim.plotting.sweep_figures import axis_label, sweep_heatmap, sweep_lines, sweep_points

RATE, FLAG, METRIC = "workload.0.rate_per_s", "nat.random_fully", "delayed_fraction.ge_1s"
RATES = (10.0, 30.0, 100.0, 300.0)


def results(replicates: int = 1, kernels: tuple[str, ...] = ("4.14",)) -> pd.DataFrame:
    """A results frame as load_results returns it: point, replicate, swept keys, metrics with
    ``_lo``/``_hi`` intervals, bookkeeping; ``attrs["swept"]`` in grid order."""
    rng = np.random.default_rng(5)
    records, point = [], 0
    for kernel in kernels:
        for flag in (False, True):
            for rate in RATES:
                for r in range(replicates):
                    value = 1e-5 * rate * (0.02 if flag else 1.0) * rng.uniform(0.5, 1.5)
                    records.append({
                        "point": point, "replicate": r, "kernel.version": kernel, FLAG: flag,
                        RATE: rate, METRIC: value, f"{METRIC}_lo": value / 2,
                        f"{METRIC}_hi": value * 2, "connections.attempted": 1000 + r,
                        "kernel.nat_era": "A1", "warnings": "[]", "engine": "des",
                    })
                point += 1
    frame = pd.DataFrame.from_records(records)
    frame.attrs["swept"] = ["kernel.version", FLAG, RATE]
    return frame


def test_one_replicate_keeps_its_own_interval() -> None:
    frame = results(1)
    points = sweep_points(frame, RATE, METRIC, [FLAG])
    assert len(points) == 8 and (points["n"] == 1).all()
    np.testing.assert_array_equal(points["y"], frame[METRIC])
    np.testing.assert_array_equal(points["lo"], frame[f"{METRIC}_lo"])
    np.testing.assert_array_equal(points["hi"], frame[f"{METRIC}_hi"])


def test_replicates_give_the_mean_and_a_t_interval_from_their_spread() -> None:
    frame = results(3)
    points = sweep_points(frame, RATE, METRIC, [FLAG])
    first = frame[METRIC].to_numpy()[:3]
    half = 4.302652729911275 * first.std(ddof=1) / np.sqrt(3)  # t(0.975, 2)
    assert points.loc[0, "y"] == pytest.approx(first.mean(), rel=1e-12)
    assert points.loc[0, "lo"] == pytest.approx(first.mean() - half, rel=1e-12)
    assert points.loc[0, "hi"] == pytest.approx(first.mean() + half, rel=1e-12)
    assert (points["n"] == 3).all()


def test_lines_plot_each_hue_with_its_band_on_log_axes() -> None:
    frame = results(1)
    figure = sweep_lines(frame, RATE, METRIC, FLAG, logx=True, logy=True)
    ax = figure.axes[0]
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    lines = {str(ln.get_label()): ln for ln in ax.get_lines()}
    for flag in (False, True):
        line = lines[f"{FLAG} = {str(flag).lower()}"]
        want = frame[frame[FLAG] == flag]
        np.testing.assert_array_equal(line.get_xdata(), want[RATE])
        np.testing.assert_array_equal(line.get_ydata(), want[METRIC])
    bands = ax.collections
    assert len(bands) == 2
    lo, hi = bands[0].get_paths()[0].vertices[:, 1].min(), bands[0].get_paths()[0].vertices[:, 1].max()
    want = frame[~frame[FLAG]]
    assert lo == pytest.approx(want[f"{METRIC}_lo"].min()) and hi == pytest.approx(
        want[f"{METRIC}_hi"].max())
    assert ax.get_xlabel() == f"{RATE} (per s)"
    assert ax.get_ylabel() == "connects delayed ≥ 1 s or failed (fraction)"
    assert METRIC in ax.get_title() and ax.get_legend() is not None


def test_zeros_on_a_log_axis_are_counted_in_the_legend() -> None:
    frame = results(1)
    frame.loc[0, METRIC] = 0.0
    figure = sweep_lines(frame, RATE, METRIC, FLAG, logy=True)
    labels = [str(ln.get_label()) for ln in figure.axes[0].get_lines()]
    assert f"{FLAG} = false (1 at 0: ▼ at a run's 95 % upper bound)" in labels
    (marker,) = [ln for ln in figure.axes[0].get_lines() if ln.get_marker() == "v"]
    assert list(marker.get_xdata()) == [RATES[0]]
    assert list(marker.get_ydata()) == [frame.loc[0, f"{METRIC}_hi"]]
    without = frame.drop(columns=[f"{METRIC}_lo", f"{METRIC}_hi"])
    labels = [str(ln.get_label()) for ln in sweep_lines(without, RATE, METRIC, FLAG,
                                                        logy=True).axes[0].get_lines()]
    assert f"{FLAG} = false (1 at 0, not shown)" in labels


def test_numeric_x_gets_a_tick_at_each_swept_value() -> None:
    ax = sweep_lines(results(1), RATE, METRIC, FLAG, logx=True).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10", "30", "100", "300"]


def test_text_keys_become_ticks_in_grid_order() -> None:
    frame = results(1, kernels=("4.14", "6.1"))
    frame = frame[frame[FLAG]]
    frame.attrs["swept"] = ["kernel.version", FLAG, RATE]
    figure = sweep_lines(frame, "kernel.version", METRIC, RATE)
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["4.14", "6.1"]


def test_heatmap_cells_are_the_means() -> None:
    frame = results(2)
    figure = sweep_heatmap(frame, RATE, FLAG, METRIC, logz=True)
    ax = figure.axes[0]
    grid = np.asarray(ax.images[0].get_array())
    want = frame.groupby([FLAG, RATE], sort=False)[METRIC].mean().to_numpy().reshape(2, 4)
    np.testing.assert_allclose(grid, want, rtol=1e-12)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10", "30", "100", "300"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["false", "true"]
    assert len(ax.texts) == 8 and figure.axes[1].get_ylabel().startswith("connects delayed")


@pytest.mark.parametrize("kind", ["lines", "heatmap"])
def test_sweep_figures_are_valid_slide_sized_images(kind: str, tmp_path: Path) -> None:
    frame = results(1)
    figure = (sweep_lines(frame, RATE, METRIC, FLAG, logx=True, logy=True) if kind == "lines"
              else sweep_heatmap(frame, RATE, FLAG, METRIC))
    pixels = imread(save(figure, tmp_path / "f.png"))
    assert pixels.shape[1] >= 1200 and pixels.shape[0] >= 600
    assert float(pixels[..., :3].var()) > 0


@pytest.mark.parametrize(("kwargs", "flag", "text"), [
    ({"x": "workload.0.rate", "y": METRIC}, "--x", "did you mean 'workload.0.rate_per_s'"),
    ({"x": RATE, "y": "delayed_fraction.ge_1"}, "--y", "did you mean 'delayed_fraction.ge_1s'"),
    ({"x": RATE, "y": "nope"}, "--y", "is not a metric"),
    ({"x": RATE, "y": "kernel.nat_era", "hue": FLAG}, "--y", "holds text"),
    ({"x": RATE, "y": METRIC}, "--hue", "pass --hue nat.random_fully"),
    ({"x": RATE, "y": METRIC, "hue": "pods"}, "--hue", "not a swept key"),
])
def test_lines_refuse_unknown_keys_and_mixed_points(kwargs: dict[str, str], flag: str,
                                                     text: str) -> None:
    with pytest.raises(ConfigError, match=flag) as error:
        sweep_lines(results(1), **kwargs)
    assert text in str(error.value)


def test_heatmap_needs_two_different_keys() -> None:
    with pytest.raises(ConfigError, match=r"--y.*same key"):
        sweep_heatmap(results(1), RATE, RATE, METRIC)
    frame = results(1, kernels=("4.14", "6.1"))
    with pytest.raises(ConfigError, match=r"also varies .kernel.version.*--x or --y"):
        sweep_heatmap(frame, RATE, FLAG, METRIC)


def test_axis_labels_carry_units() -> None:
    assert axis_label("connect_latency_s.p99") == "connect() latency p99 (s)"
    assert axis_label("node.race_window_us") == "node.race_window_us (µs)"
    assert axis_label("conntrack.insert_failed") == "conntrack insert_failed (count)"
