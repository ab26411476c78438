"""Reading scenario files and ``--set`` overrides, and turning validation errors into one report.

The schema itself is in :mod:`snatsim.config`; this module is what stands between it and whatever a
user points the simulator at. A scenario file must be a regular file (not a folder, a device such
as ``/dev/zero`` or a named pipe, which would never end), at most :data:`MAX_SCENARIO_BYTES`, UTF-8
TOML, and nested no deeper than :data:`MAX_NESTING` levels. Every refusal is a
:class:`~snatsim.errors.ConfigError` naming the file or override and the fix.
"""

from __future__ import annotations

import copy
import difflib
import re
import stat
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from snatsim.config_workload import is_string_field, show_value, unwrap_type, walk_schema
from snatsim.errors import ConfigError

__all__ = [
    "MAX_NESTING",
    "MAX_SCENARIO_BYTES",
    "ScenarioError",
    "apply_overrides",
    "read_scenario_file",
    "scenario_error",
]

MAX_SCENARIO_BYTES = 1 << 20
"""A scenario file is a few KB; anything above 1 MiB is a results, trace or binary file."""

MAX_NESTING = 16
"""Tables and lists nest at most this deep (a scenario needs 5: workload.0.destinations.0.weight)."""


class ScenarioError(ConfigError):
    """A scenario that failed validation; ``problems`` holds ``(dotted_field, message)`` pairs."""

    def __init__(self, field: str, message: str, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__(field, message)
        self.problems = tuple(problems)


# ------------------------------------------------------------------------------------ the file
def read_scenario_file(path: str | Path) -> dict[str, Any]:
    """Read a scenario file as a TOML dict, refusing anything that is not a small UTF-8 TOML file."""
    source = str(path)
    try:
        info = Path(path).stat()
    except FileNotFoundError:
        raise ConfigError(
            source, "no such file; check the path (see configs/ for examples)"
        ) from None
    except OSError as exc:
        raise ConfigError(source, f"cannot read the file ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(source, "is a directory; give a .toml file")
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(
            source, "is not a regular file (a device, pipe or socket); give a .toml file"
        )
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:
        raise ConfigError(source, f"cannot read the file ({exc.strerror})") from None
    if len(data) > MAX_SCENARIO_BYTES:
        raise ConfigError(
            source,
            f"is {info.st_size / (1 << 20):.1f} MiB, more than the 1 MiB a scenario may have "
            "(scenarios are a few KB); is this a results or trace file?",
        )
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (Windows editors) is dropped
    except UnicodeDecodeError as exc:
        raise ConfigError(source, f"not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"line {match.group(1)}, column {match.group(2)}" if match else "somewhere"
        why = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or str(exc)
        raise ConfigError(source, f"invalid TOML at {where}: {why}") from None
    except RecursionError:
        raise ConfigError(source, _too_deep("the file")) from None
    _check_nesting(raw, source)
    return raw


def _too_deep(what: str) -> str:
    return (
        f"invalid TOML: {what} nests tables or lists more than {MAX_NESTING} levels deep; "
        "a scenario needs at most 5 (look for stray brackets)"
    )


def _check_nesting(raw: Any, source: str) -> None:
    """Refuse values nested deeper than :data:`MAX_NESTING` (iteratively: no recursion limit)."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(raw, ())]
    while stack:
        value, where = stack.pop()
        if len(where) > MAX_NESTING:
            key = ".".join(where[: 3])
            raise ConfigError(source, _too_deep(f"the value under {key}"))
        if isinstance(value, dict):
            stack.extend((v, (*where, str(k))) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*where, str(i))) for i, v in enumerate(value))


# ------------------------------------------------------------------------------------ overrides
def apply_overrides(
    raw: Mapping[str, Any], overrides: Sequence[str], root: type[BaseModel]
) -> dict[str, Any]:
    """``raw`` with ``"dotted.key=value"`` overrides applied in order (see
    :func:`snatsim.config.apply_overrides`); ``root`` is the schema the keys are looked up in."""
    result: dict[str, Any] = copy.deepcopy(dict(raw))
    for override in overrides:
        key, sep, text = override.partition("=")
        parts: list[str | int] = [int(p) if p.isdigit() else p for p in key.strip().split(".")]
        if not sep or any(p == "" for p in parts):
            raise ConfigError(
                f"override {override!r}",
                "expected section.key=value, e.g. nat.random_fully=true or workload.0.pods=8",
            )
        remove = text.strip() == "null"
        value = None if remove else _override_value(override, text.strip(), parts, root)
        node: Any = result
        for depth, part in enumerate(parts):
            here = ".".join(str(p) for p in parts[:depth]) or "the top level"
            last = depth == len(parts) - 1
            if isinstance(node, list):
                if not isinstance(part, int):
                    raise ConfigError(f"override {override!r}", _by_index(node, here, parts, depth))
                if not 0 <= part < len(node):
                    raise ConfigError(
                        f"override {override!r}",
                        f"index {part} is out of range: {here} has {len(node)} entries "
                        f"(indices 0..{len(node) - 1})",
                    )
            elif isinstance(node, dict):
                part = str(part)
                if remove and (part not in node or last):
                    node.pop(part, None)  # nothing (left) to remove below this point
                    break
                if not last:
                    node.setdefault(part, {})
            else:
                raise ConfigError(
                    f"override {override!r}", f"{here} is a value, not a table or list"
                )
            if last and remove:
                del node[part]  # a list entry (dict keys were handled above)
            elif last:
                node[part] = value
            else:
                node = node[part]
    return result


def _by_index(node: list[Any], here: str, parts: Sequence[str | int], depth: int) -> str:
    """The fix for ``workload.api.pods``: lists are addressed by index (by the entry's name?)."""
    rest = ".".join(str(p) for p in parts[depth + 1:])
    named = [i for i, entry in enumerate(node)
             if isinstance(entry, dict) and entry.get("name") == parts[depth]]
    index = named[0] if named else 0
    example = f"{here}.{index}" + (f".{rest}" if rest else "")
    which = f" (the entry named {parts[depth]!r})" if named else ""
    return f"{here} is a list; address an entry by index, e.g. {example}{which}"


def _override_value(
    override: str, text: str, parts: Sequence[str | int], root: type[BaseModel]
) -> Any:
    """Parse an override value as TOML (bare text if it is not TOML or the field is a string).

    A value that starts like a TOML array or table (``[``, ``{``) but does not parse is refused
    with the parser's reason, rather than passed on as a string.
    """
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError as exc:
        if text[:1] in "[{":
            why = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
            raise ConfigError(
                f"override {override!r}", f"the value is not valid TOML ({why}); e.g. [1, 2] or "
                '{distribution = "exponential", mean = 0.2}',
            ) from None
        return text
    except RecursionError:
        raise ConfigError(f"override {override!r}", _too_deep("the value")) from None
    _check_nesting(value, f"override {override!r}")
    if not isinstance(value, str) and is_string_field(walk_schema(root, parts)[1]):
        return text
    return value


# ---------------------------------------------------------------------------------- error report
_KIND_HINTS = {
    "model_type": "must be a table, e.g. [section] or {key = value}",
    "model_attributes_type": "must be a table, e.g. [section] or {key = value}",
    "dict_type": "must be a table, e.g. {key = value}",
    "tuple_type": "must be a list, e.g. [a, b] (or [[workload]] tables)",
    "list_type": "must be a list, e.g. [a, b]",
}


def _problem(
    error: Mapping[str, Any], root: type[BaseModel], hints: Mapping[str, str]
) -> tuple[str, str]:
    """One pydantic error -> (dotted field, 'problem; fix (value: bad value)')."""
    loc, _ = walk_schema(root, error["loc"])
    field = ".".join(str(p) for p in loc)
    kind = error["type"]
    value = error.get("input")
    msg = re.sub(r"^(Value|Assertion) error, ", "", error["msg"])
    msg = msg[:1].lower() + msg[1:]
    inner = re.match(r"^([a-z_][a-z0-9_.]*): (.*)$", msg, re.S)
    if inner:  # a check on a whole section that names one of its fields
        path = inner.group(1).split(".")
        if walk_schema(root, (*loc, *path))[1] is not None:
            field, msg = f"{field}.{inner.group(1)}", inner.group(2)
        elif inner.group(1).startswith(field + ".") and walk_schema(root, path)[1] is not None:
            field, msg = inner.group(1), inner.group(2)
    if kind == "missing":
        msg = (
            "missing; add at least one [[workload]] table"
            if loc == ("workload",)
            else f"required key is missing; add {loc[-1]} = ..."
        )
    elif kind in _KIND_HINTS:
        msg = _KIND_HINTS[kind]
    elif kind == "extra_forbidden":
        parent = unwrap_type(walk_schema(root, error["loc"][:-1])[1])
        valid = list(getattr(parent, "model_fields", {}))
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.6)
        msg = "unknown key; " + (
            f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(valid)}"
        )
    elif kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.6)
        if close:
            msg += f"; did you mean {close[0]!r}?"
    elif kind == "too_short" and isinstance(value, list | tuple):
        msg = "must not be empty; add at least one entry"
    elif kind in ("less_than_equal", "less_than"):
        hint = hints.get(re.sub(r"\.\d+\.", ".N.", field))
        if hint:
            msg += f"; {hint}"
    tables = isinstance(value, list | tuple) and any(isinstance(v, dict) for v in value)
    if value not in (None, "") and not isinstance(value, dict) and not tables and kind != "missing":
        msg += f" (value: {show_value(value)})"
    return field, msg


def scenario_error(
    exc: ValidationError,
    source: str | None,
    overrides: Sequence[str],
    root: type[BaseModel],
    hints: Mapping[str, str],
) -> ScenarioError:
    """Turn a pydantic ValidationError into one ScenarioError with a line per bad field.

    ``hints`` maps a dotted field (list indices written ``N``: ``workload.N.pods``) to the reason
    for its upper limit, appended when a value is above it.
    """
    by_key = {o.partition("=")[0].strip(): o for o in overrides}
    problems: list[tuple[str, str]] = []
    errors = exc.errors(include_url=False)
    for error in errors:
        if error["type"] == "too_short" and error["input"] and len(errors) > 1:
            continue  # a list whose every entry failed: the entries' own errors say why
        field, msg = _problem(error, root, hints)
        for key, override in by_key.items():
            if field == key or field.startswith(key + "."):
                msg += f" [set by override {override!r}]"
        problems.append((field, msg))
    lines = [f"{field}: {msg}" for field, msg in problems]
    if len(problems) == 1:
        if source is None:
            return ScenarioError(problems[0][0], problems[0][1], problems)
        return ScenarioError(source, lines[0], problems)
    body = f"{len(problems)} invalid settings:\n  " + "\n  ".join(lines)
    return ScenarioError(source or problems[0][0], body, problems)
