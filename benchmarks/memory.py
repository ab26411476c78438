"""Memory of a run with and without per-connection rows, as the duration grows (issue #8).

Run: ``.venv/bin/python benchmarks/memory.py [--durations 600 1200] [--tracemalloc]``.
Each case runs ``configs/default.toml`` (300 new connections/s) in a fresh process and reports
its peak resident set size (``ru_maxrss``, what the operating system sees) and, with
``--tracemalloc``, the peak of Python allocations during ``simulate()`` (exact, ~2x slower).
Memory per row is the difference between rows on and off divided by the connections measured.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import json, resource, sys, tracemalloc
import snatsim
duration, rows, traced = {duration!r}, {rows!r}, {traced!r}
scenario = snatsim.load_scenario({config!r}, [f"simulation.duration_s={{duration}}"])
snatsim.simulate(snatsim.load_scenario({config!r}, ["simulation.duration_s=130"]))  # imports
if traced:
    tracemalloc.start()
result = snatsim.simulate(scenario, rows=rows)
peak = tracemalloc.get_traced_memory()[1] if traced else None
print(json.dumps({{"connections": result.stats.attempted, "traced_peak": peak,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""


def case(duration_s: float, rows: bool | str, traced: bool) -> dict[str, float]:
    """One run in a fresh interpreter: connections, peak traced bytes, peak RSS."""
    code = CHILD.format(duration=duration_s, rows=rows, traced=traced,
                        config=str(ROOT / "configs/default.toml"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    data: dict[str, float] = json.loads(out.stdout.splitlines()[-1])
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--durations", type=float, nargs="+", default=[600.0, 1200.0])
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations")
    args = parser.parse_args()
    print("| simulated s | connections | rows | peak RSS | peak traced | per connection vs no rows |")
    print("| --- | --- | --- | --- | --- | --- |")
    for duration in args.durations:
        off = case(duration, False, args.tracemalloc)
        on = case(duration, "all", args.tracemalloc)
        n = off["connections"]
        for label, d in (("none", off), ("all", on)):
            traced = "—" if d["traced_peak"] is None else f"{d['traced_peak'] / 2**20:.1f} MiB"
            extra = "—"
            if label == "all":
                key = "traced_peak" if d["traced_peak"] is not None else "maxrss_kib"
                scale = 1 if key == "traced_peak" else 1024
                extra = f"{(on[key] - off[key]) * scale / n:.0f} bytes"
            print(f"| {duration:g} | {n:,.0f} | {label} | {d['maxrss_kib'] / 1024:.1f} MiB | "
                  f"{traced} | {extra} |")


if __name__ == "__main__":
    main()
