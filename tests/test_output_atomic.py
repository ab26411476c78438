"""Result folders and traces are never half-written: a real SIGKILL, --force, failures mid-write."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from snatsim import output
from snatsim.config import load_scenario
from snatsim.output import atomic_folder, partial_file
from snatsim.results import simulate

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "default.toml"
SHORT = ["simulation.duration_s=3", "simulation.warmup_s=1"]
RUN_FILES = {"summary.json", "connections.csv", "timeseries.csv", "scenario.toml"}


def contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def old_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A complete run folder to be protected (or replaced)."""
    folder = tmp_path_factory.mktemp("old") / "run"
    simulate(load_scenario(CONFIG, SHORT), rng=1).write(folder)
    return contents(folder)


def long_run(target: Path, trace: Path, *flags: str) -> subprocess.Popen[str]:
    """A 600 s run with --out and --trace in a real process, one progress line per simulated s."""
    cmd = [sys.executable, "-m", "snatsim.cli", "run", str(CONFIG),
           "--set", "simulation.duration_s=600", "--set", "simulation.warmup_s=0",
           "--out", str(target), "--force", "--trace", str(trace), "--progress-every", "0", *flags]
    plain = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=plain)


def plant(old: dict[str, bytes], folder: Path) -> None:
    folder.mkdir(parents=True)
    for name, data in old.items():
        (folder / name).write_bytes(data)


def test_sigkill_mid_run_leaves_the_old_run_and_only_the_partial_trace(
    tmp_path: Path, old_run: dict[str, bytes]
) -> None:
    target = tmp_path / "run"
    plant(old_run, target)
    with long_run(target, tmp_path / "t.jsonl", "--json") as proc:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # blocks until the run has simulated its first second
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert first.startswith("progress: 1/600 simulated s"), first
    assert proc.returncode == -signal.SIGKILL
    assert contents(target) == old_run  # the old run, complete and alone
    assert (tmp_path / "t.jsonl.partial").exists()  # the marker of an unfinished trace
    assert not (tmp_path / "t.jsonl").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "t.jsonl.partial"]


def test_ctrl_c_is_one_line_exit_130_and_leaves_no_half_written_output(
    tmp_path: Path, old_run: dict[str, bytes]
) -> None:
    target = tmp_path / "run"
    plant(old_run, target)
    with long_run(target, tmp_path / "t.jsonl") as proc:
        assert proc.stderr is not None
        proc.stderr.readline()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate()
    assert proc.returncode == 130, stderr
    assert stdout == "" and "Traceback" not in stderr
    last = [line for line in stderr.splitlines() if not line.startswith("progress: ")]
    assert last == [f"interrupted; nothing was written to {target}; the trace so far is in "
                    f"{tmp_path / 't.jsonl'}.partial"]
    assert contents(target) == old_run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "t.jsonl.partial"]


def test_force_replaces_a_run_folder_with_exactly_the_new_run(tmp_path: Path) -> None:
    target = tmp_path / "out"
    reps = [sys.executable, "-m", "snatsim.cli", "run", str(CONFIG), "--set", SHORT[0],
            "--set", SHORT[1], "--out", str(target), "--json"]
    assert subprocess.run([*reps, "--replicates", "2", "--workers", "1"], capture_output=True,
                          check=False).returncode == 0
    assert (target / "replicates").is_dir()
    again = subprocess.run([*reps, "--seed", "5"], capture_output=True, text=True, check=False)
    assert again.returncode == 2 and "--force" in again.stderr  # not replaced without --force
    forced = subprocess.run([*reps, "--seed", "5", "--force"], capture_output=True, check=False)
    assert forced.returncode == 0
    assert {p.name for p in target.iterdir()} == RUN_FILES  # no file of the replicate run left
    assert json.loads((target / "summary.json").read_text())["provenance"]["seed"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging or old folder


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "rename-aside"])
def test_force_replacement_with_and_without_renameat2(
    tmp_path: Path, old_run: dict[str, bytes], monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    if not exchange:
        monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    target = tmp_path / "run"
    plant({**old_run, "extra.txt": b"old"}, target)
    with atomic_folder(target, force=True) as staging:
        (staging / "summary.json").write_text("{}")
    assert contents(target) == {"summary.json": b"{}"}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_an_error_while_writing_leaves_the_target_untouched(
    tmp_path: Path, old_run: dict[str, bytes]
) -> None:
    target = tmp_path / "run"
    plant(old_run, target)
    with pytest.raises(RuntimeError, match="disk full"), atomic_folder(target, force=True) as st:
        (st / "summary.json").write_text("{}")
        raise RuntimeError("disk full")
    assert contents(target) == old_run
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # the staging folder is gone


def test_a_new_folder_is_created_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "new" / "run"
    with atomic_folder(target) as staging:
        (staging / "summary.json").write_text("{}")
        assert not target.exists()
    assert contents(target) == {"summary.json": b"{}"}


def test_a_trace_is_renamed_only_when_the_run_ends_normally(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text("previous\n")
    with pytest.raises(KeyboardInterrupt), partial_file(trace) as stream:
        stream.write("half\n")
        raise KeyboardInterrupt
    assert trace.read_text() == "previous\n"
    assert (tmp_path / "t.jsonl.partial").read_text() == "half\n"
    simulate(load_scenario(CONFIG, ["simulation.duration_s=1", "simulation.warmup_s=0"]),
             trace=trace)
    assert not (tmp_path / "t.jsonl.partial").exists()
    assert json.loads(trace.read_text().splitlines()[0])["step"] == "syn"


def test_a_symlinked_run_folder_is_replaced_through_the_link(
    tmp_path: Path, old_run: dict[str, bytes]
) -> None:
    real = tmp_path / "real"
    plant(old_run, real)
    (tmp_path / "link").symlink_to(real)
    with atomic_folder(tmp_path / "link", force=True) as staging:
        (staging / "summary.json").write_text("{}")
    assert (tmp_path / "link").is_symlink()
    assert contents(real) == {"summary.json": b"{}"}
