"""A sweep killed with a real SIGKILL midway and resumed by the same command, and the same sweep
on a real Dask ``LocalCluster``: every run once, rows identical to an uninterrupted local run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import snatsim
from snatsim.sweep import run_sweep

CONFIG = """\
[simulation]
duration_s = 2.0
warmup_s = 0.5
seed = 5

[kernel]
version = "4.14"

[node]
cpus = 4

[[workload]]
name = "api"
pods = 8
arrival = "poisson"
rate_per_s = 100.0
destinations = ["203.0.113.10:443"]
"""
GRID = ["nat.random_fully=false,true", "workload.0.rate_per_s=20..400:lin:20"]  # 40 points
KILL_AFTER = 12  # runs committed before the kill


def _rows(path: Path) -> list[dict[str, object]]:
    frame = snatsim.load_results(path).drop(columns=["wall_s"])
    return json.loads(frame.to_json(orient="records"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, object]]]:
    """The sweep run without interruption, in this process (one worker)."""
    folder = tmp_path_factory.mktemp("reference")
    config = folder / "cfg.toml"
    config.write_text(CONFIG, encoding="utf-8")
    run_sweep(config, GRID, folder / "ref.db", workers=1)
    rows = _rows(folder / "ref.db")
    assert len(rows) == 40
    return config, rows


def _sweep_command(config: Path, out: Path) -> list[str]:
    argv = [sys.executable, "-m", "snatsim.cli", "sweep", str(config), "--out", str(out),
            "--workers", "2", "--progress-every", "0"]
    for spec in GRID:
        argv += ["--grid", spec]
    return argv


@pytest.mark.slow
def test_sigkill_midway_then_the_same_command_resumes(
        reference: tuple[Path, list[dict[str, object]]], tmp_path: Path) -> None:
    config, expected = reference
    out = tmp_path / "s.db"
    # progress lines come after each run is committed (--progress-every 0: one per run)
    proc = subprocess.Popen(_sweep_command(config, out), stderr=subprocess.PIPE, text=True,
                            stdout=subprocess.DEVNULL, start_new_session=True)
    assert proc.stderr is not None
    committed = 0
    for line in proc.stderr:
        if line.startswith("progress: "):
            committed = int(line.split()[1].split("/")[0].replace(",", ""))
            if committed >= KILL_AFTER:
                break
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker processes, mid-flight
    proc.wait(timeout=60)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL and committed >= KILL_AFTER
    with sqlite3.connect(f"{out.absolute().as_uri()}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    conn.close()
    assert KILL_AFTER <= stored < 40  # killed midway: some runs stored, not all
    done = subprocess.run(_sweep_command(config, out), capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert f"ran {40 - stored} runs" in done.stdout and f"{stored} were already there" in done.stdout
    rows = _rows(out)
    assert [(r["point"], r["replicate"]) for r in rows] == [(p, 0) for p in range(40)]
    assert rows == expected


@pytest.mark.slow
def test_a_dask_local_cluster_gives_identical_rows(
        reference: tuple[Path, list[dict[str, object]]], tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    config, expected = reference
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", protocol="tcp://", dashboard_address="127.0.0.1:0"
                                  ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        outcome = run_sweep(config, GRID, tmp_path / "dask.db",
                            scheduler=cluster.scheduler_address)
    assert (outcome.ran, outcome.workers) == (40, "dask")
    assert _rows(tmp_path / "dask.db") == expected
