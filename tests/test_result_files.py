"""The files ``SimulationResult.write`` puts in a run folder: summary.json indented by 2, the
rows as CSV without pandas' index column (their first column is ``id``)."""

from __future__ import annotations

from pathlib import Path

from des_scripts import once, scenario

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
