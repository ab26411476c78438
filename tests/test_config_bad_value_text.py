"""A bad config value is named as TOML would write it, and source_port's bounds are 1 and 65535.

``show_value`` writes the ``(value: ...)`` part of every config error message.
"""

from __future__ import annotations

from typing import Any

import pytest
from des_scripts import once, scenario

from snatsim.config import ScenarioError
from snatsim.config_limits import show_count
from snatsim.config_workload import show_value


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (True, "true"),
        (False, "false"),
        ('say "hi"', '"say \\"hi\\""'),
        (3, "3"),
        (1.5, "1.5"),
        ([1] * 20, repr([1] * 20)),  # 60 characters: kept whole
        ([1] * 19 + [10], repr([1] * 20)[:57] + "..."),  # 61 characters: cut to 60
    ],
)
def test_show_value_writes_toml_literals_and_cuts_at_60_characters(value: Any, shown: str) -> None:
    assert show_value(value) == shown
    assert len(show_value(value)) <= 60 or isinstance(value, str)


@pytest.mark.parametrize("port", [1, 65535])
def test_source_port_accepts_both_ends_of_the_port_range(port: int) -> None:
    assert scenario(once("w", source_port=port)).workload[0].source_port == port


@pytest.mark.parametrize(("port", "shown"), [(0, "0"), (65536, "65536"), (True, "true")])
def test_source_port_outside_1_to_65535_is_refused_with_the_range(port: Any, shown: str) -> None:
    with pytest.raises(ScenarioError) as info:
        scenario(once("w", source_port=port))
    assert str(info.value) == (
        'workload.0.source_port: expected "ephemeral" or a fixed port number 1-65535 '
        f"(value: {shown})"
    )


@pytest.mark.parametrize(
    ("count", "shown"), [(72_000.4, "72,000"), (999_999_999_999_999.0, "999,999,999,999,999"),
                         (1e15, "1e+15"), (3e302, "3e+302")],
)
def test_show_count_writes_digits_below_1e15_and_two_significant_figures_from_there(
    count: float, shown: str
) -> None:
    assert show_count(count) == shown
