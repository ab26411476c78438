"""The tiny deterministic scripts behind ``snatsim explain``: one per cause of a lost SYN.

Each script is a real :class:`~snatsim.config.Scenario` run through the SimPy model: two pods on a
two-CPU node (``steering = "client"``: pod 0's flows on CPU 0, pod 1's on CPU 1, spec §16.5), one
destination, a fixed RTT and NAT -> confirm window, and clients that connect once at a chosen
instant, so the story is an exact function of kernel, mode, cause and seed.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from snatsim.config import Scenario

__all__ = ["CAUSES", "MITIGATIONS", "MODES", "Cause", "Mode", "build", "describe"]

Cause = Literal["race", "preservation", "eviction", "exhaustion"]
Mode = Literal["default", "random", "random-fully"]
CAUSES: tuple[str, ...] = get_args(Cause)
MODES: tuple[str, ...] = get_args(Mode)

DESTINATION = "203.0.113.10:443"
NODE_IP = "192.0.2.10"
RTT_S = 0.002
WINDOW_US = 2.0  # the NAT -> confirm race window δ (spec §3.2: 0-2 µs observed)
SEED = 2  # seed 2: on 6.5+ the eviction script evicts (seed 1: the sequence test refuses)
SHARED_PORT = 40000  # the pods' bound source port in the preservation script
SMALL_WINDOW = "20000-20099"  # race: a --to-ports window the pods' ports lie outside of
TINY_WINDOW = "20000-20001"  # eviction / exhaustion: two ports, filled by two holders
WIDER_WINDOW = "20000-20003"  # the mitigation of a full window: two more ports

_WHAT = {
    "race": "two pods connect at the same instant on two CPUs; --to-ports "
    f"{SMALL_WINDOW} lies outside their ephemeral ports, so NAT must search (spec §4.2 step 4)",
    "preservation": f"two pods bind the same source port {SHARED_PORT} and connect at the same "
    "instant on two CPUs; NAT tries to keep the pod's port (spec §4.2 step 3)",
    "eviction": f"two connections (at 0 and 10 ms) fill --to-ports {TINY_WINDOW} and close with "
    "FIN at about 0.1 s (TIME_WAIT, 120 s); at 0.5 s a third pod's SYN needs a port (spec §5.3)",
    "exhaustion": f"two ESTABLISHED connections (at 0 and 10 ms) hold --to-ports {TINY_WINDOW} "
    "until about 2.2 s (then RST: CLOSE for 0.1 s); at 0.5 s a third pod's SYN needs a port "
    "(spec §16.1)",
}


def _once(name: str, pods: int, at_s: float, **fields: Any) -> dict[str, Any]:
    """A workload whose every client connects exactly once, at ``at_s`` (no noise)."""
    return {"name": name, "pods": pods, "arrival": "periodic", "period_s": 1000.0,
            "align_phase": True, "jitter_s": at_s, "destinations": [DESTINATION],
            "hold_s": 100.0, **fields}


def _holders(**fields: Any) -> list[dict[str, Any]]:
    """Two holders, 10 ms apart so they never race each other, and a late pod at 0.5 s."""
    return [_once("holder-a", 1, 0.0, **fields), _once("holder-b", 1, 0.01, **fields),
            _once("late", 1, 0.5)]


def describe(cause: str) -> str:
    """One line: what the script for ``cause`` does."""
    return _WHAT[cause]


# cause -> the mitigations replayed after the story: (label, changes to build()'s arguments)
MITIGATIONS: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "race": (("--random-fully", {"mode": "random-fully"}), ("one CPU", {"cpus": 1})),
    "preservation": (("--random-fully", {"mode": "random-fully"}), ("one CPU", {"cpus": 1})),
    "eviction": (("a wider window " + WIDER_WINDOW, {"window": WIDER_WINDOW}),),
    "exhaustion": (("a wider window " + WIDER_WINDOW, {"window": WIDER_WINDOW}),),
}


def build(kernel: str, mode: str, cause: str, seed: int = SEED, *, cpus: int = 2,
          window: str | None = None) -> Scenario:
    """The scenario for ``cause`` on ``kernel`` with the rule's ``mode`` flags (spec §4.1).

    ``cpus`` and ``window`` (a ``--to-ports`` range replacing the script's) are the knobs the
    mitigations turn (:data:`MITIGATIONS`).
    """
    nat: dict[str, Any] = {"target": "masquerade", "random": mode == "random",
                           "random_fully": mode == "random-fully"}
    conntrack: dict[str, Any] = {}
    duration_s = 3.0
    if cause == "race":
        workloads = [_once("pair", 2, 0.0, hold_s=10.0)]
        nat["to_ports"] = SMALL_WINDOW
    elif cause == "preservation":
        workloads = [_once("pair", 2, 0.0, hold_s=10.0, source_port=SHARED_PORT)]
    elif cause == "eviction":
        workloads = _holders(hold_s=0.1, close="fin")
        nat["to_ports"] = TINY_WINDOW
    else:
        workloads = _holders(hold_s=2.2, close="rst")
        nat["to_ports"] = TINY_WINDOW
        conntrack["tcp_timeout_close_s"] = 0.1
        duration_s = 5.0
    d: dict[str, Any] = {
        "simulation": {"duration_s": duration_s, "warmup_s": 0.0, "seed": seed, "drain": False},
        "kernel": {"version": kernel},
        "node": {"ip": NODE_IP, "cpus": cpus, "steering": "client", "nat_to_confirm_us": WINDOW_US},
        "network": {"rtt_s": RTT_S},
        "nat": nat,
        "workload": workloads,
    }
    if window is not None:
        nat["to_ports"] = window
    if conntrack:
        d["conntrack"] = conntrack
    return Scenario.from_dict(d)
