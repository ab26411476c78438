"""The inline-confirm shortcut is exact, can be switched off, and fails loudly when its rule breaks.

A TCP confirm runs inline, ahead of ``env.now``, when nothing is due before it; that is exact only
while every arrival driver schedules its next event before calling ``connect()``
(snatsim/des/workloads.py). A driver rewritten the other way round must raise, not lose races.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from snatsim.config import load_scenario
from snatsim.des import run, workloads

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.toml"))


CASES = [(p, []) for p in CONFIGS] + [
    # an app timeout 1 µs after the first retransmit: armed on a SYN loss, inside a race window
    (CONFIGS[0], ["workload.0.connect_timeout_s=1.000001", "node.nat_to_confirm_us=5"]),
]


@pytest.mark.slow
@pytest.mark.parametrize(("path", "overrides"), CASES, ids=lambda v: getattr(v, "stem", str(v)))
def test_every_config_gives_identical_results_with_and_without_inline_confirms(
    path: Path, overrides: list[str]
) -> None:
    scenario = load_scenario(
        path, ["simulation.duration_s=40", "simulation.warmup_s=5", *overrides]
    )
    inline = run(scenario, rng=11, rows="all")
    scheduled = run(scenario, rng=11, rows="all", inline_confirm=False)
    assert inline.rows, "the config produced no connections"
    assert inline.rows == scheduled.rows
    assert inline.series == scheduled.series
    assert inline.counters_total == scheduled.counters_total
    assert inline.drop_causes == scheduled.drop_causes


def test_a_driver_that_connects_before_scheduling_its_next_arrival_fails_loudly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fire_wrong_way_round(self: workloads._Poisson, _: object, now: float) -> None:
        self.node.connect(self.wl.clients[0], now)  # connect() first: its confirm may run ahead
        self.schedule_next(now)

    monkeypatch.setattr(workloads._Poisson, "fire", fire_wrong_way_round)
    # arrivals 0.5 ms apart on average, confirms 1 ms after NAT: the next SYN falls in the window
    scenario = load_scenario(
        CONFIGS[0],
        ["simulation.duration_s=1", "simulation.warmup_s=0", "workload.0.rate_per_s=2000",
         "node.nat_to_confirm_us=1000"],
    )
    with pytest.raises(AssertionError,
                       match=r"confirm ran inline .* or run with inline_confirm=False"):
        run(scenario, rng=1)
    run(scenario, rng=1, inline_confirm=False)  # without the shortcut there is no rule to break

