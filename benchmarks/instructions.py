"""Instructions per simulated connection, counted by callgrind (deterministic, unlike wall time).

Run: ``.venv/bin/python benchmarks/instructions.py`` (needs ``valgrind``: ``apt-get install
valgrind``). It runs ``configs/default.toml`` under callgrind for 125 and for 150 simulated seconds
and divides the difference by the number of connections started in between: the steady state,
after the conntrack table has filled (TIME_WAIT 120 s), with its GC collecting as many entries as
are created. Use it to judge hot-path changes: the same code gives the same count whatever else
the machine is doing. ``--floor`` also counts ``benchmarks/floor.py`` the same way.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEADY_START_S = 125.0  # the table is full: the first TIME_WAIT entries (120 s) are expiring
STEADY_END_S = 150.0
MODEL = """
import snatsim
sc = snatsim.load_scenario({config!r}, ["simulation.duration_s={duration}", "simulation.warmup_s=0"])
r = snatsim.simulate(sc)
print("connections", sum(r.series.new_connections))
"""
FLOOR = """
import sys
sys.path.insert(0, {benchmarks!r})
from floor import Floor
print("connections", Floor().run({duration})["rows"])
"""


def _count(script: str, duration_s: float) -> tuple[int, int]:
    """(instructions, connections) of one run under callgrind."""
    code = script.format(config=str(ROOT / "configs/default.toml"), duration=duration_s,
                         benchmarks=str(ROOT / "benchmarks"))
    # a fixed string-hash seed: dict probe sequences (and so the count) would vary by ~1 % otherwise
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", code],
        capture_output=True, text=True, check=True, env=env,
    )
    refs = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    conns = re.search(r"connections (\d+)", out.stdout)
    if refs is None or conns is None:
        raise SystemExit(f"could not read callgrind output:\n{out.stderr[-2000:]}")
    return int(refs.group(1).replace(",", "")), int(conns.group(1))


def per_connection(script: str) -> tuple[float, int]:
    """Steady-state instructions per connection and the connections they were measured on."""
    full, n_full = _count(script, STEADY_END_S)
    base, n_base = _count(script, STEADY_START_S)
    return (full - base) / (n_full - n_base), n_full - n_base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor", action="store_true",
                        help="also count benchmarks/floor.py and print the floor / model ratio")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    model, n = per_connection(MODEL)
    print(f"{model:,.0f} instructions per simulated connection "
          f"(steady state, {STEADY_START_S:g}-{STEADY_END_S:g} s: {n:,} connections)")
    if args.floor:
        floor, n = per_connection(FLOOR)
        print(f"floor: {floor:,.0f} instructions per connection ({n:,} connections); "
              f"model / floor {model / floor:.2f}")


if __name__ == "__main__":
    main()
