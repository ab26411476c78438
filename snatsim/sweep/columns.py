"""Column names of a sweep's results: one flat record per (point, replicate).

This naming is the contract that :func:`snatsim.load_results`, ``snatsim results`` and the plots
rely on:

* ``point``, ``replicate``: the point's number in grid order (the first axis changes slowest) and
  the replicate's number (0..N-1).
* every swept key as it was given (``nat.random_fully``, ``workload.0.rate_per_s``,
  ``kernel.version``), holding the value the point's *resolved* scenario has there (for ``null``:
  the default it fell back to; a table such as a distribution as JSON text).
* every summary metric (:meth:`snatsim.SimulationResult.summary`) under its dotted path:
  ``delayed_fraction.ge_1s``, ``connect_latency_s.p99``, ``conntrack.insert_failed``,
  ``connections.attempted``, ``ports.max_in_use.203.0.113.10:443``, ``kernel.nat_era``, ...
* each interval as two columns beside its metric, ``*_lo`` and ``*_hi``: the summary's
  ``delayed_fraction_ci95.ge_1s = [lo, hi]`` becomes ``delayed_fraction.ge_1s_lo`` and
  ``delayed_fraction.ge_1s_hi``; a ``ci95`` level is dropped from the name: a ``{mean, se, ci95}``
  block ``X`` gives ``X.mean``, ``X.se``, ``X_lo``, ``X_hi``, and the Monte Carlo engine's
  ``ci95.syn_drop_probability`` gives ``syn_drop_probability_lo`` / ``_hi``. A missing interval
  (no connections) is ``None``/NaN. Each interval appears once: the Monte Carlo engine's
  ``ci95.delayed_fraction_ge_1s`` repeats ``delayed_fraction_ci95.ge_1s`` and is left out, so
  both engines give ``delayed_fraction.ge_1s_lo`` and nothing else for it.
* ``warnings``: the run's warnings as a JSON list; provenance is kept apart from the metrics:
  ``entropy`` (the root seed's entropy), ``spawn_key`` (the run's ``SeedSequence`` spawn key, JSON),
  ``wall_s`` (seconds the run took), ``snatsim_version`` and ``engine``.

A metric whose path equals a swept key (``kernel.version``) keeps the swept value's column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["FIXED_COLUMNS", "PROVENANCE_COLUMNS", "flatten_summary", "resolved_value"]

FIXED_COLUMNS = ("point", "replicate")
PROVENANCE_COLUMNS = ("entropy", "spawn_key", "wall_s", "snatsim_version", "engine")
_SKIPPED = {"provenance", "delayed_fraction_ci95_assumes", "interval"}
_CI = "_ci95"
_REPEATED_CI = re.compile(r"delayed_fraction_ge_\w+")
"""Monte Carlo ``ci95`` entries that repeat ``delayed_fraction_ci95`` (same numbers)."""


def _is_interval(value: Any) -> bool:
    return (isinstance(value, list | tuple) and len(value) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value))


def flatten_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A run's summary as one flat ``{column: scalar}`` record (see the module docstring)."""
    out: dict[str, Any] = {}

    def walk(path: tuple[str, ...], value: Any, interval: bool) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk((*path, str(key)), inner, interval)
            return
        if path[0] == "ci95" and _REPEATED_CI.fullmatch(path[-1]):
            return
        if "ci95" in path:  # {mean, se, ci95}: X.ci95 -> X_lo; ci95.X -> X_lo (Monte Carlo)
            path, interval = tuple(p for p in path if p != "ci95"), True
        if interval:
            lo, hi = (value if _is_interval(value) else (None, None))
            out[".".join(path) + "_lo"], out[".".join(path) + "_hi"] = lo, hi
        elif isinstance(value, list | tuple):
            out[".".join(path)] = json.dumps(value)
        else:
            out[".".join(path)] = value

    for key, value in summary.items():
        if key in _SKIPPED:
            continue
        if key.endswith(_CI):  # delayed_fraction_ci95.ge_1s -> delayed_fraction.ge_1s_lo / _hi
            walk((key.removesuffix(_CI),), value, True)
        else:
            walk((key,), value, False)
    return out


def resolved_value(config: Mapping[str, Any], key: str) -> Any:
    """The value at dotted ``key`` of a resolved config dict (``workload.0.pods``); ``None`` where
    the path does not exist. Tables and lists come back as JSON text (one cell each)."""
    node: Any = config
    for part in key.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return None
    if isinstance(node, Mapping | list):
        return json.dumps(node, sort_keys=True)
    return node
