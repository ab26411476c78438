"""The teaching trace as JSON lines: a stream gets exactly the records a kept trace holds, one JSON
object per line, times rounded to the nanosecond; a default ``Trace()`` keeps its records."""

from __future__ import annotations

import io
import json

from des_scripts import once, scenario

from snatsim.config import Scenario
from snatsim.des import Trace
from snatsim.results import simulate


def _scenario() -> Scenario:
    return scenario(once("w", at_s=1 / 3, destinations=["198.51.100.53:53"], protocol="udp"))


def test_a_stream_gets_one_json_line_per_kept_record() -> None:
    kept = Trace()
    simulate(_scenario(), trace=kept)
    assert [r["step"] for r in kept.records] == ["query", "nat", "query", "confirm", "answered"]
    stream = io.StringIO()
    simulate(_scenario(), trace=Trace(stream, keep=False))
    text = stream.getvalue()
    assert text.endswith("\n") and text.count("\n") == len(kept.records)
    assert [json.loads(line) for line in text.splitlines()] == kept.records


def test_times_are_rounded_to_the_nanosecond() -> None:
    kept = Trace()
    simulate(_scenario(), trace=kept)
    assert kept.records[0]["t_s"] == 0.333333333
