"""``snatsim sweep --engine mc --trials N | --rel-error F`` (and a sweep file's ``trials`` /
``rel_error``): each run samples as asked, the rows say what it sampled, the setting is part of
what a resume must match, and it is refused where the SimPy model runs."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from bad_inputs import BASE

import snatsim
from snatsim.errors import ConfigError
from snatsim.sweep import run_sweep
from snatsim.sweep.store import ResultsFileError

GRID = ["nat.random_fully=false,true"]
TRIALS = 1 << 16


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(BASE, encoding="utf-8")
    return path


def test_trials_reach_every_run_and_each_row_says_how_many(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    run_sweep(config, GRID, out, engine="mc", trials=TRIALS, workers=1)
    frame = snatsim.load_results(out)
    assert (frame["engine"] == "mc").all()
    for row in frame.to_dict(orient="records"):
        flag = "true" if row["nat.random_fully"] else "false"
        scenario = snatsim.load_scenario(config, [f"nat.random_fully={flag}"])
        seed = np.random.SeedSequence(int(row["entropy"]), spawn_key=json.loads(row["spawn_key"]))
        alone = snatsim.estimate(scenario, rng=seed, trials=TRIALS).summary()
        assert row["trials"] == alone["trials"] >= TRIALS
        assert row["delayed_fraction.ge_1s"] == alone["delayed_fraction"]["ge_1s"]
    with sqlite3.connect(out) as conn:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    conn.close()
    assert json.loads(meta["trials"]) == TRIALS and "rel_error" not in meta
    # the default sample is another sweep: refused against this file, which is kept
    before = out.read_bytes()
    with pytest.raises(ResultsFileError, match="holds a different sweep"):
        run_sweep(config, GRID, out, engine="mc", workers=1)
    assert out.read_bytes() == before
    again = run_sweep(config, GRID, out, engine="mc", trials=TRIALS, workers=1)
    assert (again.ran, again.resumed) == (0, 2)


def test_rel_error_is_kept_in_the_rows(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    run_sweep(config, ["nat.random_fully=true"], out, engine="mc", rel_error=0.5, workers=1)
    frame = snatsim.load_results(out)
    assert frame["rel_error.target"].tolist() == [0.5]
    assert frame["trials"].iloc[0] > 0


def test_a_sweep_file_sets_trials_like_the_flag(config: Path, tmp_path: Path) -> None:
    sweep_file = tmp_path / "g.toml"
    sweep_file.write_text(f'trials = {TRIALS}\n[grid]\n"nat.random_fully" = [false, true]\n',
                          encoding="utf-8")
    by_file, by_flag = tmp_path / "f.db", tmp_path / "t.db"
    run_sweep(config, [], by_file, grid_file=sweep_file, engine="mc", workers=1)
    run_sweep(config, GRID, by_flag, engine="mc", trials=TRIALS, workers=1)
    columns = ["trials", "delayed_fraction.ge_1s", "syn.dropped"]
    assert snatsim.load_results(by_file)[columns].equals(snatsim.load_results(by_flag)[columns])
    # the same value on the command line agrees; another is refused
    run_sweep(config, [], by_file, grid_file=sweep_file, engine="mc", trials=TRIALS, workers=1)
    with pytest.raises(ConfigError, match=r"--trials: 4096 differs from trials = 65536 in "
                                          r"--grid-file"):
        run_sweep(config, [], tmp_path / "x.db", grid_file=sweep_file, trials=4096, workers=1)
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"engine": "des", "trials": TRIALS}, "--trials: sets the Monte Carlo engine's sampling; "
                                          "--engine des"),
    ({"engine": "des", "rel_error": 0.1}, "--rel-error: sets the Monte Carlo engine's"),
    ({"trials": 0}, "--trials: 0 is not a number of trials"),
    ({"trials": True}, "--trials: True is not a number"),
    ({"rel_error": 1.0}, "--rel-error: 1.0 is not a relative half-width"),
    ({"rel_error": float("nan")}, "--rel-error: nan is not"),
    ({"trials": TRIALS, "rel_error": 0.1}, "--trials: give trials (a fixed sample) or rel_error"),
])
def test_bad_sampling_is_refused_before_anything_runs(config: Path, tmp_path: Path,
                                                      kwargs: dict[str, object],
                                                      message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        run_sweep(config, GRID, tmp_path / "s.db", workers=1, **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "s.db").exists()


def test_trials_where_auto_chooses_the_simpy_model_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "fixed.toml"  # a fixed source port: the Monte Carlo engine refuses it
    config.write_text(BASE.replace('arrival = "poisson"', 'arrival = "poisson"\n'
                                   'source_port = 40000'), encoding="utf-8")
    with pytest.raises(ConfigError, match="--trials: sets the Monte Carlo engine's sampling, "
                                          "but the Monte Carlo engine does not cover"):
        run_sweep(config, GRID, tmp_path / "s.db", trials=TRIALS, workers=1)
    assert not (tmp_path / "s.db").exists()
