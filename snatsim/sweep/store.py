"""The results file of a sweep: one SQLite database (stdlib :mod:`sqlite3`, WAL journal).

Tables
------
``meta(key, value)``
    ``format = snatsim-sweep``, ``schema``, the ``fingerprint`` of what is swept (the resolved base
    config, the grid, the engine, ``--crn`` and the seed), the base ``config`` (TOML), the
    ``grid`` (JSON), ``engine``, ``crn``, ``seed``, the root ``entropy`` and ``created_by``.
``points(point, overrides, swept, config)``
    Each point once: its ``--set`` overrides (JSON), its swept values (JSON) and its fully
    resolved scenario (TOML), written before any run.
``runs(point, replicate, swept, metrics, entropy, spawn_key, wall_s, snatsim_version, engine)``
    One row per finished (point, replicate), ``UNIQUE(point, replicate)``, each written in its own
    transaction: a sweep killed at any moment (SIGKILL included) loses at most the runs in flight,
    and the same command again skips every row present. ``metrics`` holds the flattened summary
    (:mod:`snatsim.sweep.columns`) as JSON, so a new summary key needs no schema change.

Durability: ``synchronous = NORMAL`` in WAL mode. A committed row survives the process being
killed; only an operating-system crash or power loss can undo the last few commits (they are then
run again on resume, never half-written).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snatsim.errors import ConfigError
from snatsim.sweep.columns import FIXED_COLUMNS, PROVENANCE_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FORMAT", "ResultsFileError", "Store", "check_results_path", "load_results"]

FORMAT = "snatsim-sweep"
SCHEMA = "1"
_SQLITE_MAGIC = b"SQLite format 3\x00"

_TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE points (
    point INTEGER PRIMARY KEY,
    overrides TEXT NOT NULL,
    swept TEXT NOT NULL,
    config TEXT NOT NULL
);
CREATE TABLE runs (
    point INTEGER NOT NULL REFERENCES points(point),
    replicate INTEGER NOT NULL,
    swept TEXT NOT NULL,
    metrics TEXT NOT NULL,
    entropy TEXT NOT NULL,
    spawn_key TEXT NOT NULL,
    wall_s REAL NOT NULL,
    snatsim_version TEXT NOT NULL,
    engine TEXT NOT NULL,
    UNIQUE (point, replicate)
);
"""


class ResultsFileError(ConfigError):
    """A results file that is not a snatsim sweep, or that holds a different sweep."""


def _connect(path: Path, *, read_only: bool) -> sqlite3.Connection:
    uri = path.absolute().as_uri() + ("?mode=ro" if read_only else "")
    conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def read_meta(path: Path, flag: str) -> dict[str, str]:
    """The meta table of an existing results file; refuses anything else, writing nothing."""
    shown = f"{flag} {str(path)!r}" if flag else repr(str(path))
    if path.is_dir():
        raise ResultsFileError(shown, "is a folder; give a results file such as sweep.db")
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        raise ResultsFileError(shown, "no such file; run snatsim sweep ... --out FILE first") from None
    except OSError as exc:
        raise ResultsFileError(shown, f"cannot read it ({exc.strerror})") from None
    if head != _SQLITE_MAGIC:
        raise ResultsFileError(shown, "is not a snatsim results database (not SQLite); it is never "
                               "overwritten: choose another file")
    conn = _connect(path, read_only=True)
    try:
        rows = conn.execute("SELECT key, value FROM meta").fetchall()
    except sqlite3.DatabaseError:
        rows = []
    finally:
        conn.close()
    meta = {row["key"]: row["value"] for row in rows}
    if meta.get("format") != FORMAT:
        raise ResultsFileError(shown, "is an SQLite database but not a snatsim results file; it "
                               "is never overwritten: choose another file")
    if meta.get("schema") != SCHEMA:
        raise ResultsFileError(shown, f"has results schema {meta.get('schema')!r}; this snatsim "
                               f"reads schema {SCHEMA}: use the snatsim that wrote it")
    return meta


def check_results_path(path: Path, fingerprint: str, flag: str = "--out") -> dict[str, str] | None:
    """Check ``--out`` before any work: the meta of the sweep to resume, or ``None`` for a new file.

    Raises
    ------
    ResultsFileError
        The file exists but is not a snatsim results file, or holds a different sweep.
    OutputPathError
        The place cannot be written (read-only, permission, a parent that is a file, a bad name).
    """
    from snatsim.output import check_new_file

    if path.exists() or path.is_symlink():
        meta = read_meta(path, flag)
        if meta["fingerprint"] != fingerprint:
            raise ResultsFileError(
                f"{flag} {str(path)!r}", "holds a different sweep (another config, grid, engine, "
                "--crn, seed or Monte Carlo sampling); results are never mixed: choose a new "
                "file, or run the command that made it"
            )
        check_new_file(path, flag, existing=True)
        return meta
    check_new_file(path, flag)
    return None


class Store:
    """An open results file that a sweep writes, one transaction per finished run."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @classmethod
    def create(cls, path: Path, meta: Mapping[str, str],
               points: list[tuple[int, list[str], dict[str, Any], str]]) -> Store:
        """Create the file with its meta and every point (``point, overrides, swept, config``) in
        one transaction: it is a complete, empty sweep or not there at all."""
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = _connect(path, read_only=False)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            with _transaction(conn):
                for statement in _TABLES.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.executemany("INSERT INTO meta VALUES (?, ?)",
                                 [("format", FORMAT), ("schema", SCHEMA), *meta.items()])
                conn.executemany(
                    "INSERT INTO points VALUES (?, ?, ?, ?)",
                    [(p, json.dumps(o), json.dumps(s), c) for p, o, s, c in points],
                )
        except BaseException:
            conn.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            raise
        return cls(conn)

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open an existing results file (checked by :func:`check_results_path`) to resume it."""
        conn = _connect(path, read_only=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        return cls(conn)

    def done(self) -> set[tuple[int, int]]:
        """The (point, replicate) pairs already stored."""
        return {(row[0], row[1]) for row in self.conn.execute("SELECT point, replicate FROM runs")}

    def add(self, row: Mapping[str, Any]) -> bool:
        """Store one finished run in its own transaction; False if it was already there."""
        with _transaction(self.conn):
            cursor = self.conn.execute(
                "INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row["point"], row["replicate"], json.dumps(row["swept"]),
                 json.dumps(row["metrics"]), row["entropy"], json.dumps(row["spawn_key"]),
                 row["wall_s"], row["snatsim_version"], row["engine"]),
            )
        return cursor.rowcount == 1

    def close(self) -> None:
        """Close the file (the WAL is checkpointed into it when the last connection closes)."""
        self.conn.close()


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def load_results(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A sweep's results file as a pandas DataFrame: one row per finished (point, replicate).

    Columns (:mod:`snatsim.sweep.columns`): ``point``, ``replicate``, the swept keys as given
    (``nat.random_fully``), every summary metric by its dotted path (``delayed_fraction.ge_1s``)
    with intervals as ``*_lo``/``*_hi``, ``warnings``, then ``entropy``, ``spawn_key``, ``wall_s``,
    ``snatsim_version`` and ``engine``. Rows are sorted by point, then replicate.
    ``frame.attrs`` holds ``swept`` (the swept keys, in grid order), ``grid``, ``engine``,
    ``crn`` and ``config`` (the base scenario as TOML).

    Raises
    ------
    ResultsFileError
        The file is missing, or not a snatsim results file.
    """
    import pandas as pd

    file = Path(path)
    meta = read_meta(file, "")
    grid = json.loads(meta["grid"])
    swept = [key for axis in grid for key in axis["keys"]]
    conn = _connect(file, read_only=True)
    try:
        rows = conn.execute("SELECT * FROM runs ORDER BY point, replicate").fetchall()
    finally:
        conn.close()
    records, metric_names = [], dict.fromkeys(["warnings"])
    for row in rows:
        metrics = {k: v for k, v in json.loads(row["metrics"]).items() if k not in swept}
        metric_names.update(dict.fromkeys(metrics))
        record = {"point": row["point"], "replicate": row["replicate"],
                  **json.loads(row["swept"]), **metrics}
        record.update({name: row[name] for name in PROVENANCE_COLUMNS})
        records.append(record)
    metric_names.pop("warnings")
    columns = [*FIXED_COLUMNS, *swept, *metric_names, "warnings", *PROVENANCE_COLUMNS]
    frame = pd.DataFrame.from_records(records, columns=columns)
    frame.attrs.update({"swept": swept, "grid": grid, "engine": meta["engine"],
                        "crn": meta["crn"] == "true", "config": meta["config"]})
    return frame
