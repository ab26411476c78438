"""The Python API as a notebook user meets it: short reprs, paths and single overrides accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

import snatsim

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "legacy-rover.toml"
SHORT = ["simulation.duration_s=70", "simulation.warmup_s=0"]


@pytest.fixture(scope="module")
def result() -> snatsim.SimulationResult:
    return snatsim.simulate(snatsim.load_scenario(CONFIG, SHORT), rng=3)


def test_repr_is_one_short_line_with_the_run_identity(result: snatsim.SimulationResult) -> None:
    text = repr(result)
    assert result.stats.attempted > 1000 and "\n" not in text and len(text) < 300
    assert "kernel 4.14 (A1 C1 P1 T1)" in text and "seed 3" in text
    assert f"connections {result.stats.attempted:,}" in text


def test_html_repr_is_a_small_table(result: snatsim.SimulationResult) -> None:
    page = result._repr_html_()
    assert page.startswith("<table>") and len(page) < 2000 and "insert_failed" in page


def test_simulate_accepts_a_path_and_loads_it() -> None:
    from_path = snatsim.simulate(CONFIG, rng=3, rows="all")
    loaded = snatsim.simulate(snatsim.load_scenario(CONFIG), rng=3, rows="all")
    assert from_path.rows and from_path.rows == loaded.rows


def test_simulate_rejects_other_objects_with_the_fix() -> None:
    with pytest.raises(TypeError, match="load_scenario"):
        snatsim.simulate({"kernel": {}}, rng=1)  # type: ignore[arg-type]


def test_load_scenario_takes_a_single_override_string() -> None:
    assert snatsim.load_scenario(CONFIG, "kernel.version=5.4").kernel.version == "5.4"


def test_summary_warns_of_an_exhausted_window_and_unresolved_connects() -> None:
    scenario = snatsim.load_scenario(
        CONFIG.parent / "default.toml",
        ["simulation.duration_s=3", "simulation.warmup_s=0", "simulation.drain=false",
         "workload.0.rate_per_s=600", "kernel.version=4.19"],
    )
    warnings = snatsim.simulate(scenario, rng=1).summary()["warnings"]
    assert any("needs ~72," in w and "64,512" in w for w in warnings), warnings
    healthy = snatsim.load_scenario(CONFIG.parent / "default.toml", SHORT)
    assert snatsim.simulate(healthy, rng=1).summary()["warnings"] == []


def test_load_scenario_says_overrides_are_strings() -> None:
    with pytest.raises(TypeError, match=r"'section\.key=value' strings.*not 8"):
        snatsim.load_scenario(CONFIG, ["kernel.version=5.4", 8])  # type: ignore[list-item]
