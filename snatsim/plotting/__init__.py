"""Figures of runs and sweeps (matplotlib is imported only in this package).

Every function draws on ``ax=`` when given, else on a new slide-sized figure, and returns the
:class:`~matplotlib.figure.Figure`; none runs a simulation or calls ``pyplot.show``. No pyplot and
no GUI backend are used, so figures render the same with or without a display.

Runs (a :class:`~snatsim.results.SimulationResult` or a ``snatsim run --out DIR`` folder):
:func:`latency_cdf`, :func:`occupancy`, :func:`timeline`.

Sweeps (the frame of ``snatsim.load_results(path)``, or the path): :func:`sweep_lines` (a metric
against a swept key, lines per another, 95 % interval bands, log axes) and :func:`sweep_heatmap`
(a metric over two swept keys).

:func:`save` writes any of them atomically (``.png``, ``.svg`` or ``.pdf``). The command line is
``snatsim plot``.
"""

from snatsim.plotting._figure import FORMATS, figure_bytes, save, scenario_title
from snatsim.plotting.run_figures import RUN_KINDS, latency_cdf, latency_ecdf, occupancy, timeline
from snatsim.plotting.sweep_figures import sweep_heatmap, sweep_lines

__all__ = ["FORMATS", "RUN_KINDS", "figure_bytes", "latency_cdf", "latency_ecdf", "occupancy", "save",
           "scenario_title", "sweep_heatmap", "sweep_lines", "timeline"]
