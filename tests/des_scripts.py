"""Builders for scripted DES scenarios and compact views of their traces (not a test module).

A scripted scenario makes every timing decision exact: fixed RTT, fixed NAT -> confirm window δ,
and workloads whose clients each connect once at a chosen instant (an aligned periodic ticker with
a long period and a *fixed* jitter), so the event log can be asserted line by line.
"""

from __future__ import annotations

from typing import Any

from snatsim.config import Scenario
from snatsim.des import Trace
from snatsim.results import SimulationResult, simulate

DST = "203.0.113.10:443"
RTT_S = 0.002
WINDOW_US = 2.0
WINDOW_S = WINDOW_US * 1e-6


def once(name: str = "w", pods: int = 1, *, at_s: float = 0.0, **fields: Any) -> dict[str, Any]:
    """A workload whose every client connects exactly once, at ``at_s`` (cron-like, no noise)."""
    w: dict[str, Any] = {
        "name": name,
        "pods": pods,
        "arrival": "periodic",
        "period_s": 1000.0,
        "align_phase": True,
        "jitter_s": at_s,
        "destinations": [DST],
    }
    if fields.get("protocol", "tcp") == "tcp":
        w["hold_s"] = 100.0  # still open at the end of every script unless a test says otherwise
    w.update(fields)
    return w


def scenario(
    *workloads: dict[str, Any],
    kernel: str = "6.18",
    cpus: int = 2,
    duration_s: float = 3.0,
    seed: int = 1,
    **sections: dict[str, Any],
) -> Scenario:
    """A small valid scenario: fixed rtt and window, no warm-up; ``sections`` merge into the dict."""
    d: dict[str, Any] = {
        # no drain: a script's log ends at duration_s (tests/test_des_drain.py covers the drain)
        "simulation": {"duration_s": duration_s, "warmup_s": 0.0, "seed": seed, "drain": False},
        "kernel": {"version": kernel},
        "node": {"cpus": cpus, "nat_to_confirm_us": WINDOW_US},
        "network": {"rtt_s": RTT_S},
        "workload": list(workloads),
    }
    for section, values in sections.items():
        d.setdefault(section, {}).update(values)
    return Scenario.from_dict(d)


def run(s: Scenario) -> tuple[SimulationResult, list[dict[str, Any]]]:
    """Simulate ``s`` with an in-memory trace; return the result and the trace records."""
    trace = Trace(keep=True)
    return simulate(s, trace=trace, rows="all"), trace.records


def when(t_s: float) -> float:
    """A time as :func:`steps` reports it (rounded to 0.1 µs, so sums like 0.5 + δ compare)."""
    return round(t_s, 7)


def steps(records: list[dict[str, Any]], *only: str) -> list[tuple[float, int, str, int | None]]:
    """``[(t_s to 0.1 µs, flow, step, port), ...]``, optionally only the given steps."""
    return [
        (when(r["t_s"]), r["flow"], r["step"], r["port"])
        for r in records
        if not only or r["step"] in only
    ]


def of_flow(records: list[dict[str, Any]], flow: int, step: str) -> list[dict[str, Any]]:
    """The records of one flow at one step."""
    return [r for r in records if r["flow"] == flow and r["step"] == step]


def latencies(result: SimulationResult) -> dict[int, float | None]:
    """Connection id -> connect() latency (None when it never got established)."""
    frame = result.to_frame()
    return {
        int(i): (None if lat != lat else float(lat))  # NaN -> None
        for i, lat in zip(frame["id"], frame["latency_s"], strict=True)
    }
