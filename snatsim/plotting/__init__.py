"""Figures of runs and sweeps (matplotlib is imported only in this package).

Every function draws on ``ax=`` when given, else on a new slide-sized figure, and returns the
:class:`~matplotlib.figure.Figure`; none runs a simulation or calls ``pyplot.show``. No pyplot and
no GUI backend are used, so figures render the same with or without a display.

Runs (a :class:`~snatsim.results.SimulationResult` or a ``snatsim run --out DIR`` folder):
:func:`latency_cdf`, :func:`occupancy`, :func:`timeline`. :func:`save` writes any of them
atomically (``.png``, ``.svg`` or ``.pdf``). The command line is ``snatsim plot``.
"""

from snatsim.plotting._figure import FORMATS, figure_bytes, save, scenario_title
from snatsim.plotting.run_figures import RUN_KINDS, latency_cdf, latency_ecdf, occupancy, timeline

__all__ = ["FORMATS", "RUN_KINDS", "figure_bytes", "latency_cdf", "latency_ecdf", "occupancy", "save",
           "scenario_title", "timeline"]
