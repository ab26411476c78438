"""Independent replicates of one scenario, and intervals from their spread.

A single run's binomial interval (``delayed_fraction_ci95`` in :meth:`SimulationResult.summary`)
assumes that connections are independent. They are not when tickers are aligned (cron-like
workloads, ``configs/legacy-rover.toml``): one unlucky second delays several connects at once, and
six seeds of one such config gave 1 to 23 delayed connects of 1,920. Replicates run the scenario
with independent ``SeedSequence`` children of one root seed and take the interval from the spread
between them (Student's t on the per-replicate fractions), which holds whatever the correlation
inside a run.

Replicate *i* always gets child *i* of the root, so the results do not depend on ``workers``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from snatsim.config import Scenario
from snatsim.errors import ConfigError
from snatsim.rng import SeedLike, spawn_seeds

__all__ = ["MAX_REPLICATES", "ReplicateSet", "replicate"]

MAX_REPLICATES = 10_000
"""More replicates than this narrow no interval usefully and only cost time and memory."""

DELAYED_KEYS = ("ge_1s", "ge_2s", "ge_3s")


def _run_one(scenario: Scenario, child: np.random.SeedSequence) -> dict[str, Any]:
    from snatsim.results import simulate

    return simulate(scenario, rng=child).summary()


def spread_interval(values: list[float]) -> dict[str, Any]:
    """Mean, standard error and 95 % Student-t interval of independent replicate values."""
    from scipy.stats import t as student_t

    n = len(values)
    mean = float(np.mean(values))
    if n < 2:
        return {"mean": mean, "se": None, "ci95": None, "replicates": n}
    se = float(np.std(values, ddof=1)) / math.sqrt(n)
    half = float(student_t.ppf(0.975, n - 1)) * se
    return {"mean": mean, "se": se, "ci95": [mean - half, mean + half], "replicates": n}


@dataclass(frozen=True)
class ReplicateSet:
    """The summaries of ``len(summaries)`` independent runs of one scenario."""

    scenario: Scenario
    summaries: tuple[dict[str, Any], ...]

    def delayed_fractions(self, key: str = "ge_1s") -> list[float]:
        """Each replicate's fraction of established connects delayed by ``key`` (e.g. ge_1s)."""
        out = []
        for s in self.summaries:
            value = s["delayed_fraction"][key]
            out.append(0.0 if value is None else float(value))
        return out

    def summary(self) -> dict[str, Any]:
        """Across-replicate figures: delayed fractions with spread intervals, pooled counts."""
        counts = [s["delayed_counts"] for s in self.summaries]
        return {
            "replicates": len(self.summaries),
            "interval": "95 % Student-t over independent replicates (no independence assumed "
            "between connections within a run)",
            "delayed_fraction": {k: spread_interval(self.delayed_fractions(k)) for k in DELAYED_KEYS},
            "delayed_counts": {
                **{k: sum(c[k] for c in counts) for k in DELAYED_KEYS},
                "of": sum(c["of"] for c in counts),
            },
            "insert_failed": [s["conntrack"]["insert_failed"] for s in self.summaries],
            "seeds": [s["provenance"]["spawn_key"] for s in self.summaries],
            "provenance": self.provenance(),
        }

    def provenance(self) -> dict[str, Any]:
        """The resolved config, the root's entropy (``replicate(scenario, n, rng=int(entropy))``
        or ``snatsim run --seed ENTROPY --replicates n`` runs them again) and the versions."""
        first = self.summaries[0]["provenance"]
        return {"config": first["config"], "entropy": first["entropy"],
                "versions": first["versions"]}

    def write(self, out_dir: str | Path, *, force: bool = False) -> list[Path]:
        """Write ``summary.json`` (:meth:`summary`), ``scenario.toml`` and each replicate's
        summary as ``replicates/NNN.json``, as one folder that appears complete or not at all
        (:func:`snatsim.output.atomic_folder`; an existing run is replaced only with ``force``).
        """
        from snatsim.output import write_folder

        files = {
            "summary.json": json.dumps(self.summary(), indent=2),
            "scenario.toml": self.scenario.to_toml(),
        }
        for i, summary in enumerate(self.summaries):
            files[f"replicates/{i:03d}.json"] = json.dumps(summary, indent=2)
        return write_folder(out_dir, files, force=force)


def replicate(
    scenario: Scenario,
    replicates: int,
    *,
    rng: SeedLike = None,
    workers: int | None = None,
    progress: bool | Callable[[int, int], None] | None = None,
) -> ReplicateSet:
    """Run ``scenario`` ``replicates`` times with independent seeds, in parallel processes.

    Parameters
    ----------
    rng:
        Root seed (int or SeedSequence; a Generator seeds a root from its stream). ``None`` uses
        ``simulation.seed``, or fresh entropy recorded in each summary's provenance. A
        SeedSequence is not consumed: the same one passed twice gives the same replicates.
    workers:
        Worker processes (default: all cores, at most ``replicates``); ``1`` runs in this process.
        The results are the same whatever the number.
    progress:
        ``True`` shows progress on stderr (a bar in a terminal or Jupyter, plain lines elsewhere;
        :mod:`snatsim.progress`), or a callable called as ``progress(done, replicates)`` after
        each replicate.
    """
    if not 1 <= replicates <= MAX_REPLICATES:
        raise ConfigError(
            "replicates", f"{replicates:,} is outside 1..{MAX_REPLICATES:,}; an interval narrows "
            "only as 1/√N, so more replicates cost time for little (a few dozen are typical)"
        )
    if progress is True:
        from snatsim.progress import ProgressDisplay

        with ProgressDisplay(replicates, "replicates") as display:
            return replicate(scenario, replicates, rng=rng, workers=workers,
                             progress=lambda done, _n: display.update(done))
    report = None if progress is False else progress
    if isinstance(rng, np.random.Generator):
        root = np.random.SeedSequence(int(rng.integers(0, 2**63)))
    elif isinstance(rng, np.random.SeedSequence):
        root = rng
    else:
        root = np.random.SeedSequence(scenario.simulation.seed if rng is None else int(rng))
    children = spawn_seeds(root, replicates)  # from a copy: the same rng twice, the same runs
    n_workers = min(replicates, workers or os.cpu_count() or 1)
    results: list[dict[str, Any]] = []
    if n_workers == 1:
        for child in children:
            results.append(_run_one(scenario, child))
            if report is not None:
                report(len(results), replicates)
    else:
        with ProcessPoolExecutor(n_workers) as pool:
            for summary in pool.map(_run_one, [scenario] * replicates, children):
                results.append(summary)
                if report is not None:
                    report(len(results), replicates)
    return ReplicateSet(scenario, tuple(results))
