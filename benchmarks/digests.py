"""Result digests of every config and a set of variants: proof that a speed-up changed nothing.

Run before and after a hot-path change and compare::

    .venv/bin/python benchmarks/digests.py > /tmp/before.txt
    # ... change the code ...
    .venv/bin/python benchmarks/digests.py | diff /tmp/before.txt - && echo identical

Each line is one run (200 simulated seconds): the config, its overrides, a SHA-256 digest of the
per-connection rows and the per-second series, and one of the summary (provenance left out, as it
names library versions). Runs go to two worker processes; the output order is fixed.
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


def digest(case: tuple[str, list[str]]) -> str:
    """One line: config, overrides, digest of rows + series, digest of the summary."""
    name, overrides = case
    scenario = snatsim.load_scenario(
        ROOT / "configs" / f"{name}.toml", ["simulation.duration_s=200", *overrides]
    )
    result = snatsim.simulate(scenario)
    summary = result.summary()
    summary.pop("provenance")
    rows = [tuple(r) for r in result.rows]  # plain tuples: the digest of the values, not the type
    data = hashlib.sha256(repr(rows).encode() + repr(result.series).encode()).hexdigest()
    text = hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()
    return f"{name} {' '.join(overrides) or '-'} rows+series={data[:16]} summary={text[:16]}"


def main() -> None:
    cases = [(p.stem, []) for p in sorted((ROOT / "configs").glob("*.toml"))] + VARIANTS
    with ProcessPoolExecutor(2) as pool:
        for line in pool.map(digest, cases):
            print(line)


if __name__ == "__main__":
    main()
