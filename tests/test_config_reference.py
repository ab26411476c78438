"""docs/config.md is generated from the schema, stays current, and describes every field."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import TypeAdapter

from snatsim.config import MAX_DURATION_S, Scenario
from snatsim.config_reference import COMMAND, default_text, models, render

DOC = Path(__file__).resolve().parents[1] / "docs" / "config.md"
FIELDS = [(m, name, f) for m in models() for name, f in m.model_fields.items()
          if name != "distribution"]  # the tag is the heading of its distribution's section


def test_docs_config_md_is_current() -> None:
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert current == render(), f"docs/config.md is stale; regenerate it: {COMMAND}"


@pytest.mark.parametrize(("model", "name", "field"), FIELDS,
                         ids=[f"{m.__name__}.{n}" for m, n, _ in FIELDS])
def test_every_field_has_a_description(model: type, name: str, field: object) -> None:
    description = getattr(field, "description", None)
    assert description, f"{model.__name__}.{name}: add Field(description=...)"
    assert "spec §" not in description, "users have docs/kernel.md: cite 'docs/kernel.md §x'"


def test_every_field_has_a_row() -> None:
    text = render()
    for model, name, _ in FIELDS:
        if model is Scenario:
            continue  # the sections: test_every_section_has_a_heading
        assert re.search(rf"^\| `{re.escape(name)}` \|", text, flags=re.M), (model, name)


def test_defaults_shown_are_the_schema_defaults() -> None:
    """Each default cell, read back as TOML and validated, equals the field's default."""
    checked = 0
    for _model, name, field in FIELDS:
        shown = default_text(field)
        if not shown.startswith("`"):
            continue  # required, absent or a whole section
        value = tomllib.loads(f"v = {shown.strip('`')}")["v"]
        tp = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
        adapter: TypeAdapter[object] = TypeAdapter(tp)  # with the field's validators
        assert adapter.validate_python(value) == field.default, name
        checked += 1
    assert checked >= 25


def test_bounds_come_from_the_constraints() -> None:
    row = next(line for line in render().splitlines() if line.startswith("| `duration_s`"))
    assert f"≤ {MAX_DURATION_S:g}" in row and "> 0" in row
    row = next(line for line in render().splitlines() if line.startswith("| `syn_era`"))
    assert "\"T0'\"" in row and '"T2"' in row


def test_every_section_has_a_heading() -> None:
    text = render()
    for name in Scenario.model_fields:
        assert f"## `[{name}]`" in text or f"## `[[{name}]]`" in text
