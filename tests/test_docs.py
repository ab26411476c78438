"""The project stands alone: its docs point inside the repository, and every cited § exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         *sorted((ROOT / "snatsim").rglob("*.py")), *sorted((ROOT / "configs").glob("*.toml"))]


def test_nothing_points_outside_the_repository() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in TEXTS
                 if re.search(r"\.\./shared|shared/kernel-spec", p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_every_cited_top_level_section_is_in_docs_kernel() -> None:
    spec = (ROOT / "docs" / "kernel.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^##+ (\d+(?:\.\d+)?)[. ]", spec, flags=re.M))
    cited = {m.split(".")[0] for p in TEXTS if p.suffix == ".py"
             for m in re.findall(r"§(\d+(?:\.\d+)?)", p.read_text(encoding="utf-8"))}
    assert cited and cited <= headings


def test_help_and_output_cite_docs_kernel_md_not_a_spec() -> None:
    """A user has docs/kernel.md, not "the spec": help texts and printed output say where to look."""
    from typer.testing import CliRunner

    from snatsim.cli import COMMAND_MODULES, app
    from snatsim.config_reference import render

    invocations = [["--help"], *([c, "--help"] for c in COMMAND_MODULES),
                   ["kernels"], ["kernels", "6.99"], ["kernels", "5.15.0-91-generic"],
                   ["run", str(ROOT / "configs" / "default.toml"), "--set",
                    "simulation.duration_s=1", "--set", "simulation.warmup_s=0"]]
    outputs = {"docs/config.md": render()}
    runner = CliRunner()
    for args in invocations:
        result = runner.invoke(app, args, env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        outputs[" ".join(args)] = result.output
    for what, text in outputs.items():
        assert not re.search(r"\bspec\b", text), what
    assert "docs/kernel.md §2.6" in outputs["kernels"]
    assert "docs/kernel.md §16.1" in outputs[" ".join(invocations[-1])]
