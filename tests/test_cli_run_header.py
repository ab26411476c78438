"""``snatsim run``'s human output identifies the run and speaks the workload's protocol."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from snatsim.cli import app

runner = CliRunner()
CONFIGS = Path(__file__).resolve().parent.parent / "configs"
SHORT = ["--set", "simulation.duration_s=3", "--set", "simulation.warmup_s=1"]
WIDE = {"COLUMNS": "200"}


def human(config: str, *args: str) -> str:
    result = runner.invoke(app, ["run", str(CONFIGS / config), *SHORT, *args], env=WIDE)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_header_names_the_rule_flags_ports_steering_and_seed() -> None:
    out = human("to-ports-restricted.toml", "--set", "nat.random_fully=true", "--seed", "9")
    header = out.splitlines()[1]
    assert "--random-fully" in header and "--to-ports" in header
    assert re.search(r"\d+ CPUs, [a-z-]+ steering", header) and "seed 9" in header


def test_an_unseeded_run_prints_the_entropy_that_reproduces_it() -> None:
    out = human("default.toml", "--set", "simulation.seed=null")
    assert re.search(r"unseeded: rerun with --seed \d+", out), out
    args = ["run", str(CONFIGS / "default.toml"), *SHORT, "--set", "simulation.seed=null"]
    unseeded = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    entropy = unseeded["provenance"]["entropy"]
    rerun = json.loads(runner.invoke(app, [*args, "--seed", entropy, "--json"]).stdout)
    for summary in (unseeded, rerun):
        summary.pop("provenance")
    assert rerun == unseeded




def test_an_exhausted_window_is_warned_about_before_the_tables() -> None:
    out = human("default.toml", "--set", "kernel.version=4.19", "--set",
                "workload.0.rate_per_s=600")
    assert "warning:" in out and "64,512" in out
    assert out.index("warning:") < out.index("conntrack -S")


def test_a_distribution_kernel_is_said_to_be_resolved_as_mainline() -> None:
    out = " ".join(human("default.toml", "--set", "kernel.version=5.15.0-91-generic").split())
    assert "warning: kernel 5.15.0-91-generic is resolved as mainline 5.15.0" in out
    assert "(eras A2 C4 P2 T1)" in out and "kernel.nat_era" in out and "kernel.syn_era" in out


def test_a_kernel_newer_than_the_newest_known_warns_in_the_human_output() -> None:
    out = " ".join(human("default.toml", "--set", "kernel.version=6.99").split())
    assert "warning: kernel 6.99 is newer than 6.18" in out and "6.18 eras" in out
    assert "warning: kernel" not in " ".join(human("default.toml").split())
