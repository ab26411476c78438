"""Errors survive pickling (sweeps run points in worker processes and send failures back)."""

from __future__ import annotations

import pickle

import pytest

from snatsim.config import ScenarioError, load_scenario
from snatsim.des.setup import PortInUseError
from snatsim.errors import ConfigError, KernelVersionError, SnatsimError
from snatsim.kernel.client_port import PortExhaustedError

ERRORS: list[SnatsimError] = [
    ConfigError("nat.to_ports", "bad range; use A-B"),
    KernelVersionError("kernel.version", "unknown version"),
    ScenarioError("workload.0.pods", "2 invalid settings", [("a", "x"), ("b", "y")]),
    PortExhaustedError("10.244.0.2", "203.0.113.10", 443, 32768, 60999),
    PortInUseError("10.244.0.2", 40000, "203.0.113.10:443"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_pickle_round_trip(error: SnatsimError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__dict__ == error.__dict__


def test_a_real_validation_error_pickles() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario("configs/default.toml", ["node.cpus=0", "workload.0.pods=-1"])
    copy = pickle.loads(pickle.dumps(info.value))
    assert copy.problems == info.value.problems and len(copy.problems) == 2
    assert str(copy) == str(info.value)


def test_port_in_use_names_the_socket_and_the_errno() -> None:
    error = PortInUseError("10.244.0.2", 40000, "203.0.113.10:443")
    assert str(error) == "10.244.0.2:40000 -> 203.0.113.10:443 is still open (EADDRINUSE)"
