"""Per-connection rows only when asked for: the cap, the error without rows, and a summary that
is the same whether rows were kept or not (it is streamed, issue #8)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from test_des_invariants import stressed

from snatsim.results import RowsNotKeptError, SimulationResult, simulate
from snatsim.rundata import ROWS_TRUE_CAP, rows_cap
from snatsim.sketch import REL_ERROR


@cache
def run(rows: bool | int | str) -> SimulationResult:
    """A small window under bursts (drops of every cause, 1, 2 and 3+ s delays), warm-up 1 s."""
    return simulate(stressed("6.18", warmup_s=1.0, seed=5), rows=rows)


def test_by_default_no_row_is_kept_and_to_frame_says_how_to_ask() -> None:
    result = run(False)
    assert result.rows == [] and result.rows_cap == 0
    assert result.rows_omitted == result.stats.attempted > 300
    with pytest.raises(RowsNotKeptError, match=r"rows=True.*rows='all'"):
        result.to_frame()
    note = result.rows_note()
    assert note is not None and "--rows" in note


@pytest.mark.parametrize("rows", [True, 7, "all", 0])
def test_the_summary_is_the_same_with_and_without_rows(rows: bool | int | str) -> None:
    assert run(rows).summary() == run(False).summary()


def test_a_cap_keeps_the_first_rows_that_ended_and_to_frame_warns() -> None:
    every = run("all")
    capped = run(7)
    assert capped.rows == every.rows[:7]
    assert capped.rows_omitted == every.stats.attempted - 7
    with pytest.warns(UserWarning, match=f"7 of {every.stats.attempted:,}"):
        assert len(capped.to_frame()) == 7
    assert every.rows_omitted == 0 and len(every.to_frame()) == every.stats.attempted
    assert every.rows_note() is None


def test_true_means_a_cap_of_a_million_and_bad_values_are_refused() -> None:
    assert rows_cap(True) == ROWS_TRUE_CAP == 1_000_000
    assert rows_cap(False) == rows_cap("none") == 0 and rows_cap("all") is None
    assert rows_cap(12) == 12
    for bad in (-1, "some", 2.5):
        with pytest.raises(ValueError, match=r"rows=.*'all'"):
            rows_cap(bad)  # type: ignore[arg-type]
    assert len(run(True).rows) == run(True).stats.attempted  # under the cap: every row


def test_streamed_figures_equal_those_recomputed_from_the_rows() -> None:
    """Counts exactly; percentiles within the sketch's relative error of numpy's."""
    result = run("all")
    frame = result.to_frame()
    s = result.summary()
    lat = frame["latency_s"].dropna().to_numpy(dtype=float)
    never = int(frame["outcome"].isin(["failed", "app_timeout"]).sum())
    for t in (1, 2, 3):
        assert s["delayed_counts"][f"ge_{t}s"] == int((lat >= t).sum()) + never
    assert s["delayed_counts"]["ge_1s"] > s["delayed_counts"]["ge_3s"] > 0  # guard
    got = s["connect_latency_s"]
    assert got["mean"] == pytest.approx(lat.mean(), rel=1e-12) and got["max"] == lat.max()
    for name, q in {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p999": 0.999}.items():
        assert got[name] == pytest.approx(np.quantile(lat, q), rel=REL_ERROR * (1 + 1e-9))
    nat = frame["nat_port"].notna()
    assert s["ports"]["preserved_fraction"] == frame.loc[nat, "preserved"].mean()


def test_write_skips_connections_csv_without_rows(tmp_path: Path) -> None:
    names = {p.name for p in run(False).write(tmp_path / "none")}
    assert names == {"summary.json", "timeseries.csv", "scenario.toml"}
    names = {p.name for p in run(7).write(tmp_path / "seven")}
    assert "connections.csv" in names
    assert len((tmp_path / "seven" / "connections.csv").read_text().splitlines()) == 1 + 7
