"""snatsim.estimate agrees with the SimPy model on a documented matrix (issue #9; docs/model.md
"Monte Carlo").

Compared per connection: the >= 1 s delayed fraction and the packets lost by each drop cause.
Tolerance: 4 combined standard errors or 15 % of the DES figure, whichever is larger. The DES
standard error comes from 12 batches of connections in start order (aligned ticks are not
independent connections), floored at the one of independent connections and at one in n (a DES count of
0 still has that much uncertainty); the MC one from its 95 % interval (16 block groups, Student t).
DES references are short runs (a few thousand to 40,000 connections) with one seed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import snatsim
from snatsim.estimates import T975

NO_BACKGROUND = ['nat.to_ports="1024-32767"', "workload.1.rate_per_s=0.001"]  # every SYN searches
CASES = {
    # flagship: A1 rover, aligned cron tickers + Poisson background over two destinations
    "legacy-rover": ("configs/legacy-rover.toml", []),
    "legacy-random-fully": ("configs/legacy-random-fully.toml", ["simulation.duration_s=360"]),
    "default": ("configs/default.toml", ["simulation.duration_s=150"]),
    "kernel-6.18": ("configs/kernel-6.18.toml", ["simulation.duration_s=150"]),
    "keepalive-closed-loop": ("configs/keepalive-pool.toml", ["simulation.duration_s=300"]),
    # A1 rover ticks with no port preservation: heavy races, 1 / 2 / 8 CPUs
    "rover-ticks-1cpu": ("configs/legacy-rover.toml", [*NO_BACKGROUND, "node.cpus=1"]),
    "rover-ticks-2cpu": ("configs/legacy-rover.toml", [*NO_BACKGROUND, "node.cpus=2"]),
    "rover-ticks-8cpu": ("configs/legacy-rover.toml", [*NO_BACKGROUND, "node.cpus=8"]),
    # A1 rover, Poisson, 8 CPUs, a 20 µs window: pair races
    "rover-poisson-8cpu": ("configs/default.toml", [
        "kernel.version=4.14", 'nat.to_ports="1024-32767"', "node.nat_to_confirm_us=20",
        "node.cpus=8", "simulation.duration_s=200", 'workload.0.close="rst"']),
}
CAUSES = ("race", "eviction", "exhaustion")


def _scenario(case: str) -> snatsim.Scenario:
    if case == "rover-bursts":  # 7 connections at one instant every 0.43 s, A1 rover, 4 CPUs
        raw = snatsim.load_scenario("configs/default.toml", [
            "kernel.version=4.14", 'nat.to_ports="1024-32767"', 'workload.0.close="rst"',
            "simulation.duration_s=400"]).to_dict()
        wl = {k: v for k, v in raw["workload"][0].items() if k != "rate_per_s"}
        raw["workload"] = [wl | {"arrival": "burst", "burst_size": 7, "burst_interval_s": 0.43}]
        return snatsim.Scenario.from_dict(raw)
    path, overrides = CASES[case]
    return snatsim.load_scenario(path, overrides)


def _des_figures(result: snatsim.SimulationResult) -> dict[str, tuple[float, float]]:
    """Per-connection figures of a DES run with their standard errors (batch means)."""
    df = result.to_frame()
    n = len(df)
    order = np.argsort(df.start_s.to_numpy(), kind="stable")
    batches = np.array_split(order, 12)
    slow = ((df.latency_s >= 1.0) | df.outcome.isin(["failed", "app_timeout"])).to_numpy()
    values = {"ge_1s": slow.astype(float)}
    for c in CAUSES:
        values[c] = np.where(df.first_drop_cause == c, df.lost, 0).astype(float)
    out = {}
    for key, x in values.items():
        p = float(x.mean())
        spread = float(np.std([x[b].mean() for b in batches], ddof=1)) / math.sqrt(len(batches))
        out[key] = (p, max(spread, float(x.std()) / math.sqrt(n), 1.0 / n))
    return out


def _mc_figures(summary: dict) -> dict[str, tuple[float, float]]:
    """The estimate's per-connection figures with standard errors from its 95 % intervals."""
    t = T975[-1]
    attempted = summary["connections"]["attempted"]
    lo, hi = summary["ci95"]["delayed_fraction_ge_1s"]
    out = {"ge_1s": (summary["delayed_fraction"]["ge_1s"], (hi - lo) / 2 / t)}
    for c in CAUSES:
        lo, hi = summary["ci95"][f"{c}_drops_per_connect"]
        out[c] = (summary["insert_failed_causes"][c] / attempted, (hi - lo) / 2 / t)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("case", [*sorted(CASES), "rover-bursts"])
def test_estimate_agrees_with_the_des(case: str) -> None:
    scenario = _scenario(case)
    des = _des_figures(snatsim.simulate(scenario, rng=3, rows="all"))
    mc = _mc_figures(snatsim.estimate(scenario, rng=3, trials=1 << 19).summary())
    for key in des:
        (p, se_des), (q, se_mc) = des[key], mc[key]
        tolerance = max(4 * math.hypot(se_des, se_mc), 0.15 * p)
        assert abs(p - q) <= tolerance, (key, p, se_des, q, se_mc)
    if case == "rover-ticks-1cpu":  # one CPU: no race in either engine
        assert des["race"][0] == 0.0 and mc["race"][0] == 0.0
    if case in ("rover-ticks-2cpu", "rover-ticks-8cpu", "rover-bursts"):
        assert des["race"][0] > 0.05  # heavy: the comparison is not of two zeros
