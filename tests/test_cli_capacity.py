"""``snatsim capacity``: bad input is one line and exit 2 before anything runs; an answer per
kernel, as text and JSON (a real process for the end-to-end case)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from snatsim.cli import main

SMALL = """\
[simulation]
duration_s = 600.0
warmup_s = 120.0
seed = 3

[kernel]
version = "5.4"

[nat]
target = "masquerade"
to_ports = "20000-20063"

[[workload]]
name = "uploader"
pods = 4
arrival = "poisson"
rate_per_s = 0.5
destinations = ["203.0.113.40:443"]
hold_s = 0.5
close = "fin"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


@pytest.mark.parametrize(("args", "expect"), [
    (["--vary", "workload.0.pods"], "error: --vary: 'workload.0.pods' cannot be varied; use one of"),
    (["--max-delayed", "0"], "error: --max-delayed: 0 is not a fraction in (0, 1)"),
    (["--max-delayed", "1.5"], "error: --max-delayed: 1.5 is not a fraction in (0, 1)"),
    (["--kernel", "6.1", "--kernel", "99.1"], "99.1"),
    (["--engine", "gpu"], "error: --engine: 'gpu' is not an engine"),
    (["--set", "workload.0.rate_per_s=-1"], "workload.0.rate_per_s"),
    (["--engine", "des", "--trials", "1000"], "error: --trials: sets the Monte Carlo engine's"),
    (["--engine", "mc", "--connects", "1000"], "error: --connects: sets the SimPy model's"),
    (["--max-connects", "0"], "'--max-connects'"),
    (["--max-evaluations", "0"], "'--max-evaluations'"),
    (["--budget-s", "0"], "'--budget-s'"),
])
def test_bad_input_is_one_line_and_exit_2_before_any_evaluation(
    config: Path, args: list[str], expect: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["capacity", str(config), *args])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: ")
    assert expect in captured.err
    assert "Traceback" not in captured.err and "kernel" not in captured.err.split(":")[0]


def test_end_to_end_json_answer_per_kernel(config: Path) -> None:
    # 64 ports, 120.5 s held: exhaustion binds near 64 / 120.5 = 0.53/s on both kernels
    done = subprocess.run(
        [sys.executable, "-m", "snatsim.cli", "capacity", str(config), "--max-delayed", "0.02",
         "--kernel", "5.4", "--kernel", "4.14", "--engine", "des", "--connects", "2000",
         "--json"], capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)["answers"]
    assert [a["kernel"] for a in answers] == ["5.4", "4.14"]
    for a in answers:
        assert a["status"] == "found" and a["binding_cause"] == "exhaustion"
        assert 0.2 < a["value"] < a["interval"][1] < 1.0
        assert a["exhaustion_bound"] is not None and a["value"] < a["exhaustion_bound"] * 1.5
        assert a["method"] == "des" and a["seed"] == 3
    assert "kernel 5.4:" in done.stderr and "delayed" in done.stderr


def test_a_search_stopped_by_its_budget_answers_with_what_it_has(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def capacity(*args: str) -> None:
        with pytest.raises(SystemExit) as info:
            main(["capacity", str(config), "--max-delayed", "0.02", "--engine", "des",
                  "--connects", "500", "--max-evaluations", "2", *args])
        assert info.value.code == 0  # an answer, though not a settled one: status says so

    capacity("--json")
    captured = capsys.readouterr()
    (answer,) = json.loads(captured.out)["answers"]
    assert answer["status"] == "budget" and len(answer["points"]) == 2
    assert answer["stopped"]["option"] == "--max-evaluations"
    assert answer["spent"]["evaluations"] == 2 and answer["spent"]["connects"] > 0
    assert "raise --max-evaluations" in answer["message"]
    assert all(p["method"] == "des" for p in answer["points"])
    assert captured.err.count("(des)") == 2  # each evaluation's engine, as it is made
    capacity()
    text = capsys.readouterr().out
    assert text.startswith("kernel 5.4 (des): stopped by the budget") and text.count("\n") == 1
