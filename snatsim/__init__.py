"""snatsim: a kernel-faithful simulator of Linux SNAT port allocation and the conntrack confirm race.

``import snatsim`` is cheap and has no side effects: heavy modules (SimPy, pandas, matplotlib) load
only when the functions that need them are first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (imported lazily on first attribute access)
_LAZY = {
    "load_scenario": "snatsim.config",
    "Scenario": "snatsim.config",
    "simulate": "snatsim.results",
    "SimulationResult": "snatsim.results",
    "replicate": "snatsim.replicates",
    "ReplicateSet": "snatsim.replicates",
    "estimate": "snatsim.estimates",
    "EstimateResult": "snatsim.estimates",
    "resolve_profile": "snatsim.kernel.profiles",
    "KernelProfile": "snatsim.kernel.profiles",
    "make_rng": "snatsim.rng",
    "spawn": "snatsim.rng",
    "SnatsimError": "snatsim.errors",
    "ConfigError": "snatsim.errors",
    "RowsNotKeptError": "snatsim.errors",
    "capacity": "snatsim.sizing.search",
    "CapacityAnswer": "snatsim.sizing.search",
    "load_results": "snatsim.sweep.store",
    "run_sweep": "snatsim.sweep",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'snatsim' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
