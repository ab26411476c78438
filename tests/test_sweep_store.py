"""Sweeps into SQLite: rows, columns, seeds, resume, refusals (snatsim.sweep, load_results)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from bad_inputs import BASE

import snatsim
from snatsim.errors import ConfigError
from snatsim.results import simulate
from snatsim.sweep import SweepError, run_sweep, runner
from snatsim.sweep.store import ResultsFileError

TINY = BASE.replace("seed = 1\n", "seed = 11\n").replace("rate_per_s = 20.0", "rate_per_s = 40.0")
GRID = ["nat.random_fully=false,true", "workload.0.rate_per_s=20,80"]
VOLATILE = ["wall_s"]  # the only column that may differ between two runs of one sweep


def test_the_tiny_config_is_the_corpus_base_seeded_11_at_40_per_s() -> None:
    assert TINY != BASE and "seed = 11\n" in TINY and "rate_per_s = 40.0" in TINY


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return path


def _rows(path: Path) -> list[dict[str, object]]:
    frame = snatsim.load_results(path).drop(columns=VOLATILE)
    return json.loads(frame.to_json(orient="records"))


def test_one_row_per_point_and_replicate_with_the_documented_columns(config: Path,
                                                                       tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    outcome = run_sweep(config, GRID, out, replicates=2, engine="des", workers=1)
    assert (outcome.points, outcome.replicates, outcome.ran, outcome.resumed) == (4, 2, 8, 0)
    frame = snatsim.load_results(out)
    assert list(frame[["point", "replicate"]].itertuples(index=False, name=None)) == [
        (p, r) for p in range(4) for r in range(2)]
    assert frame.attrs["swept"] == ["nat.random_fully", "workload.0.rate_per_s"]
    assert list(frame.columns[:4]) == ["point", "replicate", "nat.random_fully",
                                      "workload.0.rate_per_s"]
    assert frame["nat.random_fully"].tolist() == [False] * 4 + [True] * 4
    assert frame["workload.0.rate_per_s"].tolist() == [20.0, 20.0, 80.0, 80.0] * 2
    for column in ("delayed_fraction.ge_1s", "delayed_fraction.ge_1s_lo",
                   "delayed_fraction.ge_1s_hi", "conntrack.insert_failed",
                   "connect_latency_s.p99", "warnings", "entropy", "spawn_key", "wall_s",
                   "snatsim_version", "engine"):
        assert column in frame.columns, column
    assert (frame["delayed_fraction.ge_1s_lo"] <= frame["delayed_fraction.ge_1s"]).all()
    assert (frame["engine"] == "des").all() and (frame["wall_s"] > 0).all()
    assert frame["snatsim_version"].eq(snatsim.__version__).all()
    assert frame["spawn_key"].tolist() == [json.dumps([p, r]) for p in range(4) for r in range(2)]


def test_a_row_is_the_run_with_its_spawned_seed(config: Path, tmp_path: Path) -> None:
    """Run (p, r) is SeedSequence(root, spawn_key=(p, r)), child r of child p of the root."""
    out = tmp_path / "s.db"
    run_sweep(config, GRID, out, replicates=2, engine="des", workers=1)
    frame = snatsim.load_results(out)
    row = frame[(frame["point"] == 3) & (frame["replicate"] == 1)].iloc[0]
    scenario = snatsim.load_scenario(config, ["nat.random_fully=true",
                                              "workload.0.rate_per_s=80"])
    child = np.random.SeedSequence(11).spawn(4)[3].spawn(2)[1]
    summary = simulate(scenario, rng=child).summary()
    assert row["connections.attempted"] == summary["connections"]["attempted"]
    assert row["syn.sent"] == summary["syn"]["sent"]
    assert row["connect_latency_s.mean"] == summary["connect_latency_s"]["mean"]
    assert row["entropy"] == "11"


def test_crn_shares_a_replicates_streams_across_points(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "crn.db"
    run_sweep(config, ["nat.random_fully=false,true"], out, replicates=2, engine="des", workers=1,
              crn=True)
    frame = snatsim.load_results(out)
    assert frame["spawn_key"].tolist() == ["[0]", "[1]", "[0]", "[1]"]
    # at 40 connects/s no clash happens, so the flag changes nothing and the same streams give
    # the same arrivals: the points differ only where the flag would act
    assert frame["connections.attempted"].tolist()[:2] == frame["connections.attempted"].tolist()[2:]
    assert frame.attrs["crn"] is True


def test_the_same_command_resumes_and_recomputes_nothing(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    run_sweep(config, GRID, out, replicates=1, engine="des", workers=1)
    first = _rows(out)
    again = run_sweep(config, GRID, out, replicates=1, engine="des", workers=1)
    assert (again.ran, again.resumed) == (0, 4)
    assert _rows(out) == first
    more = run_sweep(config, GRID, out, replicates=2, engine="des", workers=1)  # only the new ones
    assert (more.ran, more.resumed) == (4, 4)
    rows = _rows(out)
    assert [r for r in rows if r["replicate"] == 0] == first


def test_lost_rows_are_run_again_identically(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    run_sweep(config, GRID, out, replicates=2, engine="des", workers=1)
    whole = _rows(out)
    with sqlite3.connect(out) as conn:
        conn.execute("DELETE FROM runs WHERE point IN (1, 2)")
    conn.close()
    again = run_sweep(config, GRID, out, replicates=2, engine="des", workers=2)
    assert (again.ran, again.resumed) == (4, 4)
    assert _rows(out) == whole


def test_two_workers_give_the_rows_of_one(config: Path, tmp_path: Path) -> None:
    run_sweep(config, GRID, tmp_path / "one.db", replicates=2, engine="des", workers=1)
    run_sweep(config, GRID, tmp_path / "two.db", replicates=2, engine="des", workers=2)
    assert _rows(tmp_path / "one.db") == _rows(tmp_path / "two.db")


@pytest.mark.parametrize(("change", "kwargs"), [
    ("grid", {"grid": ["nat.random_fully=false,true", "workload.0.rate_per_s=20,81"]}),
    ("config", {"sets": ["workload.0.pods=3"]}),
    ("seed", {"seed": 12}),
    ("crn", {"crn": True}),
])
def test_a_different_sweep_against_the_file_is_refused(config: Path, tmp_path: Path,
                                                        change: str, kwargs: dict) -> None:
    out = tmp_path / "s.db"
    run_sweep(config, GRID, out, engine="des", workers=1)
    before = out.read_bytes()
    args = {"grid": GRID, "workers": 1, "engine": "des", **kwargs}
    with pytest.raises(ResultsFileError, match="holds a different sweep"):
        run_sweep(config, args.pop("grid"), out, **args)
    assert out.read_bytes() == before


def test_files_that_are_not_snatsim_results_are_refused_and_kept(config: Path,
                                                                  tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("my notes\n", encoding="utf-8")
    with pytest.raises(ResultsFileError, match="not a snatsim results database"):
        run_sweep(config, GRID, text, engine="des", workers=1)
    assert text.read_text(encoding="utf-8") == "my notes\n"
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    before = other.read_bytes()
    with pytest.raises(ResultsFileError, match="SQLite database but not a snatsim results"):
        run_sweep(config, GRID, other, engine="des", workers=1)
    with pytest.raises(ResultsFileError, match="SQLite database but not a snatsim results"):
        snatsim.load_results(other)
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db", "other.db", "tiny.toml"]


def test_a_bad_point_is_named_and_nothing_is_written(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    with pytest.raises(ConfigError) as err:
        run_sweep(config, ["workload.0.pods=1,0"], out, engine="des", workers=1)
    assert "--grid point workload.0.pods=0" in str(err.value)
    assert not out.exists()
    with pytest.raises(ConfigError, match="did you mean 'random_fully'"):
        run_sweep(config, ["nat.randm_fully=true"], out, engine="des", workers=1)
    assert not out.exists()


@pytest.mark.slow
def test_auto_runs_the_monte_carlo_engine_where_it_covers_every_point(config: Path,
                                                                      tmp_path: Path) -> None:
    notes: list[str] = []
    outcome = run_sweep(config, ["nat.random_fully=false,true"], tmp_path / "mc.db", workers=1,
                        notify=notes.append)
    assert (outcome.engine, notes) == ("mc", [])
    frame = snatsim.load_results(tmp_path / "mc.db")
    assert frame["engine"].tolist() == ["mc", "mc"] and frame["method"].tolist() == ["mc", "mc"]
    assert {"delayed_fraction.ge_1s_lo", "syn_drop_probability_lo", "trials"} <= set(frame.columns)
    assert (frame["delayed_fraction.ge_1s_lo"] <= frame["delayed_fraction.ge_1s_hi"]).all()
    seed = np.random.SeedSequence(11, spawn_key=(1, 0))
    expected = snatsim.estimate(snatsim.load_scenario(config, ["nat.random_fully=true"]), rng=seed)
    assert frame["delayed_fraction.ge_1s"].iloc[1] == expected.summary()["delayed_fraction"]["ge_1s"]


def test_auto_falls_back_to_des_for_the_whole_sweep_with_a_note(config: Path,
                                                                 tmp_path: Path) -> None:
    notes: list[str] = []
    # a fixed source port is a point the Monte Carlo engine does not cover (UDP it now does)
    outcome = run_sweep(config, ["workload.0.source_port=ephemeral,40000"], tmp_path / "s.db",
                        workers=1,
                        notify=notes.append)
    assert outcome.engine == "des"
    assert len(notes) == 1 and "does not cover point workload.0.source_port=40000" in notes[0]
    assert "whole sweep runs on the SimPy model (des)" in notes[0]
    assert snatsim.load_results(tmp_path / "s.db")["engine"].tolist() == ["des", "des"]
    with pytest.raises(ConfigError,
                       match=r"--engine mc at point workload\.0\.source_port=40000"):
        run_sweep(config, ["workload.0.source_port=ephemeral,40000"], tmp_path / "mc.db",
                  engine="mc")
    assert not (tmp_path / "mc.db").exists()


def test_an_unseeded_sweep_keeps_its_entropy_for_the_resume(tmp_path: Path) -> None:
    config = tmp_path / "unseeded.toml"
    config.write_text(TINY.replace("seed = 11\n", ""), encoding="utf-8")
    out = tmp_path / "s.db"
    run_sweep(config, ["nat.random_fully=false,true"], out, engine="des", workers=1)
    first = _rows(out)
    with sqlite3.connect(out) as conn:
        conn.execute("DELETE FROM runs WHERE point = 1")
    conn.close()
    assert run_sweep(config, ["nat.random_fully=false,true"], out, engine="des", workers=1).ran == 1
    assert _rows(out) == first
    assert int(first[0]["entropy"]) > 2**64  # fresh 128-bit entropy, recorded


def _worker_dies(*_args: object) -> dict[str, object]:
    os._exit(1)  # as a worker killed by the OOM killer


def test_a_worker_that_dies_is_one_error_and_the_finished_runs_are_kept(
        config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "s.db"
    run_sweep(config, GRID, out, engine="des", workers=1)
    with sqlite3.connect(out) as conn:
        conn.execute("DELETE FROM runs WHERE point >= 2")
    conn.close()
    monkeypatch.setattr(runner, "run_task", _worker_dies)
    with pytest.raises(SweepError, match="a worker process died") as err:
        run_sweep(config, GRID, out, engine="des", workers=2)
    assert "the 2 finished runs are in" in str(err.value)
    assert len(snatsim.load_results(out)) == 2
