"""README.md (issue #11): its Python API block runs as a doctest; its cheat sheet lists every command."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def python_blocks(text: str) -> list[str]:
    """The fenced ```python blocks of a markdown text."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)


def test_the_readme_python_api_block_runs_as_a_doctest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``>>>`` block of the README, run from the repository root (its configs/ paths)."""
    blocks = [b for b in python_blocks(README) if b.lstrip().startswith(">>>")]
    assert blocks, "README.md has no doctest block"
    monkeypatch.chdir(ROOT)
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for i, block in enumerate(blocks):
        test = parser.get_doctest(block, {}, f"README.md python block {i}", "README.md", 0)
        assert len(test.examples) <= 12  # "the Python API in ten lines"
        result = runner.run(test, out=lambda _text: None)
        assert result.failed == 0, f"README.md python block {i}: run it by hand to see the diff"
        assert result.attempted == len(test.examples) > 0


def test_the_cli_cheat_sheet_lists_every_command() -> None:
    """The README's cheat sheet is in sync with the commands on main (COMMAND_MODULES)."""
    from snatsim.cli import app

    sheet = README.split("## CLI cheat sheet", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `snatsim ([a-z-]+)", sheet, flags=re.M))
    import typer.main

    group = typer.main.get_group(app)
    assert listed == set(group.commands)
