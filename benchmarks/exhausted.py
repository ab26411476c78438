"""Cost of one A1 search on an exhausted window, faithful walk against the port-index jump.

Run: ``.venv/bin/python benchmarks/exhausted.py`` (a few seconds; ``--example`` also times the
README's ``kernel.version=4.19, rate_per_s=600`` run in this process, ~1 min of CPU).

Each window (``--to-ports 1024-(1023+size)``) is filled with live TIME_WAIT entries; a 4.19
node then searches it for a new flow. Every search gives up after ``size`` probes (``found``
+= size - 1), the kernel's own result; the figure is CPU time per search, the median of 5
repeats. The jump's cost should not grow with the window; the faithful walk's grows linearly.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from snatsim.kernel.conntrack import ConntrackTable, Entry, TcpState  # noqa: E402
from snatsim.kernel.eras import NatEra  # noqa: E402
from snatsim.kernel.nat import NatRange, SnatAllocator  # noqa: E402
from snatsim.kernel.tuples import ConnTuple, Proto  # noqa: E402
from snatsim.rng import Draws  # noqa: E402

NODE_IP = "192.0.2.10"
DST = ("203.0.113.10", 443)
SIZES = (1_024, 8_192, 64_512)


def full_table(size: int) -> ConntrackTable:
    """A table whose ports 1024..1023+size towards DST are all held in TIME_WAIT."""
    table = ConntrackTable(same_origin_free=False)
    for port in range(1024, 1024 + size):
        e = Entry(ConnTuple(int(Proto.TCP), "10.244.9.9", port, *DST))
        e.reply = ConnTuple(int(Proto.TCP), *DST, NODE_IP, port)
        e.nat_done = e.snat = True
        e.state = TcpState.TIME_WAIT
        table.insert(e, 0.0)
    return table


def per_search_s(size: int, faithful: bool, searches: int) -> float:
    """Median CPU seconds per search (5 repeats of ``searches`` searches)."""
    import numpy as np

    table = full_table(size)
    nat = SnatAllocator(NatEra.A1, NatRange((NODE_IP,), (1024, 1023 + size)))
    nat.faithful = faithful
    draws = Draws(np.random.default_rng(0))
    times = []
    for _ in range(5):
        started = time.process_time()
        for i in range(searches):
            ct = Entry(ConnTuple(int(Proto.TCP), "10.244.0.1", 40000 + i, *DST))
            result = nat.get_unique_tuple(ct, table, 1.0, draws)
            assert result.known_busy and result.probes == size
        times.append((time.process_time() - started) / searches)
    return statistics.median(times)


def example_cpu_s() -> tuple[float, int]:
    """CPU seconds and SYNs sent of the README's exhausted 4.19 example, in this process."""
    import snatsim

    scenario = snatsim.load_scenario(ROOT / "configs/default.toml",
                                     ["kernel.version=4.19", "workload.0.rate_per_s=600"])
    started = time.process_time()
    result = snatsim.simulate(scenario)
    return time.process_time() - started, int(result.summary()["syn"]["sent"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", action="store_true", help="also time the README example")
    args = parser.parse_args()
    print("window   faithful walk   port-index jump   (CPU per search, full window, gives up)")
    for size in SIZES:
        walk = per_search_s(size, True, max(2, 200_000 // size))
        jump = per_search_s(size, False, 2_000)
        print(f"{size:>6,}   {walk * 1e3:>10.3f} ms   {jump * 1e6:>12.1f} µs")
    if args.example:
        cpu_s, syns = example_cpu_s()
        print(f"README 4.19 600/s example: {cpu_s:.1f} CPU s, {syns:,} SYNs sent")


if __name__ == "__main__":
    main()
