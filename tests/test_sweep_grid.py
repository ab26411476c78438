"""Sweep grids: VALUES specs, ranges, zipped axes and sweep files (snatsim.sweep.grid)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from snatsim.errors import ConfigError
from snatsim.sweep.columns import flatten_summary, resolved_value
from snatsim.sweep.grid import GridError, parse_grid, parse_values


def test_a_list_splits_on_top_level_commas_only() -> None:
    key, values = parse_values('nat.to_source=["10.0.0.1", "10.0.0.2"],["10.0.0.3"], null')
    assert key == "nat.to_source"
    assert values == ['["10.0.0.1", "10.0.0.2"]', '["10.0.0.3"]', "null"]
    assert parse_values("kernel.version=4.14,5.4,6.1")[1] == ["4.14", "5.4", "6.1"]
    assert parse_values('x={distribution = "fixed", value = 2.0},1')[1] == [
        '{distribution = "fixed", value = 2.0}', "1"]


def test_integer_ranges_round_and_drop_repeats() -> None:
    assert parse_values("workload.0.pods=1..100:log:5")[1] == ["1", "3", "10", "32", "100"]
    assert parse_values("workload.0.pods=1..3:lin:5")[1] == ["1", "2", "3"]  # 1, 1.5->2, 2, 2.5->2
    assert parse_values("a=10..10000:log:4")[1] == ["10", "100", "1000", "10000"]


def test_float_ranges_keep_both_ends_exactly() -> None:
    values = [float(v) for v in parse_values("a=0.1..0.7:lin:4")[1]]
    assert values == pytest.approx([0.1, 0.3, 0.5, 0.7], abs=1e-15)
    assert values[0] == 0.1 and values[-1] == 0.7
    log = [float(v) for v in parse_values("a=1e-3..1e-1:log:3")[1]]
    assert log == pytest.approx([1e-3, 1e-2, 1e-1], rel=1e-12)
    assert parse_values("a=2.5..2.5:lin:1")[1] == ["2.5"]


@pytest.mark.parametrize(("spec", "message"), [
    ("nat.random_fully", "expected KEY=VALUES"),
    ("=1,2", "expected KEY=VALUES"),
    ("a..b=1", "not a dotted key"),
    ("nat.random_fully=", "no values"),
    ("a=1,,2", "empty value"),
    ("a=1..10:lin:0", "empty (0 steps)"),
    ("a=5..5:lin:3", "both ends are 5"),
    ("a=1..10:lin:1", "one step cannot reach both ends"),
    ("a=0..10:log:3", "both ends > 0"),
    ("a=1..10:cubic:3", "unknown step 'cubic'"),
    ("a=1..x:lin:3", "end 'x' is not a number"),
    ("a=1..10:lin:3.5", "not a whole number"),
    ("a=1..10", "malformed range"),
    ("a=1..10:lin:1000000", "more than the 100,000 points"),
])
def test_malformed_specs_name_the_spec_and_the_fix(spec: str, message: str) -> None:
    with pytest.raises(GridError) as err:
        parse_values(spec)
    assert message in str(err.value) and repr(spec) in str(err.value)


def test_points_are_the_product_with_the_first_axis_slowest() -> None:
    grid = parse_grid(["a=1,2", "b=x,y,z"])
    assert grid.keys == ("a", "b") and grid.size() == 6
    assert grid.points() == [("a=1", "b=x"), ("a=1", "b=y"), ("a=1", "b=z"),
                             ("a=2", "b=x"), ("a=2", "b=y"), ("a=2", "b=z")]


def test_zipped_keys_move_together() -> None:
    grid = parse_grid(["a=1,2,3", "c=true,false", "b=x,y,z"], zips=["a,b"])
    assert grid.keys == ("a", "b", "c") and grid.size() == 6
    assert grid.points()[:3] == [("a=1", "b=x", "c=true"), ("a=1", "b=x", "c=false"),
                                 ("a=2", "b=y", "c=true")]


@pytest.mark.parametrize(("specs", "zips", "message"), [
    (["a=1,2", "a=3"], [], "swept twice"),
    (["a=1,2", "b=1,2,3"], ["a,b"], "a has 2, b has 3"),
    (["a=1,2"], ["a,b"], "'b' is not swept"),
    (["a=1,2"], ["a"], "at least two"),
    (["a=1,2", "b=1,2", "c=1,2"], ["a,b", "b,c"], "already in another zip"),
    ([], [], "nothing to sweep"),
    (["a=1..400:lin:400", "b=1..400:lin:400"], [], "160,000 points"),
])
def test_bad_grids(specs: list[str], zips: list[str], message: str) -> None:
    with pytest.raises(GridError, match=message):
        parse_grid(specs, zips)


def test_a_sweep_file_holds_the_same_grid(tmp_path: Path) -> None:
    path = tmp_path / "sweep.toml"
    path.write_text(
        'zip = [["workload.0.rate_per_s", "workload.0.pods"]]\n'
        "[grid]\n"
        '"nat.random_fully" = [false, true]\n'
        'kernel.version = "4.14,6.1"\n'
        'workload.0.rate_per_s = "10..1000:log:3"\n'
        '"workload.0.pods" = [1, 2, 4]\n'
        'nat.to_source = [["10.0.0.1", "10.0.0.2"]]\n',
        encoding="utf-8",
    )
    from_file = parse_grid([], grid_file=path)
    from_flags = parse_grid(
        ["nat.random_fully=false,true", "kernel.version=4.14,6.1",
         "workload.0.rate_per_s=10..1000:log:3", "workload.0.pods=1,2,4",
         'nat.to_source=["10.0.0.1", "10.0.0.2"]'],
        zips=["workload.0.rate_per_s,workload.0.pods"],
    )
    assert from_file == from_flags and from_file.size() == 12


@pytest.mark.parametrize(("text", "message"), [
    ("[grid]\n", "expected a [grid] table"),
    ('[grids]\na = [1]\n', "unknown: grids"),
    ("[grid]\na = []\n", "non-empty list"),
    ("zip = 3\n[grid]\na = [1]\n", "zip must be a list"),
    ("[grid\n", "invalid TOML"),
])
def test_bad_sweep_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sweep.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_grid([], grid_file=path)


def test_summary_columns_name_intervals_lo_and_hi() -> None:
    summary = {
        "delayed_fraction": {"ge_1s": 0.25},
        "delayed_fraction_ci95": {"ge_1s": [0.1, 0.4], "ge_2s": None},
        "delayed_fraction_ci95_assumes": "text",
        "spread": {"mean": 0.2, "se": 0.01, "ci95": [0.18, 0.22]},
        "ports": {"max_in_use": {"tcp a -> b": 7}},
        "warnings": ["w1"],
        "provenance": {"seed": 1},
    }
    assert flatten_summary(summary) == {
        "delayed_fraction.ge_1s": 0.25,
        "delayed_fraction.ge_1s_lo": 0.1, "delayed_fraction.ge_1s_hi": 0.4,
        "delayed_fraction.ge_2s_lo": None, "delayed_fraction.ge_2s_hi": None,
        "spread.mean": 0.2, "spread.se": 0.01, "spread_lo": 0.18, "spread_hi": 0.22,
        "ports.max_in_use.tcp a -> b": 7,
        "warnings": '["w1"]',
    }


def test_resolved_values_follow_indices_and_tables() -> None:
    config = {"nat": {"random_fully": True}, "workload": [{"pods": 3, "hold_s": {"mean": 1}}]}
    assert resolved_value(config, "nat.random_fully") is True
    assert resolved_value(config, "workload.0.pods") == 3
    assert resolved_value(config, "workload.0.hold_s") == '{"mean": 1}'
    assert resolved_value(config, "workload.1.pods") is None
    assert resolved_value(config, "nat.missing") is None
