"""Upper limits of the scenario values that cost memory or time, and why each is there.

The fields use these as ``Field(le=...)`` bounds; :data:`LIMIT_HINTS` gives the reason shown with
an error, and :func:`check_totals` checks the sums over all workloads. Each limit is a size no real
node or sensible run reaches, chosen so that a mistake (a unit slip, an extra digit) is refused
before it builds a billion objects or runs for days.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = [
    "LIMIT_HINTS",
    "MAX_BURST_SIZE",
    "MAX_CLIENTS",
    "MAX_CONNTRACK",
    "MAX_CPUS",
    "MAX_DURATION_S",
    "MAX_EXPECTED_CONNECTIONS",
    "MAX_NAT_TO_CONFIRM_US",
    "MAX_PODS",
    "MAX_REQUESTS_PER_CONNECTION",
    "MAX_RESOLVER_ATTEMPTS",
    "MAX_WEIGHT",
    "check_totals",
    "show_count",
]

MAX_DURATION_S = 7 * 86_400.0
MAX_EXPECTED_CONNECTIONS = 10_000_000  # ~10 min at ~20,000 connections per wall-second (benchmarks/)
MAX_CPUS = 8192  # NR_CPUS of the largest kernel builds (CONFIG_MAXSMP)
MAX_CONNTRACK = 2**31 - 1  # nf_conntrack_max is an int sysctl
MAX_NAT_TO_CONFIRM_US = 1e6  # the race window is µs; a mean above 1 s is a unit mistake
MAX_PODS = 64_000  # pod addresses 10.244.0.2-10.244.255.251, see snatsim.des.setup.pod_ip
MAX_CLIENTS = 1_000_000  # one client object (and for periodic/closed-loop one process) each
MAX_REQUESTS_PER_CONNECTION = 10_000  # one hold-time draw per request
MAX_BURST_SIZE = 1_000_000  # connections opened at the same instant
MAX_RESOLVER_ATTEMPTS = 5  # glibc's RES_MAXRETRY
MAX_WEIGHT = 1e9  # weights are relative; huge ones add up to inf and every share to 0

LIMIT_HINTS = {
    "simulation.duration_s": "a run simulates at most 7 days: split a longer period into several "
    "runs with different seeds (each with its own warm-up; snatsim.replicate or --seed) and "
    "add up their counts",
    "node.cpus": "the largest kernel builds (NR_CPUS with CONFIG_MAXSMP) have 8,192",
    "conntrack.max": "nf_conntrack_max is a 32-bit int sysctl",
    "workload.N.pods": f"the node's pod network 10.244.0.0/16 holds {MAX_PODS:,} pods; use "
    "fewer pods with more clients_per_pod each",
    "workload.N.clients_per_pod": f"the model keeps an object per client and accepts at most "
    f"{MAX_CLIENTS:,} clients in all",
    "workload.N.requests_per_connection": "each request draws its own hold time; for longer-lived "
    "connections raise hold_s instead",
    "workload.N.burst_size": "a burst opens all its connections at the same instant; spread "
    "them over several workloads or shorter burst_interval_s",
    "workload.N.attempts": "glibc's resolver caps options attempts:n at 5 (RES_MAXRETRY)",
    "workload.N.destinations.N.weight": "weights are relative: 1 and 3 give 25 % and 75 %",
}
"""Why each upper limit is there (dotted field, list indices as ``N``), shown with the error."""


class _Workload(Protocol):
    @property
    def pods(self) -> int: ...

    @property
    def clients(self) -> int: ...

    def mean_rate_per_s(self) -> float | None: ...


def show_count(x: float) -> str:
    """An expected count for a message: ``72,000``, or ``3e+302`` when it is absurd."""
    return f"{x:,.0f}" if x < 1e15 else f"{x:.2g}"


def check_totals(workloads: Sequence[_Workload], duration_s: float | None) -> None:
    """Raise ValueError (with the fix) when all workloads together exceed a limit: expected
    connections over ``duration_s`` (closed-loop rates depend on latency and are not counted),
    pods, clients."""
    if duration_s is not None:
        rates = [r for r in (w.mean_rate_per_s() for w in workloads) if r is not None]
        expected = sum(rates) * duration_s
        if expected > MAX_EXPECTED_CONNECTIONS:
            raise ValueError(
                f"~{show_count(expected)} connections expected over simulation.duration_s = "
                f"{duration_s:g}; the SimPy model simulates ~20,000 a second of wall time and "
                f"accepts at most {MAX_EXPECTED_CONNECTIONS:,} (~10 minutes): shorten "
                "simulation.duration_s, lower the rates, or split the period into several "
                "seeded runs"
            )
    pods = sum(w.pods for w in workloads)
    if pods > MAX_PODS:
        raise ValueError(
            f"{pods:,} pods in all; the node's pod network 10.244.0.0/16 holds {MAX_PODS:,} "
            "(250 addresses per /24): use fewer pods with more clients_per_pod each"
        )
    clients = sum(w.clients for w in workloads)
    if clients > MAX_CLIENTS:
        raise ValueError(
            f"{clients:,} clients in all (pods × clients_per_pod); the model keeps an object "
            f"per client and accepts at most {MAX_CLIENTS:,}: fewer clients, each busier"
        )
