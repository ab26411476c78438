"""Every named scenario in configs/ loads, validates, round-trips and stays small enough to run."""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path

import pytest

from snatsim.config import Scenario, WorkloadConfig, load_scenario

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
FILES = sorted(CONFIGS.glob("*.toml"))
DOC_NETS = [ipaddress.IPv4Network(n) for n in ("203.0.113.0/24", "198.51.100.0/24")]


def test_the_named_scenarios_exist() -> None:
    names = {p.name for p in FILES}
    assert {
        "default.toml",
        "legacy-rover.toml",
        "legacy-random-fully.toml",
        "kernel-6.18.toml",
        "to-ports-restricted.toml",
        "keepalive-pool.toml",
        "dns-udp.toml",
    } <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_loads_and_round_trips(path: Path) -> None:
    s = load_scenario(path)
    assert Scenario.from_dict(s.to_dict()) == s
    assert Scenario.from_dict(tomllib.loads(s.to_toml())) == s


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_header_says_what_and_how_to_run(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith(f"# {path.name}")
    header = [line for line in lines if line.startswith("#")]
    assert f"# Run: snatsim run configs/{path.name}" in header


def expected_connections(w: WorkloadConfig, measured_s: float) -> float:
    rate = w.mean_rate_per_s()
    if rate is None:  # closed loop: one connection per (requests x hold + think) per client
        cycle = w.requests_per_connection * w.hold_s.mean + w.think_time_s.mean
        rate = w.clients / cycle
    return rate * measured_s


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_small_enough_and_documentation_addresses(path: Path) -> None:
    s = load_scenario(path)
    total = sum(expected_connections(w, s.simulation.duration_s) for w in s.workload)
    assert 100 <= total <= 200_000
    for w in s.workload:
        for d in w.destinations:
            assert any(ipaddress.IPv4Address(d.ip) in net for net in DOC_NETS), d.address


def test_the_pairs_differ_only_where_they_should() -> None:
    base = load_scenario(CONFIGS / "default.toml").to_dict()
    newer = load_scenario(CONFIGS / "kernel-6.18.toml").to_dict()
    assert base["kernel"]["version"] == "6.1" and newer["kernel"]["version"] == "6.18"
    newer["kernel"] = base["kernel"]
    assert newer == base
    rover = load_scenario(CONFIGS / "legacy-rover.toml").to_dict()
    fully = load_scenario(CONFIGS / "legacy-random-fully.toml").to_dict()
    assert rover["nat"]["random_fully"] is False and fully["nat"]["random_fully"] is True
    fully["nat"]["random_fully"] = False
    assert fully == rover
