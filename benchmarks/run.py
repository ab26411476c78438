"""Speed and memory benchmarks of the DES and the kernel layer (not tests: numbers, not verdicts).

Run: ``make bench`` (or ``.venv/bin/python benchmarks/run.py [--quick]``). Prints a Markdown table
and writes ``benchmarks/latest.json``. Ratios are measured within one run (the machines are noisy);
absolute numbers depend on the machine. See ``benchmarks/README.md`` for the latest figures.

Measured:

1. DES throughput on ``configs/default.toml``: simulated connections per wall-second, one core,
   next to the floor of ``benchmarks/floor.py`` (the same work without the modelling), same run.
2. Cost per connection as a destination's SNAT window fills: the same workload at ~1 % and ~90 %
   occupancy of a 10,000-port ``--to-ports`` window (occupancy set by the TIME_WAIT timeout), as
   wall time per connection of the whole DES and as time per ``get_unique_tuple`` call alone.
3. Memory per live conntrack entry (tracemalloc; entry, hash slots for both directions, tuples,
   by-source index, GC-heap record).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from floor import Floor  # noqa: E402

from snatsim.config import load_scenario  # noqa: E402
from snatsim.kernel.conntrack import ConntrackTable, Entry, TcpState  # noqa: E402
from snatsim.kernel.eras import NatEra  # noqa: E402
from snatsim.kernel.nat import NatRange, SnatAllocator  # noqa: E402
from snatsim.kernel.tuples import PORTS, ConnTuple  # noqa: E402
from snatsim.results import simulate  # noqa: E402
from snatsim.rng import Draws  # noqa: E402

WINDOW = (10_000, 19_999)
NODE_IP = "192.0.2.10"
DST = ("203.0.113.10", 443)


def des_throughput(duration_s: float) -> dict[str, Any]:
    """Connections per wall-second on configs/default.toml, and of the floor (best of two each).

    The model and the floor (``benchmarks/floor.py``: the same per-connection work without the
    modelling) run alternately, so their ratio is measured under the same machine conditions.
    """
    scenario = load_scenario(ROOT / "configs/default.toml", [f"simulation.duration_s={duration_s}"])
    best: dict[str, Any] | None = None
    floor_best = 0.0
    for _ in range(2):
        t0 = time.perf_counter()
        result = simulate(scenario)
        wall = time.perf_counter() - t0
        started = sum(result.series.new_connections)
        rate = started / wall
        if best is None or rate > best["connections_per_wall_s"]:
            best = {"connections": started, "measured": result.stats.attempted, "wall_s": wall,
                    "connections_per_wall_s": rate}
        floor_run = Floor().run(duration_s)
        floor_best = max(floor_best, floor_run["rows"] / floor_run["wall_s"])
    assert best is not None
    best["floor_connections_per_wall_s"] = floor_best
    best["floor_over_model"] = floor_best / best["connections_per_wall_s"]
    return best


def _occupancy_run(time_wait_s: float, duration_s: float) -> tuple[float, float, int]:
    """(wall seconds per SYN through NAT, mean occupancy, SYNs) for one TIME_WAIT setting."""
    scenario = load_scenario(
        ROOT / "configs/default.toml",
        [
            "kernel.version=5.4",
            f"nat.to_ports={WINDOW[0]}-{WINDOW[1]}",
            f"conntrack.tcp_timeout_time_wait_s={time_wait_s}",
            "workload.0.rate_per_s=500",
            "workload.0.hold_s=0.05",
            f"simulation.duration_s={duration_s}",
            "simulation.warmup_s=0",
        ],
    )
    t0 = time.perf_counter()
    result = simulate(scenario)
    wall = time.perf_counter() - t0
    syns = result.packets_sent["syn"]  # warm-up 0: every SYN, retransmits included, went through NAT
    size = WINDOW[1] - WINDOW[0] + 1
    occ = np.mean(result.series.max_ports_in_use[len(result.series.max_ports_in_use) // 2 :]) / size
    return wall / syns, float(occ), syns


def _nat_call_cost(occupancy: float, calls: int = 20_000) -> tuple[float, float]:
    """(µs per get_unique_tuple, mean probes) on a window filled at random to ``occupancy``."""
    rng = np.random.default_rng(1)
    table = ConntrackTable()
    size = WINDOW[1] - WINDOW[0] + 1
    busy = rng.choice(size, size=int(occupancy * size), replace=False) + WINDOW[0]
    for i, port in enumerate(busy.tolist()):
        orig = ConnTuple(6, f"10.244.{i // 250}.{i % 250 + 2}", port, *DST)
        e = Entry(orig)
        e.reply = orig.with_source(NODE_IP, port).inverted()
        e.nat_done = e.snat = True
        e.state = TcpState.ESTABLISHED
        table.insert(e, 0.0)
    nat = SnatAllocator(NatEra.A2, NatRange(ips=(NODE_IP,), ports=WINDOW))
    draws = Draws(np.random.default_rng(2))
    probes = 0
    t0 = time.perf_counter()
    for i in range(calls):
        ct = Entry(ConnTuple(6, "10.250.0.1", 40_000 + (i % 20_000), *DST))
        probes += nat.get_unique_tuple(ct, table, 1.0, draws).probes
    wall = time.perf_counter() - t0
    return wall / calls * 1e6, probes / calls


def window_fill(duration_s: float) -> dict[str, Any]:
    """Cost per SYN (one NAT decision) at ~1 % and ~90 % occupancy (ratio = 90 % / 1 %)."""
    size = WINDOW[1] - WINDOW[0] + 1
    # occupancy ~= rate * (rtt + hold + time_wait) / size at 500 connections/s
    low_tw, high_tw = 0.01 * size / 500 - 0.052, 0.90 * size / 500 - 0.052
    low = _occupancy_run(low_tw, duration_s)
    high = _occupancy_run(high_tw, duration_s)
    nat_low = _nat_call_cost(0.01)
    nat_high = _nat_call_cost(0.90)
    return {
        "des_us_per_syn": {"low": low[0] * 1e6, "high": high[0] * 1e6},
        "measured_occupancy": {"low": low[1], "high": high[1]},
        "des_ratio_high_over_low": high[0] / low[0],
        "nat_call_us": {"low": nat_low[0], "high": nat_high[0]},
        "nat_mean_probes": {"low": nat_low[1], "high": nat_high[1]},
        "nat_call_ratio_high_over_low": nat_high[0] / nat_low[0],
    }


def entry_memory(n: int = 50_000) -> dict[str, Any]:
    """Bytes per live confirmed entry, as allocated by the table (tracemalloc)."""
    table = ConntrackTable()
    ips = [f"10.244.{i // 250}.{i % 250 + 2}" for i in range(200)]  # pods: addresses are shared
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(n):
        orig = ConnTuple(6, ips[i % 200], PORTS[32_768 + i % 28_000], *DST)
        e = Entry(orig, seq_end=i)
        e.reply = orig.with_source(NODE_IP, PORTS[1024 + i]).inverted()  # as the NAT search does
        e.nat_done = e.snat = True
        table.add_bysource(e)
        table.insert(e, 0.0)  # the DES path: confirm, established (assured), closed by FIN
        table.set_state(e, TcpState.ESTABLISHED, 0.0, assured=True)
        table.set_state(e, TcpState.TIME_WAIT, 1.0)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {"entries": n, "bytes_per_entry": (after - before) / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (a smoke check)")
    args = parser.parse_args()
    duration = 180.0 if args.quick else 600.0
    results = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine()},
        "des_throughput": des_throughput(duration),
        "window_fill": window_fill(40.0 if args.quick else 120.0),
        "entry_memory": entry_memory(),
    }
    (ROOT / "benchmarks/latest.json").write_text(json.dumps(results, indent=2) + "\n")
    t = results["des_throughput"]
    w = results["window_fill"]
    m = results["entry_memory"]
    print("| benchmark | figure |")
    print("| --- | --- |")
    print(f"| DES on configs/default.toml ({t['connections']:,} connections) | "
          f"{t['connections_per_wall_s']:,.0f} connections / wall-second |")
    print(f"| floor (benchmarks/floor.py), same run | "
          f"{t['floor_connections_per_wall_s']:,.0f} connections / wall-second "
          f"(floor / model {t['floor_over_model']:.2f}) |")
    print(f"| DES wall time per SYN, window 1 % → 90 % full "
          f"(measured {w['measured_occupancy']['low']:.1%} → {w['measured_occupancy']['high']:.1%}) | "
          f"{w['des_us_per_syn']['low']:.1f} → {w['des_us_per_syn']['high']:.1f} µs "
          f"(ratio {w['des_ratio_high_over_low']:.2f}) |")
    print(f"| get_unique_tuple alone, 1 % → 90 % full | {w['nat_call_us']['low']:.2f} → "
          f"{w['nat_call_us']['high']:.2f} µs, {w['nat_mean_probes']['low']:.2f} → "
          f"{w['nat_mean_probes']['high']:.1f} probes (ratio {w['nat_call_ratio_high_over_low']:.1f}) |")
    print(f"| memory per live conntrack entry | {m['bytes_per_entry']:.0f} bytes |")


if __name__ == "__main__":
    main()
