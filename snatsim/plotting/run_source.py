"""One run to plot, from a folder ``snatsim run --out DIR`` wrote or from a
:class:`~snatsim.results.SimulationResult` in Python.

A folder holds ``summary.json`` (the marker of a run folder), ``scenario.toml`` (the fully
resolved scenario), ``timeseries.csv`` (one row per simulated second) and, unless the run kept no
rows, ``connections.csv`` (one row per measured connection). The rows are read only when a figure
needs them, and only the columns it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from snatsim.errors import ConfigError, RowsNotKeptError

if TYPE_CHECKING:
    import pandas as pd

    from snatsim.config import Scenario
    from snatsim.results import SimulationResult

__all__ = ["NotARunError", "RunLike", "RunSource", "run_source"]

RunLike = Union["SimulationResult", str, Path]
"""What the run figures take: a result in memory, or the path of a run folder."""


class NotARunError(ConfigError):
    """A path that is not a folder written by ``snatsim run --out``."""


@dataclass(frozen=True)
class RunSource:
    """A run's scenario, its per-second series and (on demand) its per-connection rows."""

    scenario: Scenario
    name: str | None  # the folder's name; None for a result in memory
    timeseries: pd.DataFrame  # indexed by second: new_connections, syn_drops, ports_in_use[...]
    _result: SimulationResult | None = None
    _folder: Path | None = None

    def rows(self, columns: tuple[str, ...]) -> pd.DataFrame:
        """The measured connections' rows (only ``columns``).

        Raises
        ------
        RowsNotKeptError
            The run kept no per-connection rows (the message says how to keep them).
        """
        if self._result is not None:
            return self._result.to_frame().loc[:, list(columns)]
        assert self._folder is not None
        path = self._folder / "connections.csv"
        if not path.is_file():
            raise RowsNotKeptError(
                f"{str(self._folder)!r} holds no connections.csv (the run kept no "
                "per-connection rows); run it again with snatsim run --out DIR --rows all"
            )
        return _read_csv(path, self._folder, usecols=list(columns))


def _read_csv(path: Path, folder: Path, **kwargs: Any) -> pd.DataFrame:
    """``pd.read_csv``, with a file that cannot be read as one :class:`NotARunError`."""
    import pandas as pd

    try:
        frame: pd.DataFrame = pd.read_csv(path, **kwargs)
    except (OSError, ValueError, UnicodeDecodeError) as exc:  # ParserError is a ValueError
        reason = " ".join(str(exc).split())[:120]
        raise NotARunError(
            "RUN_DIR", f"{path.name} in {str(folder)!r} cannot be read ({reason}); write the "
            "folder again with snatsim run --out DIR --force"
        ) from None
    return frame


def _read_folder(folder: Path, given: str) -> RunSource:
    from snatsim.config import load_scenario
    from snatsim.output import is_run_folder

    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is a file, not a folder"
        raise NotARunError(
            "RUN_DIR", f"{given!r} {what}; give a folder written by snatsim run --out DIR"
        )
    if not is_run_folder(folder):
        raise NotARunError(
            "RUN_DIR", f"{given!r} is not a run folder (no summary.json); give a folder written "
            "by snatsim run --out DIR"
        )
    if (folder / "replicates").is_dir() or not (folder / "timeseries.csv").is_file():
        raise NotARunError(
            "RUN_DIR", f"{given!r} holds no timeseries.csv (a --replicates folder keeps only "
            "summaries); plot a single run's folder (snatsim run CONFIG --out DIR)"
        )
    scenario = load_scenario(folder / "scenario.toml")
    timeseries = _read_csv(folder / "timeseries.csv", folder, index_col="second")
    if not {"new_connections", "syn_drops", "query_drops"} <= set(timeseries.columns):
        raise NotARunError(
            "RUN_DIR", f"timeseries.csv in {given!r} lacks the per-second columns snatsim run "
            "writes; write the folder again with snatsim run --out DIR --force"
        )
    return RunSource(scenario, folder.name, timeseries, _folder=folder)


def run_source(run: RunLike) -> RunSource:
    """A :class:`RunSource` for a result or a run folder's path.

    Raises
    ------
    NotARunError
        The path is not a single run's folder (field ``RUN_DIR``).
    """
    if isinstance(run, str | Path):
        return _read_folder(Path(run), str(run))
    from snatsim.results import SimulationResult

    if not isinstance(run, SimulationResult):
        raise TypeError(
            f"expected a SimulationResult or the path of a run folder, not {type(run).__name__}"
        )
    return RunSource(run.scenario, None, run.timeseries(), _result=run)
