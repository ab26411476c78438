"""The results' column names for both engines: each metric and interval once (issue #10).

A column must not be the same name written two ways (``delayed_fraction.ge_1s_lo`` and
``delayed_fraction_ge_1s_lo``): a user (or a CSV reader that maps dots to underscores) cannot tell
which to use, and the Monte Carlo engine's summary repeats its ``ge_1s`` interval under ``ci95``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bad_inputs import BASE

import snatsim
from snatsim.sweep import run_sweep


def _normal(name: str) -> str:
    return name.lower().replace(".", "_")


@pytest.mark.parametrize("engine", ["des", "mc"])
def test_column_names_are_unique_even_with_dots_as_underscores(engine: str,
                                                               tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(BASE, encoding="utf-8")
    out = tmp_path / "s.db"
    run_sweep(config, ["nat.random_fully=false,true"], out, engine=engine, workers=1)
    frame = snatsim.load_results(out)
    assert (frame["engine"] == engine).all()
    columns = list(frame.columns)
    assert len(set(columns)) == len(columns)
    normal = [_normal(c) for c in columns]
    repeated = sorted({c for c in columns if normal.count(_normal(c)) > 1})
    assert repeated == []
    # the delayed fraction and its interval, under one name for both engines
    for column in ("delayed_fraction.ge_1s", "delayed_fraction.ge_1s_lo",
                   "delayed_fraction.ge_1s_hi"):
        assert column in columns
    assert (frame["delayed_fraction.ge_1s_lo"] <= frame["delayed_fraction.ge_1s"]).all()
    assert (frame["delayed_fraction.ge_1s"] <= frame["delayed_fraction.ge_1s_hi"]).all()
