"""The configuration reference (docs/config.md), generated from the scenario schema.

Run ``python -m snatsim.config_reference > docs/config.md`` after changing a field of
:mod:`snatsim.config` or :mod:`snatsim.config_workload`; ``tests/test_config_reference.py`` fails when
the file is stale or a field has no ``description``.

Everything printed comes from the pydantic models: the type from the annotation, the default from the
field, the allowed values from its constraints (``gt``, ``ge``, ``le``, ``min_length``), its
``Literal`` choices or, where a validator decides, the ``allowed`` entry of ``json_schema_extra``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from snatsim.config import Scenario
from snatsim.config_workload import ARRIVALS, Destination, WorkloadConfig, field_condition
from snatsim.distributions import Distribution

__all__ = ["COMMAND", "models", "render"]

COMMAND = "python -m snatsim.config_reference > docs/config.md"

_SCALARS = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _distribution_kinds() -> tuple[type[BaseModel], ...]:
    return tuple(get_args(Distribution))


def models() -> Iterator[type[BaseModel]]:
    """Every model of the schema: the scenario, its sections, workload, destination, distributions."""
    yield Scenario
    for field in Scenario.model_fields.values():
        yield _model_of(field.annotation)
    yield Destination
    yield from _distribution_kinds()


def _model_of(annotation: Any) -> type[BaseModel]:
    """The section model behind ``annotation`` (a model, or a tuple of models for ``workload``)."""
    args = get_args(annotation)
    model = args[0] if get_origin(annotation) is tuple else annotation
    assert isinstance(model, type) and issubclass(model, BaseModel)
    return model


# ------------------------------------------------------------------------------- one field's cells
def _strip(tp: Any) -> tuple[Any, bool]:
    """Remove Annotated wrappers and ``None`` from a union; say whether None was allowed."""
    optional = False
    while True:
        origin = get_origin(tp)
        if origin is not None and hasattr(tp, "__metadata__"):
            tp = get_args(tp)[0]
        elif origin in (Union, UnionType) and type(None) in get_args(tp):
            optional = True
            members = [a for a in get_args(tp) if a is not type(None)]
            tp = members[0] if len(members) == 1 else Union[tuple(members)]  # noqa: UP007
        else:
            return tp, optional


def type_text(annotation: Any) -> str:
    """The TOML type of a field, e.g. ``number``, ``list of strings``, ``number or distribution``."""
    tp, _ = _strip(annotation)
    members = get_args(tp)
    if get_origin(tp) in (Union, UnionType):
        if set(members) == set(_distribution_kinds()):
            return "number or distribution"
        return " or ".join(type_text(m) for m in members)
    if get_origin(tp) is Literal:
        return _SCALARS[type(members[0])]
    if get_origin(tp) is tuple:
        item = type_text(members[0])
        return f"list of {item}" if item.endswith(")") else f"list of {item}s"
    if tp is Destination:
        return "destinations (below)"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "table"
    return _SCALARS[tp]


def _toml(value: Any) -> str:
    """A default as it would be written in TOML (a fixed distribution is a bare number)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, _distribution_kinds()):
        data = value.model_dump()
        if data["distribution"] == "fixed":
            return _toml(data["value"])
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in data.items()) + "}"
    if isinstance(value, float) and value.is_integer():
        return f"{value:.1f}"
    return repr(value)


def default_text(field: FieldInfo) -> str:
    """``required``, ``absent`` (None: the description says what that means) or the TOML default."""
    if field.is_required():
        return "required"
    extra = field.json_schema_extra
    if isinstance(extra, dict) and "shown_default" in extra:
        return f"*{extra['shown_default']}*"  # a validator fills it in (e.g. from the index)
    if field.default_factory is not None:
        return "table"
    if field.default is None or field.default is PydanticUndefined:
        return "absent"
    return f"`{_toml(field.default)}`"


def allowed_text(field: FieldInfo) -> str:
    """Allowed values from the field's Literal choices, numeric bounds and length limits."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and "allowed" in extra:
        return str(extra["allowed"])
    tp, _ = _strip(field.annotation)
    parts: list[str] = []
    literals = [a for m in (get_args(tp) or (tp,)) if get_origin(m) is Literal for a in get_args(m)]
    if get_origin(tp) is Literal:
        literals = list(get_args(tp))
    parts += [f'"{v}"' for v in literals]
    if get_origin(tp) is Literal:
        return ", ".join(parts)
    signs = (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤"))
    for item in field.metadata:
        for attr, sign in signs:
            bound = getattr(item, attr, None)
            if bound is not None:
                parts.append(f"{sign} {bound:,}" if isinstance(bound, int) else f"{sign} {bound:g}")
        if isinstance(item, at.MinLen):
            parts.append(f"at least {item.min_length} " + ("entry" if get_origin(tp) is tuple
                                                           else "character"))
    if tp is str and not parts:
        return "any text"
    return ", ".join(parts)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(model: type[BaseModel], *, conditions: bool = False) -> list[str]:
    header = ["key", "type", "default", "allowed"] + (["used with"] if conditions else [])
    header.append("description")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, field in model.model_fields.items():
        cells = [f"`{name}`", type_text(field.annotation), default_text(field), allowed_text(field)]
        if conditions:
            cells.append(f"`{field_condition(name)}`" if field_condition(name) else "any")
        cells.append(field.description or "")
        lines.append("| " + " | ".join(_escape(c) for c in cells) + " |")
    return lines


# ------------------------------------------------------------------------------------ the document
_INTRO = f"""\
# Configuration reference

<!-- Generated from the schema by `{COMMAND}`; do not edit by hand.
tests/test_config_reference.py fails when this file is stale. -->

A scenario is a TOML file (examples in `configs/`). Every section is optional except at least one
`[[workload]]`; a key left out takes the default below. Any key can be overridden on the command line
with `--set section.key=value` (`--set workload.0.pods=8`); `--set key=null` removes a key, so it falls
back to its default. Unknown keys and bad values are reported all at once, one line per field, with
the fix.

- **type** is the TOML type. *number or distribution* means a bare number (a fixed value) or a
  distribution table, see [Distributions](#distributions).
- **default** *absent* means the key is not set; the description says what the simulator does then.
- **allowed** lists the choices or bounds that validation enforces.
- `§x.y` refers to a section of [the kernel behaviour reference](kernel.md).
"""


def render() -> str:
    """The whole of docs/config.md as Markdown text."""
    out = [_INTRO, "## Sections", "", "| section | what it sets |", "|---|---|"]
    headings = {name: _heading(name) for name in Scenario.model_fields}
    for name, field in Scenario.model_fields.items():
        out.append(f"| `{headings[name]}` | {field.description} |")
    for name, field in Scenario.model_fields.items():
        model = _model_of(field.annotation)
        description = str(field.description)
        out += ["", f"## `{headings[name]}`", "", description[:1].upper() + description[1:] + ".", ""]
        out += _table(model, conditions=model is WorkloadConfig)
        if model is WorkloadConfig:
            out += _workload_extras()
    out += _distributions()
    return "\n".join(out) + "\n"


def _heading(section: str) -> str:
    """``[kernel]``, or ``[[workload]]`` for the section that is a list of tables."""
    annotation = Scenario.model_fields[section].annotation
    return f"[[{section}]]" if get_origin(annotation) is tuple else f"[{section}]"


def _workload_extras() -> list[str]:
    out = [
        "",
        "A field whose *used with* condition does not hold must be left at its default: a "
        "config never carries a setting the simulator would ignore.",
        "",
        "### Arrival kinds",
        "",
        "| `arrival` | meaning | its fields |",
        "|---|---|---|",
    ]
    for kind, meaning in ARRIVALS.items():
        own = [n for n in WorkloadConfig.model_fields if field_condition(n) == f'arrival = "{kind}"']
        fields = ", ".join(f"`{n}`" for n in own) or "none (also uses `hold_s`)"
        out.append(f"| `{kind}` | {_escape(meaning)} | {fields} |")
    out += [
        "",
        "### `destinations`",
        "",
        'Each entry is a table `{address = "203.0.113.10:443", weight = 2.0}` or just the string '
        '`"203.0.113.10:443"` (weight 1).',
        "",
    ]
    return out + _table(Destination)


def _distributions() -> list[str]:
    out = [
        "",
        "## Distributions",
        "",
        "Every *number or distribution* field takes a bare number (a fixed value) or a table "
        "selected by its `distribution` key, e.g. "
        '`hold_s = {distribution = "lognormal", mean = 0.2, sigma = 0.8}`. '
        "All values are times and never negative.",
    ]
    for kind in _distribution_kinds():
        tag = kind.model_fields["distribution"].default
        doc = (kind.__doc__ or "").strip().splitlines()[0].replace("``", "`")
        out += ["", f"### `{tag}`", "", doc, ""]
        fields = {n: f for n, f in kind.model_fields.items() if n != "distribution"}
        out += ["| key | type | allowed | description |", "|---|---|---|---|"]
        for name, field in fields.items():
            cells = [f"`{name}`", type_text(field.annotation), allowed_text(field),
                     field.description or ""]
            out.append("| " + " | ".join(_escape(c) for c in cells) + " |")
    return out


def main() -> None:
    """Print docs/config.md to standard output."""
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
