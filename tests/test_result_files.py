"""The files ``SimulationResult.write`` puts in a run folder: summary.json indented by 2, the
rows as CSV without pandas' index column (their first column is ``id``); an existing run folder is
replaced only with ``force=True``."""

from __future__ import annotations

from pathlib import Path

import pytest
from des_scripts import once, scenario

from snatsim.output import OutputPathError
from snatsim.results import simulate
from snatsim.rundata import COLUMNS


def test_summary_is_indented_json_and_rows_have_no_index_column(tmp_path: Path) -> None:
    result = simulate(scenario(once("w", pods=3)), rows="all")
    result.write(tmp_path / "run")
    summary = (tmp_path / "run" / "summary.json").read_text(encoding="utf-8")
    assert summary == result.to_json(indent=2)
    lines = (tmp_path / "run" / "connections.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3"]


def test_the_library_write_refuses_to_mix_runs(tmp_path: Path) -> None:
    result = simulate(scenario(once("w")), rows=True)
    files = {"summary.json", "connections.csv", "timeseries.csv", "scenario.toml"}
    assert {p.name for p in result.write(tmp_path / "r")} == files
    with pytest.raises(OutputPathError, match="force=True"):
        result.write(tmp_path / "r")
    other = simulate(scenario(once("w", pods=2)), rows=True)
    assert {p.name for p in other.write(tmp_path / "r", force=True)} == files
    assert (tmp_path / "r" / "summary.json").read_text(encoding="utf-8") == other.to_json(indent=2)
