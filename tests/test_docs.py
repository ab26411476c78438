"""The project stands alone: its docs point inside the repository, and every cited § exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md"]
TEXTS = [*DOCS, *sorted((ROOT / "snatsim").rglob("*.py")), *sorted((ROOT / "tests").rglob("*.py")),
         *sorted((ROOT / "benchmarks").glob("*.py")), *sorted((ROOT / "configs").glob("*.toml"))]


def _kernel_md_sections() -> set[str]:
    spec = (ROOT / "docs" / "kernel.md").read_text(encoding="utf-8")
    return set(re.findall(r"^##+ (\d+(?:\.\d+)?)[. ]", spec, flags=re.M))


def test_nothing_points_outside_the_repository() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in TEXTS if p != Path(__file__).resolve()
                 and re.search(r"\.\./shared|shared/kernel-spec", p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_docs_have_no_links_or_urls_outside_the_repository() -> None:
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        assert not re.search(r"https?://|www\.|<[^>\s]+@[^>\s]+>", text), doc.name
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            assert (doc.parent / target).exists(), f"{doc.name}: link to missing {target}"


def test_every_cited_section_and_subsection_is_in_docs_kernel() -> None:
    """Every "§4.4", "§13.3" or "§16.1" anywhere in the project is a heading of docs/kernel.md."""
    headings = _kernel_md_sections()
    cited: dict[str, str] = {}
    for p in TEXTS:
        for m in re.findall(r"§(\d+(?:\.\d+)?)", p.read_text(encoding="utf-8")):
            cited.setdefault(m, str(p.relative_to(ROOT)))
    assert len(cited) > 30 and any("." in c for c in cited)
    missing = {c: where for c, where in cited.items() if c not in headings}
    assert missing == {}, "cited sections that docs/kernel.md does not have (first file citing each)"


def test_kernel_md_is_numbered_without_gaps() -> None:
    """Sections 1-16, and subsections numbered 1, 2, 3, ... within each."""
    headings = _kernel_md_sections()
    top = sorted(int(h) for h in headings if "." not in h)
    assert top == list(range(1, 17))
    for n in top:
        subs = sorted(int(h.split(".")[1]) for h in headings if h.startswith(f"{n}."))
        assert subs == list(range(1, len(subs) + 1)), n


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
