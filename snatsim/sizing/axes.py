"""The key a capacity search varies (its domain and direction) and the analytic bracket."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from snatsim.errors import ConfigError

if TYPE_CHECKING:
    from snatsim.config import Scenario

VARY_KEYS = ("workload.N.rate_per_s", "nat.to_source", "nat.to_ports",
             "workload.N.requests_per_connection")
_WORKLOAD_KEY = re.compile(r"workload\.(\d+)\.(rate_per_s|requests_per_connection)")
MAX_SNAT_IPS = 1024  # the search's ceiling for nat.to_source (addresses are generated)
FIRST_TO_PORT = 1024  # a generated nat.to_ports range starts here unless the scenario sets one


def replace_values(scenario: Scenario, changes: dict[str, Any]) -> Scenario:
    """``scenario`` with nested ``changes`` ({"nat": {"to_ports": "1024-2047"}}) validated."""
    from snatsim.config import Scenario as ScenarioModel

    def merge(base: Any, new: dict[str, Any]) -> Any:
        for key, value in new.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = value
        return base

    data = scenario.to_dict()
    for key, value in changes.items():
        if key == "workload":
            for index, entry in value.items():
                merge(data["workload"][index], entry)
        else:
            merge(data, {key: value})
    return ScenarioModel.from_dict(data)


@dataclass(frozen=True)
class Axis:
    """One key the search varies: its domain, which way is worse, and how to set it."""

    key: str
    unit: str
    higher_is_worse: bool  # rate: the answer is the largest value meeting the target
    integer: bool
    low: float  # domain
    high: float
    current: float  # the scenario's own value
    set_value: Callable[[Scenario, float], Scenario]

    def safer(self, value: float, factor: float) -> float:
        """``factor`` times safer, clipped to the domain (and rounded for integers)."""
        out = value / factor if self.higher_is_worse else value * factor
        return self.clip(out)

    def riskier(self, value: float, factor: float) -> float:
        """``factor`` times riskier, clipped to the domain."""
        return self.safer(value, 1.0 / factor)

    def clip(self, value: float) -> float:
        """``value`` inside the domain (rounded to an integer on integer axes)."""
        value = min(max(value, self.low), self.high)
        return float(round(value)) if self.integer else value

    def is_safer(self, a: float, b: float) -> bool:
        """``a`` is on the safe side of ``b``."""
        return a < b if self.higher_is_worse else a > b

    def show(self, value: float) -> str:
        """``value`` with its unit, e.g. ``"312/s"``, ``"3 SNAT IPs"``."""
        number = f"{value:,.0f}" if self.integer or value >= 1000 else f"{value:.3g}"
        return f"{number}{self.unit}" if self.unit.startswith("/") else f"{number} {self.unit}"


def axis(scenario: Scenario, vary: str) -> Axis:
    """The :class:`Axis` for ``vary`` (one of :data:`VARY_KEYS`, ``N`` a workload index)."""
    from snatsim.config_limits import MAX_REQUESTS_PER_CONNECTION

    keys = ", ".join(VARY_KEYS)
    if vary == "nat.to_source":
        return _to_source_axis(scenario)
    if vary == "nat.to_ports":
        return _to_ports_axis(scenario)
    match = _WORKLOAD_KEY.fullmatch(vary)
    if match is None:
        raise ConfigError("--vary", f"{vary!r} cannot be varied; use one of {keys} "
                          "(N: a workload index, e.g. workload.0.rate_per_s)")
    index, name = int(match[1]), match[2]
    if index >= len(scenario.workload):
        raise ConfigError("--vary", f"{vary!r}: the scenario has {len(scenario.workload)} "
                          f"workload(s) (indices 0..{len(scenario.workload) - 1})")
    wl = scenario.workload[index]
    if wl.arrival != "poisson" or wl.rate_per_s is None:
        raise ConfigError("--vary", f"{vary!r} needs a poisson workload with rate_per_s; "
                          f"workload.{index} is {wl.arrival}: vary another workload or key")
    rate = wl.rate_per_s
    if name == "rate_per_s":
        return _rate_axis(scenario, vary, index, rate)
    if wl.protocol != "tcp":
        raise ConfigError("--vary", f"{vary!r}: requests_per_connection is a TCP key; "
                          f"workload.{index} is {wl.protocol}")
    requests_per_s = rate * wl.requests_per_connection  # kept: reuse lowers the connect rate

    def set_reuse(sc: Scenario, x: float) -> Scenario:
        return replace_values(sc, {"workload": {index: {"requests_per_connection": int(x),
                                                  "rate_per_s": requests_per_s / x}}})

    return Axis(vary, "requests per connection", False, True, 1, MAX_REQUESTS_PER_CONNECTION,
                wl.requests_per_connection, set_reuse)


def _rate_axis(scenario: Scenario, vary: str, index: int, rate: float) -> Axis:
    """A Poisson rate, up to what the simulator accepts after the warm-up (its duration is
    shortened where the scenario's would exceed the connection limit; evaluators set their own)."""
    from snatsim.config_limits import MAX_EXPECTED_CONNECTIONS

    sim = scenario.simulation
    others = sum(r or 0.0 for i, w in enumerate(scenario.workload)
                 if i != index for r in [w.mean_rate_per_s()])
    high = 0.99 * MAX_EXPECTED_CONNECTIONS / (sim.warmup_s + 1.0) - others

    def set_rate(sc: Scenario, x: float) -> Scenario:
        duration_s = min(sc.simulation.duration_s, 0.99 * MAX_EXPECTED_CONNECTIONS / (x + others))
        return replace_values(sc, {"workload": {index: {"rate_per_s": x}},
                             "simulation": {"duration_s": duration_s}})

    return Axis(vary, "/s", True, False, min(1e-3, rate), high, rate, set_rate)


def _to_source_axis(scenario: Scenario) -> Axis:
    """The SNAT IP count: the scenario's addresses first, then the next addresses after the last
    (198.51.100.1 onwards when it masquerades)."""
    nat = scenario.nat
    given = list(nat.to_source) if nat.target == "snat" else []
    first = ipaddress.ip_address(given[-1] if given else "198.51.100.0")

    def set_ips(sc: Scenario, x: float) -> Scenario:
        n = int(x)
        extra = [str(first + i) for i in range(1, n - len(given[:n]) + 1)]
        return replace_values(sc, {"nat": {"target": "snat", "to_source": [*given[:n], *extra]}})

    return Axis("nat.to_source", "SNAT IPs", False, True, 1, MAX_SNAT_IPS,
                max(len(given), 1), set_ips)


def _to_ports_axis(scenario: Scenario) -> Axis:
    """The width of ``--to-ports A-B``, from the scenario's ``A`` (or 1024) upwards."""
    given = scenario.nat.port_range
    start = given[0] if given else FIRST_TO_PORT
    current = given[1] - given[0] + 1 if given else 65536 - start

    def set_ports(sc: Scenario, x: float) -> Scenario:
        return replace_values(sc, {"nat": {"to_ports": f"{start}-{start + int(x) - 1}"}})

    return Axis("nat.to_ports", "ports", False, True, 1, 65536 - start, current, set_ports)


# ----------------------------------------------------------------------------- analytic bracket
def exhaustion_floor(scenario: Scenario) -> float:
    """Fraction of new connections whose first SYN finds its window exhausted (analytic).

    Per (NAT IP, destination), Little's law gives the offered ports (rate × hold,
    :func:`snatsim.analytic.window_load.window_loads`) and the loss law of the era's search gives
    the drop probability (:func:`snatsim.analytic.occupancy.exhaustion_probability`; the A1
    sequential walk fails only on a full window: Erlang B); weighted by rate. Each such SYN is
    delayed >= 1 s, so the delayed fraction is at least about this (A3+ eviction lowers it).
    """
    from snatsim.analytic.occupancy import erlang_b, exhaustion_probability
    from snatsim.analytic.window_load import window_loads
    from snatsim.kernel.eras import NatEra

    era = scenario.kernel.profile().nat_era
    nat = scenario.nat
    by_key: dict[tuple[str, str], list[float]] = {}
    for load in window_loads(scenario):
        entry = by_key.setdefault((load.nat_ip, load.destination), [0.0, 0.0, load.window])
        entry[0] += load.rate_per_s
        entry[1] += load.ports
        entry[2] = min(entry[2], load.window)
    rates = [w.mean_rate_per_s() for w in scenario.workload]
    total = sum(r for r in rates if r is not None)
    if total <= 0:
        return 0.0
    lost = 0.0
    for rate, ports, window in by_key.values():
        if era == NatEra.A1 and not nat.random_fully:
            loss = erlang_b(int(window), ports)
        else:
            loss = exhaustion_probability(int(window), ports,
                                          "a1" if era == NatEra.A1 else "rounds")
        lost += rate * loss
    return lost / total


def exhaustion_bound(scenario: Scenario, ax: Axis, max_delayed: float) -> float | None:
    """The value of ``ax`` where :func:`exhaustion_floor` reaches ``max_delayed``: exhaustion
    alone misses the target beyond it. None when it never does inside the domain; the safe end of
    the domain when it does everywhere."""
    def floor(x: float) -> float:
        return exhaustion_floor(ax.set_value(scenario, x))

    safe_end, risky_end = (ax.low, ax.high) if ax.higher_is_worse else (ax.high, ax.low)
    if floor(risky_end) < max_delayed:
        return None
    if floor(safe_end) >= max_delayed:
        return safe_end
    safe, risky = safe_end, risky_end
    while (mid := midpoint(ax, safe, risky, 0.01)) is not None:
        if floor(mid) < max_delayed:
            safe = mid
        else:
            risky = mid
    return risky


def midpoint(ax: Axis, a: float, b: float, rel_tol: float) -> float | None:
    """The geometric middle of ``a`` and ``b`` (an integer on integer axes), or None when they are
    within ``rel_tol`` of each other (adjacent integers)."""
    lo, hi = min(a, b), max(a, b)
    if hi <= lo * (1.0 + rel_tol):
        return None
    mid = math.sqrt(lo * hi)
    if ax.integer:
        mid = float(round(mid))
        if mid in (lo, hi):
            return None
    return mid
