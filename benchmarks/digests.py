"""Result digests of every config and a set of variants: proof that a speed-up changed nothing.

Run before and after a hot-path change and compare::

    .venv/bin/python benchmarks/digests.py > /tmp/before.txt
    # ... change the code ...
    .venv/bin/python benchmarks/digests.py | diff /tmp/before.txt - && echo identical

Each line is one case (200 simulated seconds): the config, its overrides, a SHA-256 digest of the
per-connection rows and the per-second series without the drain (``rows+series``: comparable with
every earlier version of this script), the same with the drain (``drained``), and one of the
summary (provenance left out, as it names library versions). Runs go to two worker processes; the
output order is fixed.
"""

from __future__ import annotations

import hashlib
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import snatsim  # noqa: E402

VARIANTS: list[tuple[str, list[str]]] = [
    ("dns-udp", ["node.steering=random"]),
    ("to-ports-restricted", ["kernel.version=5.4"]),
    ("legacy-rover", ["nat.random_fully=true"]),
    ("default", ["kernel.version=6.6", "workload.0.connect_timeout_s=0.5"]),
    ("default", ["node.steering=flow-hash", "kernel.version=6.18", "workload.0.close=rst"]),
    ("legacy-rover", ["node.cpus=8", "kernel.version=4.19"]),
    ("default", ["conntrack.max=20000", "node.cpus=2", "node.steering=random"]),
]


def _comparable(result: snatsim.SimulationResult) -> str:
    """Rows and series in the form of the first version of this script (for before/after diffs).

    Plain tuples for rows; the series as they were before UDP query drops got their own column
    (``syn_drops`` then counted both).
    """
    rows = [tuple(r) for r in result.rows]
    s = result.series
    both = [a + b for a, b in zip(s.syn_drops, s.query_drops, strict=True)]
    series = (
        f"Series(new_connections={s.new_connections!r}, syn_drops={both!r}, "
        f"conntrack_entries={s.conntrack_entries!r}, max_ports_in_use={s.max_ports_in_use!r}, "
        f"ports_in_use={s.ports_in_use!r})"
    )
    return hashlib.sha256(repr(rows).encode() + series.encode()).hexdigest()


def digest(case: tuple[str, list[str]]) -> str:
    """One line: config, overrides, digest of rows + series without and with the drain (the end
    of the run as before the drain existed, then as now), digest of the summary."""
    name, overrides = case
    path = ROOT / "configs" / f"{name}.toml"
    base = ["simulation.duration_s=200", *overrides]
    undrained = snatsim.simulate(snatsim.load_scenario(path, [*base, "simulation.drain=false"]),
                                 rows="all")
    result = snatsim.simulate(snatsim.load_scenario(path, base), rows="all")
    summary = result.summary()
    summary.pop("provenance")
    text = hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()
    return (
        f"{name} {' '.join(overrides) or '-'} rows+series={_comparable(undrained)[:16]} "
        f"drained={_comparable(result)[:16]} summary={text[:16]}"
    )


def main() -> None:
    cases = [(p.stem, []) for p in sorted((ROOT / "configs").glob("*.toml"))] + VARIANTS
    with ProcessPoolExecutor(2) as pool:
        for line in pool.map(digest, cases):
            print(line)


if __name__ == "__main__":
    main()
