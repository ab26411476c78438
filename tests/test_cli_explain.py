"""``snatsim explain`` on the command line: the timeline, ``--json`` and the swimlane figure.

The bad inputs (unknown kernel, mode, cause; bad figure paths) are in ``tests/bad_inputs.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from snatsim.cli import app
from snatsim.explain import explain
from snatsim.plotting.swimlane import BREAK_W, POINT_W, SEGMENT_W, TimeAxis

runner = CliRunner()


def story_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["explain", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def kinds(data: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in data["events"]]


def test_json_gives_the_same_events_as_the_library() -> None:
    data = story_json("--kernel", "4.14")
    assert data["events"] == json.loads(json.dumps(explain("4.14").to_dict()["events"]))
    assert {"time_s", "cpu", "flow", "kind", "port", "text"} <= set(data["events"][0])
    assert (data["kernel"], data["mode"], data["cause"], data["possible"]) == (
        "4.14", "default", "race", True)


def test_json_4_14_shows_a_clash_and_a_one_second_retransmit() -> None:
    data = story_json("--kernel", "4.14")
    assert kinds(data).count("clash") == 1
    (retry,) = [e for e in data["events"] if e["kind"] == "retransmit"]
    assert retry["after_s"] == pytest.approx(1.0)


def test_json_random_fully_shows_none() -> None:
    data = story_json("--kernel", "4.14", "--mode", "random-fully")
    assert "clash" not in kinds(data) and "retransmit" not in kinds(data)


def test_json_6_18_eviction_shows_an_eviction() -> None:
    data = story_json("--kernel", "6.18", "--cause", "eviction")
    assert any(e.get("evicted") for e in data["events"])


def test_5_4_eviction_exits_0_and_says_it_cannot() -> None:
    data = story_json("--kernel", "5.4", "--cause", "eviction")
    assert data["possible"] is False and "A3" in data["why_not"]
    result = runner.invoke(app, ["explain", "--kernel", "5.4", "--cause", "eviction"])
    assert result.exit_code == 0, result.output
    assert "cannot show eviction" in result.stdout


def test_terminal_timeline_lists_every_event_with_its_time_and_kind() -> None:
    result = runner.invoke(app, ["explain", "--kernel", "4.14"])
    assert result.exit_code == 0, result.output
    story = explain("4.14")
    out = result.stdout
    heads = [line.split() for line in out.splitlines() if re.match(r" *\d+\.\d{6} s  CPU", line)]
    assert [(h[0], h[3], h[5], h[6]) for h in heads] == [  # time, CPU, flow, kind
        (f"{e['time_s']:.6f}", str(e["cpu"]), str(e["flow"]), e["kind"]) for e in story.events]
    assert "What the applications saw" in out and "1.002002 s" in out


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_figure_is_a_valid_non_blank_image(fmt: str, tmp_path: Path) -> None:
    target = tmp_path / f"race.{fmt}"
    result = runner.invoke(app, ["explain", "--kernel", "4.14", f"--{fmt}", str(target)])
    assert result.exit_code == 0, result.output
    assert str(target) in result.stdout
    if fmt == "png":
        from matplotlib.image import imread

        pixels = imread(target)
        assert pixels.shape[0] > 300 and pixels.shape[1] > 600
        assert float(pixels[..., :3].std()) > 0.05  # not a blank canvas
    else:
        root = ET.parse(target).getroot()
        assert root.tag.endswith("svg")
        assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 50


def test_figure_replaces_an_existing_file_only_with_force(tmp_path: Path) -> None:
    target = tmp_path / "race.svg"
    target.write_text("old")
    result = runner.invoke(app, ["explain", "--svg", str(target), "--force"])
    assert result.exit_code == 0, result.output
    assert ET.parse(target).getroot().tag.endswith("svg")


def test_figure_draws_one_lane_per_cpu_and_the_table_and_marks_the_clash() -> None:
    from snatsim.plotting.swimlane import swimlane

    fig = swimlane(explain("4.14"))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["CPU 0", "CPU 1", "conntrack table"]
    assert "4.14" in ax.get_title() and "default" in ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "clash at confirm: SYN dropped" in legend
    mitigated = swimlane(explain("4.14", "random-fully")).axes[0]
    assert "clash at confirm: SYN dropped" not in [  # the same figure with --random-fully
        t.get_text() for t in mitigated.get_legend().get_texts()]


def test_broken_time_axis_keeps_microseconds_and_seconds_apart() -> None:
    """Events within 50 µs share a segment (drawn in µs); longer gaps are cut out."""
    axis = TimeAxis([0.0, 2e-6, 0.002002, 1.0, 1.000002])
    assert [(a, b) for a, b, _ in axis.segments] == [
        (0.0, 2e-6), (0.002002, 0.002002), (1.0, 1.000002)]
    assert axis.x(2e-6) - axis.x(0.0) == pytest.approx(0.8 * SEGMENT_W)
    assert axis.segments[1][2] == pytest.approx(SEGMENT_W + BREAK_W)
    assert axis.segments[2][2] == pytest.approx(SEGMENT_W + POINT_W + 2 * BREAK_W)
    with pytest.raises(ValueError, match="not on this axis"):
        axis.x(0.5)


def test_explain_in_a_real_process() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "snatsim.cli", "explain", "--kernel", "4.14", "--json"],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "clash" in [e["kind"] for e in json.loads(out.stdout)["events"]]


def test_docs_name_every_json_field() -> None:
    """docs/explain.md lists the top-level keys and each nat/clash event key of ``--json``."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "explain.md").read_text(encoding="utf-8")
    data = story_json("--kernel", "4.14")
    nat = next(e for e in data["events"] if e["kind"] == "nat")
    clash = next(e for e in data["events"] if e["kind"] == "clash")
    for key in [*data, *nat, *clash]:
        assert f"`{key}`" in doc, key


def test_cli_choices_and_default_seed_match_the_library() -> None:
    import inspect

    import snatsim.cli.explain as cli
    from snatsim.explain import scenario

    assert (cli.MODES, cli.CAUSES) == (scenario.MODES, scenario.CAUSES)
    assert inspect.signature(cli.explain).parameters["seed"].default == scenario.SEED
