"""The per-second series count what their names say: SYN drops and UDP query drops apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from snatsim.config import load_scenario
from snatsim.results import simulate

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize(
    ("config", "overrides", "kind"),
    [
        ("dns-udp", ["node.steering=random", "kernel.version=4.14"], "query"),  # sibling race
        ("legacy-rover", [], "syn"),
    ],
)
def test_drops_per_second_add_up_to_the_dropped_packets(
    config: str, overrides: list[str], kind: str
) -> None:
    scenario = load_scenario(
        CONFIGS / f"{config}.toml",
        ["simulation.duration_s=130", "simulation.warmup_s=0", *overrides],
    )
    result = simulate(scenario, rng=5)
    frame = result.timeseries()
    other = "syn" if kind == "query" else "query"
    assert result.packets_dropped[kind] > 0  # the config does drop packets of this kind
    assert frame[f"{kind}_drops"].sum() == result.packets_dropped[kind]
    assert frame[f"{other}_drops"].sum() == result.packets_dropped.get(other, 0) == 0
