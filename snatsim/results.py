"""Result objects: summaries, provenance, JSON / pandas / files, and :func:`simulate`.

A :class:`SimulationResult` carries the resolved config, seed and library versions, so any summary
or file written from it can be traced back and re-run. ``summary()`` has the same keys whatever
engine produced the result (DES now; Monte Carlo and closed forms later): engines hand over a
:class:`~snatsim.rundata.RunData` and :meth:`SimulationResult.from_run` wraps it.
"""

from __future__ import annotations

import functools
import json
import platform
from dataclasses import dataclass, field, fields
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from snatsim import __version__
from snatsim.errors import RowsNotKeptError
from snatsim.rundata import (
    CAUSES,
    COLUMNS,
    COUNTED_THRESHOLDS_S,
    DELAY_THRESHOLDS_S,
    ConnectionRow,
    ConnectionStats,
    RunData,
    WorkloadCounts,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from snatsim.config import Scenario
    from snatsim.des.trace import Trace
    from snatsim.rng import SeedLike

ERA_KEYS = ("nat_era", "confirm_era", "client_era", "syn_era")
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}
CONNTRACK_KEYS = (
    "found", "insert", "insert_failed", "drop", "early_drop", "clash_resolve", "chaintoolong",
    "search_restart",
)


def library_versions() -> dict[str, str]:
    """Versions of snatsim, Python and the libraries that shape results."""
    return {"snatsim": __version__, "python": platform.python_version(), **_installed()}


@functools.cache
def _installed() -> dict[str, str]:
    """The installed libraries' versions, read once per process: ``importlib.metadata`` parses
    five METADATA files (~1 ms each), which was a quarter of a small ``estimate``'s time."""
    out: dict[str, str] = {}
    for lib in ("numpy", "scipy", "simpy", "pydantic", "pandas"):
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:  # pragma: no cover - declared dependencies
            out[lib] = "missing"
    return out


def provenance(scenario: Scenario, seed: int | None, ss: np.random.SeedSequence) -> dict[str, Any]:
    """Resolved config, seed (and SeedSequence entropy) and versions."""
    entropy = ss.entropy
    return {
        "config": scenario.to_dict(),
        "seed": seed,
        "entropy": str(entropy) if entropy is not None else None,
        "spawn_key": list(ss.spawn_key),
        "versions": library_versions(),
    }


def _fraction(k: int, n: int) -> float | None:
    return k / n if n else None


def proportion_ci95(k: int, n: int) -> list[float] | None:
    """Exact (Clopper-Pearson) 95 % interval for k events in n trials; None when n == 0.

    With k == 0 the upper bound is about 3/n (the "rule of three"): "0 of 143,838" still bounds
    the rate below ~2.1e-5.
    """
    if n == 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return [float(ci.low), float(ci.high)]


def simulate(
    scenario: Scenario | str | Path,
    rng: SeedLike = None,
    *,
    trace: Trace | IO[str] | str | Path | None = None,
    progress: bool | Callable[[float, float, int], None] | None = None,
    rows: bool | int | str = False,
) -> SimulationResult:
    """Simulate ``scenario`` with the SimPy model of a node and return its result.

    Parameters
    ----------
    scenario:
        A validated scenario (see :func:`snatsim.load_scenario`), or the path of a TOML file
        (loaded without overrides).
    rng:
        Seed (int), SeedSequence or Generator. ``None`` uses ``simulation.seed`` (or fresh entropy,
        recorded in the result's provenance). Same scenario + seed => identical results.
    trace:
        Optional teaching trace: a :class:`~snatsim.des.Trace`, an open text stream, or a path for
        JSON lines. A path is written as ``PATH.partial`` and renamed to ``PATH`` when the run
        ends normally (:func:`snatsim.output.partial_file`): a crashed run leaves the marker.
    progress:
        ``True`` shows progress on stderr (a rich bar in a terminal or Jupyter, plain lines every
        5 s elsewhere; :mod:`snatsim.progress`), or a callable called as
        ``progress(simulated_s, duration_s, connections_started)`` once per simulated second.
    rows:
        Which per-connection rows to keep for :meth:`SimulationResult.to_frame`: ``False`` (the
        default) none, so memory stays bounded whatever the duration (the summary is streamed
        and does not need them); ``True`` up to 1,000,000 rows; a number, up to that many;
        ``"all"`` every one (about 400 bytes per connection; see ``benchmarks/README.md``).
        Rows are kept in the order the connections ended; the summary is the same either way.
    """
    from contextlib import ExitStack

    from snatsim.config import Scenario, load_scenario
    from snatsim.des import run

    if isinstance(scenario, str | Path):
        scenario = load_scenario(scenario)
    elif not isinstance(scenario, Scenario):
        raise TypeError(
            f"simulate() takes a Scenario or a path, not {type(scenario).__name__}; "
            "build one with snatsim.load_scenario(path, overrides)"
        )
    with ExitStack() as stack:
        if isinstance(trace, str | Path):
            from snatsim.output import partial_file

            trace = stack.enter_context(partial_file(trace))
        callback = progress if callable(progress) else None
        if progress is True:
            from snatsim.progress import ProgressDisplay

            display = ProgressDisplay(scenario.simulation.duration_s, "simulated s")
            callback = stack.enter_context(display).run_callback()
        data = run(scenario, rng, trace=trace, progress=callback, rows=rows)
    return SimulationResult.from_run(data)


@dataclass(repr=False)
class SimulationResult(RunData):
    """The outcome of one run (see :func:`simulate`): the engine's :class:`RunData` plus provenance.

    Its repr is one line (a notebook shows an HTML table): the rows are in :meth:`to_frame`.
    """

    provenance: dict[str, Any] = field(default_factory=dict)

    def _headline(self) -> dict[str, str]:
        """The few facts that identify a run and its outcome, as display strings."""
        st = self.stats
        delayed = st.delayed[0]  # completed in >= 1 s
        established = st.latency.count
        return {
            "kernel": f"{self.scenario.kernel.version} ("
            + " ".join(self.profile.get(k, "?") for k in ERA_KEYS) + ")",
            "seed": "entropy" if self.seed is None else str(self.seed),
            "connections": f"{st.attempted:,}",
            "insert_failed": f"{self.counters.get('insert_failed', 0):,}",
            "delayed ≥ 1 s": f"{delayed:,} of {established:,} established",
        }

    def __repr__(self) -> str:
        facts = ", ".join(f"{k} {v}" for k, v in self._headline().items())
        return f"<SimulationResult: {facts}>"

    def _repr_html_(self) -> str:
        import html

        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in self._headline().items()
        )
        return f"<table><caption>SimulationResult</caption>{cells}</table>"

    @classmethod
    def from_run(cls, run: RunData) -> SimulationResult:
        """Wrap an engine's raw run data, adding provenance (config, seed, versions)."""
        data = {f.name: getattr(run, f.name) for f in fields(RunData)}
        return cls(**data, provenance=provenance(run.scenario, run.seed, run.seed_sequence))

    # ------------------------------------------------------------------ summary
    def warnings(self) -> list[str]:
        """What the user should know before trusting the figures: how the kernel version was
        resolved (:meth:`~snatsim.config.KernelConfig.warnings`), an exhausted window (Little's
        law, :func:`snatsim.analytic.window_load.window_warnings`), connects left unresolved."""
        from snatsim.analytic.window_load import window_warnings

        out = [*self.scenario.kernel.warnings(), *window_warnings(self.scenario)]
        in_flight = self.stats.outcomes["in_flight"]
        if in_flight:
            out.append(
                f"{in_flight:,} connects were still unresolved at the end of the run "
                "(simulation.drain = false, or the drain's limit was reached): they are in no "
                "delayed figure"
            )
        return out

    def summary(self) -> dict[str, Any]:
        """Plain-JSON summary of the measured window (connections started after warm-up).

        Read from the streamed :class:`~snatsim.rundata.ConnectionStats`, never from the rows, so
        it is the same whether rows were kept or not. Counts, fractions and intervals are exact;
        latency percentiles come from a quantile sketch, within 0.1 % (relative) of
        :func:`numpy.percentile` on the rows (:mod:`snatsim.sketch`).
        """
        sim = self.scenario.simulation
        st = self.stats
        counts = st.outcomes
        # connects that never completed (ETIMEDOUT, the app's timeout, the resolver giving up)
        # count as delayed at every threshold: the user waited at least that long
        never = st.never_completed
        n_est = st.latency.count + never
        udp = any(w.protocol == "udp" for w in self.scenario.workload)
        delayed = {
            f"ge_{t:g}s": k + never
            for t, k in zip(COUNTED_THRESHOLDS_S, st.delayed, strict=True)
            if t in DELAY_THRESHOLDS_S or udp  # ≥ 5 s: the resolver's retry (UDP runs only)
        }
        max_ports = {label: max(series, default=0) for label, series in self.series.ports_in_use.items()}
        per_workload: dict[str, Any] = {}
        for w in self.scenario.workload:
            per_workload[w.name] = st.workloads.get(w.name, WorkloadCounts()).as_dict()
        causes = {c: self.drop_causes.get(c, 0) for c in CAUSES}
        return {
            "kernel": self.profile,
            "window": {
                "duration_s": sim.duration_s,
                "warmup_s": sim.warmup_s,
                "measured_s": sim.duration_s - sim.warmup_s,
            },
            "conntrack": {k: self.counters.get(k, 0) for k in CONNTRACK_KEYS},
            "connections": {
                "attempted": st.attempted,
                "established": counts["established"],
                "failed": counts["failed"],
                "app_timeouts": counts["app_timeout"],
                "local_errors": counts["local_error"],
                "in_flight": counts["in_flight"],
            },
            "syn": {"sent": self.packets_sent["syn"], "dropped": self.packets_dropped["syn"]},
            "udp_queries": {
                "sent": self.packets_sent["query"],
                "dropped": self.packets_dropped["query"],
                # lookups (one A + one AAAA query per try) of the UDP workloads, and answered ones
                **{key: sum(per_workload[w.name][field] for w in self.scenario.workload
                            if w.protocol == "udp")
                   for key, field in (("lookups", "attempted"), ("answered", "established"))},
            },
            "connect_latency_s": _latency_stats(st),
            "delayed_fraction": {k: _fraction(v, n_est) for k, v in delayed.items()},
            "delayed_fraction_ci95": {k: proportion_ci95(v, n_est) for k, v in delayed.items()},
            "delayed_fraction_ci95_assumes": "independent connections (exact binomial); for "
            "correlated workloads such as aligned tickers use snatsim.replicate",
            "delayed_counts": {**delayed, "of": n_est, "never_completed": never},
            "insert_failed_causes": causes,
            "drops": {**causes, "table_full": self.drop_causes.get("table-full", 0)},
            "ports": {
                "preserved_fraction": _fraction(st.preserved, st.nat_known),
                "max_in_use": max_ports,
                "time_wait_evicted": self.time_wait_evicted,
            },
            "per_workload": per_workload,
            "warnings": self.warnings(),
            "provenance": self.provenance,
        }

    # ------------------------------------------------------------------ tables
    def to_frame(self) -> pd.DataFrame:
        """One row per measured connection kept (columns: :data:`snatsim.rundata.COLUMNS`).

        Raises :class:`RowsNotKeptError` when the run kept none (``simulate(..., rows=False)``,
        the default); with a cap, the frame holds the first connections that ended (see
        :attr:`rows_omitted`) and a :class:`UserWarning` says how many are missing.
        """
        if self.rows_cap == 0:
            raise RowsNotKeptError(
                f"this result kept no per-connection rows ({self.stats.attempted:,} connections "
                "were measured; the summary does not need them): run "
                "snatsim.simulate(scenario, rows=True) for up to 1,000,000 rows, rows=N for N, or "
                "rows='all' for every one (snatsim run: --out DIR --rows N|all)"
            )
        if self.rows_omitted:
            import warnings

            warnings.warn(
                f"to_frame() holds {len(self.rows):,} of {self.stats.attempted:,} measured "
                f"connections (rows={self.rows_cap:,}); pass rows='all' for every one",
                UserWarning, stacklevel=2,
            )
        return _rows_frame(self.rows)

    def timeseries(self) -> pd.DataFrame:
        """Per-second series over the whole run, indexed by ``second`` (warm-up included)."""
        import pandas as pd

        s = self.series
        data: dict[str, list[int]] = {
            "new_connections": s.new_connections,
            "syn_drops": s.syn_drops,
            "query_drops": s.query_drops,
            "conntrack_entries": s.conntrack_entries,
            "max_ports_in_use": s.max_ports_in_use,
        }
        for label, col in s.ports_in_use.items():
            data[f"ports_in_use[{label}]"] = col
        frame = pd.DataFrame(data)
        frame.index.name = "second"
        return frame

    def to_json(self, **kwargs: Any) -> str:
        """The summary as JSON text (deterministic for a given config and seed)."""
        return json.dumps(self.summary(), **kwargs)

    def rows_note(self) -> str | None:
        """What connections.csv lacks, in one line (None when it holds every connection)."""
        if self.rows_cap == 0:
            return ("connections.csv not written: no per-connection rows were kept "
                    "(snatsim run --rows N|all, or simulate(..., rows=True))")
        if self.rows_omitted:
            return (f"connections.csv holds the first {len(self.rows):,} of "
                    f"{self.stats.attempted:,} connections (--rows all keeps every one)")
        return None

    def write(self, out_dir: str | Path, *, force: bool = False) -> list[Path]:
        """Write summary.json, connections.csv, timeseries.csv and scenario.toml as one folder.

        The folder appears complete or not at all (:func:`snatsim.output.atomic_folder`); an
        existing run folder is replaced only with ``force``, in one step. connections.csv is
        skipped when the run kept no rows (:meth:`rows_note` says so).
        """
        from snatsim.output import write_folder

        files = {"summary.json": self.to_json(indent=2)}
        if self.rows_cap != 0:
            files["connections.csv"] = _rows_frame(self.rows).to_csv(index=False)
        files["timeseries.csv"] = self.timeseries().to_csv()
        files["scenario.toml"] = self.scenario.to_toml()
        return write_folder(out_dir, files, force=force)


def _rows_frame(rows: list[ConnectionRow]) -> pd.DataFrame:
    """Rows as a frame with the named columns (even when there are none)."""
    import pandas as pd

    return pd.DataFrame.from_records(rows, columns=list(COLUMNS))


def _latency_stats(stats: ConnectionStats) -> dict[str, float | None]:
    """Mean, percentiles (from the sketch) and max of the completed connects' latency."""
    sketch = stats.latency
    if sketch.count == 0:
        return {"mean": None, **dict.fromkeys(PERCENTILES), "max": None}
    out: dict[str, float | None] = {"mean": stats.latency_mean_s()}
    quantiles = sketch.quantiles([q / 100 for q in PERCENTILES.values()])
    out.update(zip(PERCENTILES, quantiles, strict=True))
    out["max"] = float(sketch.max)
    return out
