"""Every case of the bad-input corpus (``tests/bad_inputs.py``) through the real CLI, and every
``run`` case given to ``estimate`` too.

Each must exit 2 with one readable message on stderr: an ``error: ...`` headline, then only
indented lines (one per further field), no traceback, no rich panel; nothing on stdout; and no file
or folder created next to the config (``--out`` and ``--trace`` are given in every default case).
A representative subset also runs as a separate ``python -m snatsim.cli`` process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from bad_inputs import CORPUS, ESTIMATE_CORPUS, BadInput
from typer.testing import CliRunner

from snatsim.cli import app

MAX_LINE = 400  # characters: a message line a user can read in a terminal


def _prepare(case: BadInput, tmp: Path) -> set[Path]:
    if isinstance(case.config, bytes):
        (tmp / "cfg.toml").write_bytes(case.config)
    elif case.config is not None:
        (tmp / "cfg.toml").write_text(case.config, encoding="utf-8")
    if case.prepare is not None:
        case.prepare(tmp)
    return set(tmp.rglob("*"))


def _check(case: BadInput, code: int, stdout: str, stderr: str) -> None:
    assert code == 2, (code, stdout, stderr)
    assert stdout == ""
    assert "Traceback" not in stderr and "╭" not in stderr and "│" not in stderr, stderr
    lines = stderr.splitlines()
    assert lines and lines[0].startswith("error: "), stderr
    assert all(line.startswith("  ") and line.strip() for line in lines[1:]), stderr
    assert all(len(line) <= MAX_LINE for line in lines), stderr
    for text in case.expect:
        assert text in stderr, (text, stderr)


def test_the_corpus_is_large_and_its_names_are_unique() -> None:
    names = [case.name for case in CORPUS]
    assert len(names) >= 80 and len(set(names)) == len(names)


@pytest.mark.parametrize("case", [*CORPUS, *ESTIMATE_CORPUS], ids=lambda case: case.name)
def test_bad_input_is_one_message_exit_2_and_writes_nothing(case: BadInput, tmp_path: Path) -> None:
    before = _prepare(case, tmp_path)
    result = CliRunner().invoke(app, case.args(tmp_path))
    _check(case, result.exit_code, result.stdout, result.stderr)
    assert set(tmp_path.rglob("*")) == before


def test_the_estimate_corpus_covers_run_and_its_own_flags() -> None:
    run_cases = [c for c in CORPUS if c.argv[0] == "run"]
    assert len(ESTIMATE_CORPUS) == len(run_cases) >= 80
    own = {c.name for c in CORPUS if c.argv[0] == "estimate"}
    assert {"estimate: --trials 0", "estimate: --rel-error 2",
            "estimate: --trials and --rel-error"} <= own


@pytest.mark.parametrize(
    "case", [c for c in [*CORPUS, *ESTIMATE_CORPUS] if c.subprocess], ids=lambda case: case.name
)
def test_bad_input_in_a_real_process(case: BadInput, tmp_path: Path) -> None:
    before = _prepare(case, tmp_path)
    cmd = [sys.executable, "-m", "snatsim.cli", *case.args(tmp_path)]
    out = subprocess.run(
        cmd, capture_output=True, text=True, encoding="utf-8", check=False, cwd=tmp_path,
        timeout=120,
    )
    _check(case, out.returncode, out.stdout, out.stderr)
    assert set(tmp_path.rglob("*")) == before
