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

Where a summary digest moved, compare the summaries field by field, also against an older commit
checked out in a worktree (``--root`` runs that tree's ``snatsim`` and ``configs/`` with this
script's cases; ``--set`` adds an override to every case)::

    .venv/bin/python benchmarks/digests.py --root /work/old --summaries /tmp/old.json
    .venv/bin/python benchmarks/digests.py --summaries /tmp/new.json --set simulation.drain=false
    .venv/bin/python benchmarks/digests.py --compare /tmp/old.json /tmp/new.json

``--compare`` lists the keys added and removed and, for each changed value, how many cases and
the largest relative change (benchmarks/README.md, "Result digests across issue #7").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

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
    text = hashlib.sha256(json.dumps(_summary(result), sort_keys=True).encode()).hexdigest()
    return (
        f"{name} {' '.join(overrides) or '-'} rows+series={_comparable(undrained)[:16]} "
        f"drained={_comparable(result)[:16]} summary={text[:16]}"
    )


def _summary(result: snatsim.SimulationResult) -> dict[str, Any]:
    summary = result.summary()
    summary.pop("provenance")
    return summary


def summary_of(case: tuple[str, list[str]]) -> list[Any]:
    """[config, overrides, summary without provenance] of one case (``--summaries``)."""
    name, overrides = case
    path = ROOT / "configs" / f"{name}.toml"
    scenario = snatsim.load_scenario(path, ["simulation.duration_s=200", *overrides])
    return [name, overrides, _summary(snatsim.simulate(scenario))]


def _leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix, value


def compare(old: list[list[Any]], new: list[list[Any]]) -> list[str]:
    """Keys added and removed, and each changed key with its cases and largest relative change."""
    added: dict[str, int] = {}
    removed: dict[str, int] = {}
    changed: dict[str, list[str]] = {}
    worst: dict[str, float] = {}
    for (name, overrides, a), (_, _, b) in zip(old, new, strict=True):
        fa, fb = dict(_leaves(a)), dict(_leaves(b))
        for key in fb.keys() - fa.keys():
            added[key] = added.get(key, 0) + 1
        for key in fa.keys() - fb.keys():
            removed[key] = removed.get(key, 0) + 1
        for key in sorted(fa.keys() & fb.keys()):
            x, y = fa[key], fb[key]
            if x != y:
                changed.setdefault(key, []).append(f"{name} {' '.join(overrides) or '-'}")
                if isinstance(x, float) and isinstance(y, float) and x:
                    worst[key] = max(worst.get(key, 0.0), abs(y - x) / abs(x))
    lines = [f"added {k} ({n} cases)" for k, n in sorted(added.items())]
    lines += [f"removed {k} ({n} cases)" for k, n in sorted(removed.items())]
    for key, cases in sorted(changed.items()):
        rel = f", largest relative change {worst[key]:.2e}" if key in worst else ""
        lines.append(f"changed {key} ({len(cases)} cases{rel}): {'; '.join(cases)}")
    return lines


def main(argv: list[str]) -> None:
    global ROOT
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", type=Path, help="run the snatsim and configs/ of this tree")
    parser.add_argument("--summaries", type=Path, help="write the summaries as JSON instead")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="an override added to every case (with --summaries)")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"),
                        help="the fields that differ between two --summaries files")
    args = parser.parse_args(argv)
    if args.compare:
        old, new = (json.loads(p.read_text(encoding="utf-8")) for p in args.compare)
        print("\n".join(compare(old, new)) or "identical")
        return
    if args.root is not None:
        global snatsim
        ROOT = args.root.resolve()
        for name in [m for m in sys.modules if m == "snatsim" or m.startswith("snatsim.")]:
            del sys.modules[name]
        sys.path.insert(0, str(ROOT))
        import snatsim  # the other tree's (the workers fork from here)
    cases = [(p.stem, []) for p in sorted((ROOT / "configs").glob("*.toml"))] + VARIANTS
    with ProcessPoolExecutor(2) as pool:
        if args.summaries is None:
            for line in pool.map(digest, cases):
                print(line)
            return
        cases = [(name, [*overrides, *args.set]) for name, overrides in cases]
        rows = list(pool.map(summary_of, cases))
    args.summaries.write_text(json.dumps(rows, sort_keys=True, default=str), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
