"""What a result shows a notebook user: its one-line repr, its HTML table, its per-second frame,
its JSON text and the note on missing rows, asserted in full on a scripted run.

The run: a 1-port window held until ~0.9 s and RST-closed into a 0.1 s CLOSE state; the victim's
first SYN (0.5 s) is dropped and its retransmit (1.5 s) gets through, about 1 s late: one of two
connections is delayed >= 1 s, none >= 2 s, and one ``insert_failed``.
"""

from __future__ import annotations

import json

import pytest
from des_scripts import once, scenario

from snatsim.errors import RowsNotKeptError
from snatsim.results import SimulationResult, simulate

HEADLINE = ("kernel 6.6 (A3 C4 P4 T2), seed 1, connections 2, insert_failed 1, "
            "delayed ≥ 1 s 1 of 2 established")


def _run(seed: int | None = 1, rows: bool | int | str = "all") -> SimulationResult:
    holder = once("holder", hold_s=0.9, close="rst")
    victim = once("victim", at_s=0.5, hold_s=0.1)
    return simulate(scenario(holder, victim, kernel="6.6", cpus=1, seed=seed,  # type: ignore[arg-type]
                             nat={"to_ports": "20000"}, conntrack={"tcp_timeout_close_s": 0.1}),
                    rows=rows)


@pytest.fixture(scope="module")
def result() -> SimulationResult:
    return _run()


def test_repr_lists_the_headline_facts(result: SimulationResult) -> None:
    assert repr(result) == f"<SimulationResult: {HEADLINE}>"


def test_html_repr_has_one_row_per_headline_fact(result: SimulationResult) -> None:
    row = "<tr><th style='text-align:left'>{}</th><td>{}</td></tr>"
    cells = [("kernel", "6.6 (A3 C4 P4 T2)"), ("seed", "1"), ("connections", "2"),
             ("insert_failed", "1"), ("delayed ≥ 1 s", "1 of 2 established")]
    assert result._repr_html_() == (
        "<table><caption>SimulationResult</caption>"
        + "".join(row.format(k, v) for k, v in cells) + "</table>"
    )


def test_an_unseeded_run_says_its_seed_is_entropy() -> None:
    assert ", seed entropy, " in repr(_run(seed=None))


def test_timeseries_columns_and_index(result: SimulationResult) -> None:
    frame = result.timeseries()
    assert frame.index.name == "second"
    assert list(frame.columns)[:5] == [
        "new_connections", "syn_drops", "query_drops", "conntrack_entries", "max_ports_in_use"
    ]
    assert all(c.startswith("ports_in_use[") for c in list(frame.columns)[5:])
    assert frame["new_connections"].tolist()[:2] == [2, 0]
    assert frame["max_ports_in_use"].max() == 1
    ports = frame[list(frame.columns)[5:]].to_numpy()
    assert ports.max() == 1  # the one port of the window, in use by one pod at a time


def test_to_json_passes_its_options_to_json_dumps(result: SimulationResult) -> None:
    text = result.to_json(indent=2)
    assert text == json.dumps(result.summary(), indent=2) and "\n  " in text


def test_rows_note_says_when_no_rows_were_kept() -> None:
    assert _run(rows=False).rows_note() == (
        "connections.csv not written: no per-connection rows were kept "
        "(snatsim run --rows N|all, or simulate(..., rows=True))"
    )
    assert _run(rows=1).rows_note() == (
        "connections.csv holds the first 1 of 2 connections (--rows all keeps every one)"
    )
    assert _run(rows="all").rows_note() is None


def test_to_frame_without_rows_says_how_to_keep_them() -> None:
    with pytest.raises(RowsNotKeptError) as info:
        _run(rows=False).to_frame()
    assert str(info.value) == (
        "this result kept no per-connection rows (2 connections were measured; the summary does "
        "not need them): run snatsim.simulate(scenario, rows=True) for up to 1,000,000 rows, "
        "rows=N for N, or rows='all' for every one (snatsim run: --out DIR --rows N|all)"
    )


def test_to_frame_of_a_capped_run_warns_at_the_callers_line() -> None:
    capped = _run(rows=1)
    with pytest.warns(UserWarning, match="holds 1 of 2 measured") as caught:
        assert len(capped.to_frame()) == 1
    assert [w.filename for w in caught] == [__file__]
