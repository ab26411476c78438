"""Reading the config schema for error messages and overrides: Annotated and Optional are
stripped, a Literal of strings counts as text, and a path through a union of plain types
(``source_port``: "ephemeral" or a number) ends in "unknown" instead of failing."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from snatsim.config import Scenario
from snatsim.config_workload import is_string_field, unwrap_type, walk_schema


def test_unwrap_type_strips_annotated_and_optional() -> None:
    assert unwrap_type(Optional[Annotated[int, "unit"]]) is int  # noqa: UP045 (the typing form)
    assert unwrap_type(Annotated[str, "x"] | None) is str


def test_text_fields_are_str_and_literals_of_strings_only() -> None:
    assert is_string_field(Annotated[str, "x"] | None)
    assert is_string_field(Literal["tcp", "udp"])
    assert is_string_field(Annotated[Literal["tcp", "udp"], "x"])
    assert not is_string_field(Literal[1, 2])
    assert not is_string_field(Literal["a", 2])
    assert not is_string_field(int)


def test_a_path_through_a_union_of_plain_types_ends_unknown() -> None:
    clean, tp = walk_schema(Scenario, ["workload", 0, "source_port", "x"])
    assert clean == ("workload", 0, "source_port", "x") and tp is None
    assert walk_schema(Scenario, ["workload", 0, "source_port"])[1] is not None


def test_an_index_only_walks_into_a_list_and_a_name_only_into_a_model() -> None:
    assert walk_schema(Scenario, ["workload", "name"])[1] is None  # a name on the list itself
    assert walk_schema(Scenario, ["node", 0])[1] is None  # an index on a section
    assert walk_schema(Scenario, ["workload", 0, "name"])[1] is str
