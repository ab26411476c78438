"""Behaviour that the seeded mutation sample of 2026-12-05 found unpinned (docs/mutation.md, #7).

Where a trace goes (a path or a bare text stream, given to :func:`snatsim.simulate` or to the
engine's :func:`snatsim.des.run` directly), the error text of ``simulate()`` given neither a
scenario nor a path, and the length of a per-second series. Each test is a scripted one-connection
run (``des_scripts``) or a direct call: exact values, well under a second.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from des_scripts import once, scenario

from snatsim.config import Scenario
from snatsim.des import Trace
from snatsim.des import run as des_run
from snatsim.results import simulate
from snatsim.rundata import Series


def _scenario() -> Scenario:
    """One DNS lookup at 1/3 s: five trace records (query, nat, query, confirm, answered)."""
    return scenario(once("w", at_s=1 / 3, destinations=["198.51.100.53:53"], protocol="udp"))


def _kept() -> list[dict[str, object]]:
    kept = Trace()
    simulate(_scenario(), trace=kept)
    assert [r["step"] for r in kept.records] == ["query", "nat", "query", "confirm", "answered"]
    return kept.records


def _lines(text: str) -> list[dict[str, object]]:
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_a_bare_text_stream_gets_the_json_lines_of_the_trace() -> None:
    """``trace=`` an open text stream (not a Trace): the records go to it as JSON lines."""
    stream = io.StringIO()
    simulate(_scenario(), trace=stream)
    assert _lines(stream.getvalue()) == _kept()


@pytest.mark.parametrize("engine", ["simulate", "des.run"])
def test_a_trace_path_gets_the_json_lines_of_the_trace(engine: str, tmp_path: Path) -> None:
    """``trace=`` a path, through the public ``simulate`` or the engine's own ``run``: the file
    holds every record (both open it for writing, and both close it before returning)."""
    path = tmp_path / "trace.jsonl"
    if engine == "simulate":
        simulate(_scenario(), trace=path)
    else:
        des_run(_scenario(), trace=str(path))
    assert _lines(path.read_text(encoding="utf-8")) == _kept()


def test_simulate_of_neither_a_scenario_nor_a_path_says_how_to_build_one() -> None:
    with pytest.raises(TypeError) as err:
        simulate(3)  # type: ignore[arg-type]
    assert str(err.value) == (
        "simulate() takes a Scenario or a path, not int; "
        "build one with snatsim.load_scenario(path, overrides)"
    )


def test_a_series_holds_one_value_per_second_up_to_the_last_event() -> None:
    """Index = second: an event at second 2 makes the series 3 long, one at 4 then 5 long."""
    series = Series()
    series.bump("syn_drops", 2)
    assert series.syn_drops == [0, 0, 1]
    series.bump("syn_drops", 1)
    series.bump("syn_drops", 4)
    assert series.syn_drops == [0, 1, 1, 0, 1]
    assert series.new_connections == []


def test_a_destination_seen_late_gets_zeros_for_the_seconds_before_it() -> None:
    """Two connections held open: one to A at 0 s, one to B at 2.5 s. Every per-second sample
    (5 of them) has one value per destination; B's series is 0 until the sample after its
    connect, so every series is as long as the table's."""
    b = "198.51.100.7:80"
    result = simulate(scenario(once("a"), once("b", at_s=2.5, destinations=[b]), duration_s=5.0))
    assert result.series.conntrack_entries == [1, 1, 2, 2, 2]
    assert result.series.ports_in_use == {
        "tcp 192.0.2.10 -> 203.0.113.10:443": [1, 1, 1, 1, 1],
        f"tcp 192.0.2.10 -> {b}": [0, 0, 1, 1, 1],
    }
