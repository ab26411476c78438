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
