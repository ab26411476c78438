"""Import layering (STYLE.md "Layout"): checked in fresh interpreters, by module sets (no clocks)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_PROBE = """
import importlib, json, pkgutil, sys
for name in {modules!r}:
    module = importlib.import_module(name)
    if {walk!r} and hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, module.__name__ + "."):
            importlib.import_module(info.name)
print(json.dumps(sorted(sys.modules)))
"""


def modules_after(*modules: str, walk: bool = False) -> set[str]:
    """Every module in ``sys.modules`` of a fresh interpreter after importing ``modules``."""
    code = _PROBE.format(modules=list(modules), walk=walk)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def loaded_after(*modules: str, walk: bool = False) -> set[str]:
    """Top-level packages in ``sys.modules`` of a fresh interpreter after importing ``modules``."""
    return {name.split(".")[0] for name in modules_after(*modules, walk=walk)}


# STYLE.md layers, bottom to top; a module may import only from its own layer or lower ones
UPPER_LAYERS = {
    "snatsim.kernel": {"snatsim.des", "snatsim.mc", "snatsim.analytic", "snatsim.results",
                       "snatsim.sweep", "snatsim.plotting", "snatsim.cli", "snatsim.explain"},
    "snatsim.rundata": {"snatsim.kernel", "snatsim.des", "snatsim.mc", "snatsim.results",
                        "snatsim.cli"},
    "snatsim.des": {"snatsim.results", "snatsim.sweep", "snatsim.plotting", "snatsim.cli",
                    "snatsim.explain"},
    "snatsim.analytic": {"snatsim.des", "snatsim.results", "snatsim.cli"},
    "snatsim.mc": {"snatsim.des", "snatsim.results", "snatsim.sweep", "snatsim.plotting",
                   "snatsim.cli"},
    "snatsim.sweep": {"snatsim.plotting", "snatsim.cli"},
}


@pytest.mark.parametrize("layer", sorted(UPPER_LAYERS))
def test_no_module_imports_upward(layer: str) -> None:
    """Importing a layer (every submodule of it) loads nothing from the layers above it."""
    loaded = modules_after(layer, walk=True)
    above = {m for m in loaded if any(m == up or m.startswith(up + ".") for up in UPPER_LAYERS[layer])}
    assert above == set()


def test_kernel_layer_imports_no_engine_plotting_or_cli() -> None:
    """``snatsim.kernel`` and every submodule of it: no simpy, matplotlib, typer, pandas, scipy."""
    loaded = loaded_after("snatsim.kernel", walk=True)
    assert loaded & {"simpy", "matplotlib", "typer", "pandas", "scipy"} == set()


def test_mc_layer_imports_only_numpy() -> None:
    """``snatsim.mc`` and every submodule of it: no simpy, matplotlib, typer, pandas, scipy."""
    loaded = loaded_after("snatsim.mc", walk=True)
    assert loaded & {"simpy", "matplotlib", "typer", "pandas", "scipy"} == set()


def test_kernel_submodules_exist() -> None:
    import pkgutil

    import snatsim.kernel

    names = {m.name for m in pkgutil.iter_modules(snatsim.kernel.__path__)}
    assert {"eras", "profiles", "tcp", "timeouts", "client_port"} <= names


def test_import_snatsim_is_light() -> None:
    loaded = loaded_after("snatsim")
    assert loaded & {"simpy", "matplotlib", "pandas", "typer", "scipy"} == set()


@pytest.mark.parametrize("module", ["snatsim.cli", "snatsim.cli.__main__"])
def test_import_cli_defers_heavy_imports(module: str) -> None:
    """Commands import numpy/simpy/pandas/... inside their functions, so ``--version`` is fast."""
    loaded = loaded_after(module)
    assert loaded & {"numpy", "scipy", "simpy", "pandas", "matplotlib"} == set()


def test_plotting_imports_no_engine_and_no_cli() -> None:
    """``snatsim.plotting`` draws results; it never runs a simulation nor needs the CLI."""
    loaded = loaded_after("snatsim.plotting", "snatsim.plotting.run_figures",
                          "snatsim.plotting.run_source")
    assert "matplotlib" in loaded
    assert loaded & {"simpy", "typer"} == set()


def test_explain_imports_no_engine_or_plotting_until_it_runs() -> None:
    """``snatsim.explain`` (and its terminal renderer) load SimPy only inside ``explain()`` and
    matplotlib only in the swimlane figure."""
    loaded = loaded_after("snatsim.explain", "snatsim.explain.terminal")
    assert loaded & {"simpy", "matplotlib", "pandas", "typer", "rich"} == set()
