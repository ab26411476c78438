"""A load the port window cannot hold is announced before the run (Little's law, spec §4.4): what
it needs, what the window holds, and what the run's NAT era will do about it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import snatsim.results
from snatsim.analytic.window_load import window_loads, window_warnings
from snatsim.cli import app
from snatsim.config import load_scenario
from snatsim.errors import SnatsimError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
DEFAULT = CONFIGS / "default.toml"
README_EXAMPLE = ["kernel.version=4.19", "workload.0.rate_per_s=600"]


def test_window_load_warns_at_600_per_s_not_at_300() -> None:
    busy = load_scenario(DEFAULT, ["workload.0.rate_per_s=600"])
    (load,) = window_loads(busy)
    # hold: lognormal mean 0.2 s open, then 120 s TIME_WAIT; window 1024-65535
    assert (load.nat_ip, load.destination, load.window) == ("192.0.2.10", "203.0.113.10:443",
                                                           64512)
    assert load.ports == 600 * (0.2 + 120.0)
    (warning,) = window_warnings(busy)
    assert "workload.0 to 203.0.113.10:443 needs ~72,120 ports" in warning
    assert "64,512" in warning and "120 s TIME_WAIT" in warning
    assert window_warnings(load_scenario(DEFAULT, ["workload.0.rate_per_s=300"])) == []


@pytest.mark.parametrize(("version", "says"), [
    ("4.19", "every search walks all 64,512 ports (found +64,511; simulated without"),
    ("5.4", "searches give up after 248 probes: SYNs drop at confirm"),
    ("6.6", "searches evict TIME_WAIT entries (6.5+) or give up after 248 probes"),
])
def test_the_warning_says_what_the_era_does_with_an_exhausted_window(version: str,
                                                                     says: str) -> None:
    scenario = load_scenario(DEFAULT, ["workload.0.rate_per_s=600", f"kernel.version={version}"])
    (warning,) = window_warnings(scenario)
    assert says in warning
    assert "SYNs drop at confirm" in warning


def test_udp_warning_speaks_of_packets_and_clashes() -> None:
    scenario = load_scenario(CONFIGS / "dns-udp.toml", ["nat.to_ports=20000-20255"])
    (warning,) = window_warnings(scenario)
    assert "holds 256" in warning and "UDP stream timeout" in warning
    assert "248 probes: packets clash at confirm" in warning and "SYN" not in warning


def test_snatsim_run_warns_before_it_simulates(monkeypatch: pytest.MonkeyPatch) -> None:
    """The warning is on stderr before simulate() is called: a simulate that fails at once
    still leaves the warning, ahead of its error line."""

    def failing_simulate(*args: object, **kwargs: object) -> None:
        raise SnatsimError("simulate was called")

    monkeypatch.setattr(snatsim.results, "simulate", failing_simulate)
    overrides = [arg for o in README_EXAMPLE for arg in ("--set", o)]
    result = CliRunner().invoke(app, ["run", str(DEFAULT), *overrides], env={"COLUMNS": "400"})
    assert result.exit_code == 2
    err = result.stderr
    assert "warning: workload.0 to 203.0.113.10:443 needs ~72,120 ports" in err
    assert "every search walks all 64,512 ports" in err
    assert err.index("warning:") < err.index("error: simulate was called")


def test_snatsim_run_does_not_warn_when_the_window_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_simulate(*args: object, **kwargs: object) -> None:
        raise SnatsimError("simulate was called")

    monkeypatch.setattr(snatsim.results, "simulate", failing_simulate)
    result = CliRunner().invoke(app, ["run", str(DEFAULT)])
    assert result.exit_code == 2
    assert "warning" not in result.stderr and "error: simulate was called" in result.stderr
