"""The conntrack GC runs on its own cadence: sampling only observes, and the cadence itself matters.

Expired entries are invisible to lookups at once (spec §5.1) but count towards nf_conntrack_max
until a GC pass collects them (spec §10: early drop and table-full drops use that count).
"""

from __future__ import annotations

from typing import Any

from des_scripts import DST, scenario

from snatsim.des import run
from snatsim.rundata import RunData


def _pressed(**conntrack: Any) -> Any:
    """A table kept near nf_conntrack_max by short TIME_WAITs: expiry decides early drops."""
    busy = {
        "name": "busy", "pods": 4, "arrival": "poisson", "rate_per_s": 150.0,
        "hold_s": 0.05, "destinations": [DST],
    }
    return scenario(
        busy, duration_s=20.0, conntrack={
            "max": 300, "tcp_timeout_time_wait_s": 1.5, "tcp_timeout_close_s": 1.0, **conntrack,
        },
    )


def _outcome(data: RunData) -> tuple[Any, ...]:
    return (data.rows, data.counters_total, data.packets_dropped, data.drop_causes)


def test_sampling_interval_does_not_change_results() -> None:
    s = _pressed()
    every_s = run(s, rng=3, rows="all")
    assert every_s.counters_total["early_drop"] > 0  # the count at the limit matters here
    assert _outcome(run(s, rng=3, rows="all", sample_every_s=0.37)) == _outcome(every_s)
    assert _outcome(run(s, rng=3, rows="all", sample_every_s=5.0)) == _outcome(every_s)


def test_a_slower_gc_keeps_expired_entries_in_the_count() -> None:
    fast = run(_pressed(), rng=3).counters_total
    slow = run(_pressed(gc_interval_s=10.0), rng=3).counters_total
    assert slow["early_drop"] + slow["drop"] > fast["early_drop"] + fast["drop"]
