"""Era codes explained in one place (snatsim.kernel.legend): complete, in the docs, in the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from snatsim.cli import app
from snatsim.kernel.legend import FAMILIES, legend, legend_markdown, meaning
from snatsim.kernel.profiles import PROFILES, KernelProfile, resolve_profile

KERNEL_MD = Path(__file__).resolve().parents[1] / "docs" / "kernel.md"
runner = CliRunner()


def test_every_era_code_has_exactly_one_meaning() -> None:
    for family in FAMILIES:
        assert list(family.meanings) == [str(era) for era in family.eras], family.key
        assert all(text.strip() and "\n" not in text for text in family.meanings.values())
    assert [f.key for f in FAMILIES] == [k for k in KernelProfile.__dataclass_fields__
                                        if k.endswith("_era")]


def test_each_meaning_starts_with_the_kernels_it_applies_to() -> None:
    """E.g. "6.5+: ..." or "4.8–4.18: ...": the version the nearest rule gives that code."""
    for family in FAMILIES:
        for code, text in family.meanings.items():
            first = re.match(r"^(?:[≤<] )?(\d+\.\d+)", text)
            assert first is not None, (code, text)
            if not text.startswith(("≤", "<")):
                assert str(getattr(resolve_profile(first.group(1)), family.key)) == code


def test_docs_kernel_md_section_2_6_shows_the_legend() -> None:
    text = KERNEL_MD.read_text(encoding="utf-8")
    section = text[text.index("### 2.6 "):text.index("\n## 3.")]
    block = section[section.index("-->\n\n") + 5:section.index("<!-- /legend -->")]
    assert block == legend_markdown(), "paste `python -m snatsim.kernel.legend` into §2.6"


def test_kernels_prints_the_legend_below_the_table() -> None:
    result = runner.invoke(app, ["kernels"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    table, _, below = result.stdout.partition("Era codes (docs/kernel.md §2.6)")
    assert "6.18" in table and below
    for family in FAMILIES:
        for code, text in family.meanings.items():
            assert re.search(rf"^ *{re.escape(code)} +{re.escape(text)} *$", below, flags=re.M)


def test_kernels_for_one_version_explains_only_its_eras() -> None:
    result = runner.invoke(app, ["kernels", "5.15"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    below = result.stdout.partition("Era codes")[2]
    for code in ("A2", "C4", "P2", "T1"):
        assert re.search(rf"^ *{code} ", below, flags=re.M)
    for code in ("A1", "A3", "C3", "C5", "P3", "T2"):
        assert not re.search(rf"^ *{code} ", below, flags=re.M)


def test_kernels_json_carries_the_legend() -> None:
    result = runner.invoke(app, ["kernels", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == {"profiles": [p.to_dict() for p in PROFILES], "legend": legend()}
    one = json.loads(runner.invoke(app, ["kernels", "3.2", "--json"]).stdout)
    assert one["legend"] == {"nat_era": meaning("nat_era", "A1"),
                             "confirm_era": meaning("confirm_era", "C0"),
                             "client_era": meaning("client_era", "P0"),
                             "syn_era": meaning("syn_era", "T0'")}
