"""Sweep grids: ``--grid KEY=VALUES`` specs, sweep files and zipped axes, expanded to points.

A grid is a list of *axes*. An axis is one key (``--grid nat.random_fully=false,true``) or several
keys that move together (``--zip a,b``: step *i* of each). The points are the cartesian product of
the axes, the first axis changing slowest, and each point is a list of ``--set`` overrides
(``key=text``), so a swept value means exactly what it means after ``snatsim run --set``.

VALUES is one of

* a comma-separated list: ``false,true``, ``4.14,5.4,6.1``, ``null`` (removes the key, as ``--set
  key=null``), TOML values (``[1, 2]``, ``{distribution = "fixed", value = 2.0}``; commas inside
  brackets, braces and quotes do not split);
* a range ``A..B:lin:N`` (N evenly spaced values) or ``A..B:log:N`` (N values evenly spaced in
  log, A and B > 0). When A and B are written as integers the steps are rounded to integers and
  repeats dropped (``1..100:log:5`` is 1, 3, 10, 32, 100).

A sweep file (``--grid-file F.toml``) holds the same grid for review, and optionally the Monte
Carlo engine's sampling of each run (``trials`` or ``rel_error``, as ``--trials``/``--rel-error``)::

    zip = [["workload.0.rate_per_s", "workload.0.pods"]]   # optional
    trials = 262144                                     # optional, --engine mc/auto only

    [grid]
    "nat.random_fully" = [false, true]                  # a TOML list: the values themselves
    "kernel.version" = "4.14,5.4,6.1"                   # a string: a VALUES spec as above
    "workload.0.rate_per_s" = "10..1000:log:5"
    "workload.0.pods" = [1, 2, 4, 8, 16]
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snatsim.errors import ConfigError

__all__ = ["MAX_POINTS", "Axis", "Grid", "GridError", "parse_grid", "parse_values"]

MAX_POINTS = 100_000
"""Every point's scenario is validated (and kept) before anything runs; past this, split the sweep."""

_RANGE = re.compile(r"^(?P<a>[^:]+?)\.\.(?P<b>[^:]+?):(?P<kind>[^:]+):(?P<n>[^:]+)$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_RANGE_FORM = "A..B:lin:N or A..B:log:N, e.g. 10..10000:log:20"


class GridError(ConfigError):
    """A malformed ``--grid``/``--zip`` spec or sweep file (the message names the spec and the fix)."""


@dataclass(frozen=True)
class Axis:
    """Keys that move together and their steps: ``steps[i][j]`` is the text for ``keys[j]``."""

    keys: tuple[str, ...]
    steps: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Grid:
    """The axes of a sweep, in order (the first changes slowest)."""

    axes: tuple[Axis, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Every swept key, in axis order."""
        return tuple(key for axis in self.axes for key in axis.keys)

    def points(self) -> list[tuple[str, ...]]:
        """Each point as its ``key=text`` overrides, in the order the points are numbered."""
        out = []
        for combo in itertools.product(*(axis.steps for axis in self.axes)):
            texts = [text for step in combo for text in step]
            out.append(tuple(f"{k}={t}" for k, t in zip(self.keys, texts, strict=True)))
        return out

    def size(self) -> int:
        """The number of points."""
        return math.prod(len(axis.steps) for axis in self.axes)

    def describe(self) -> list[dict[str, Any]]:
        """The grid as plain JSON (what the results file records and compares on resume)."""
        return [{"keys": list(a.keys), "steps": [list(s) for s in a.steps]} for a in self.axes]


# ------------------------------------------------------------------------------------ values
def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets, braces and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _number(text: str, spec: str, end: str) -> float:
    if not _NUMBER.match(text.strip()):
        raise GridError(f"--grid {spec!r}", f"the range's {end} {text!r} is not a number; "
                        f"write {_RANGE_FORM}")
    return float(text)


def _range(spec: str, body: str) -> list[str]:
    """``A..B:lin:N`` / ``A..B:log:N`` as override texts."""
    match = _RANGE.match(body)
    if match is None:
        raise GridError(f"--grid {spec!r}", f"malformed range {body!r}; write {_RANGE_FORM}")
    a = _number(match["a"], spec, "start")
    b = _number(match["b"], spec, "end")
    kind = match["kind"].strip()
    if kind not in ("lin", "log"):
        raise GridError(f"--grid {spec!r}", f"unknown step {kind!r}: use lin or log ({_RANGE_FORM})")
    n_text = match["n"].strip()
    if not (n_text.isascii() and n_text.isdigit()):
        raise GridError(f"--grid {spec!r}", f"the number of steps {n_text!r} is not a whole "
                        f"number; write {_RANGE_FORM}")
    n = int(n_text)
    if n == 0:
        raise GridError(f"--grid {spec!r}", "the range is empty (0 steps); give at least 1 step")
    if n > MAX_POINTS:
        raise GridError(f"--grid {spec!r}", f"{n:,} steps is more than the {MAX_POINTS:,} points "
                        "a sweep may have; use fewer steps")
    if a == b and n > 1:
        raise GridError(f"--grid {spec!r}", f"the range is empty: both ends are {match['a']}; "
                        "give different ends, or the single value")
    if n == 1 and a != b:
        raise GridError(f"--grid {spec!r}", "one step cannot reach both ends; give N >= 2, or "
                        "the single value")
    if kind == "log" and (a <= 0 or b <= 0):
        raise GridError(f"--grid {spec!r}", "a log range needs both ends > 0; use lin, or a "
                        "positive start")
    if n == 1:
        values = [a]
    elif kind == "lin":
        values = [a + (b - a) * i / (n - 1) for i in range(n)]
    else:
        values = [math.exp(math.log(a) + (math.log(b) - math.log(a)) * i / (n - 1))
                  for i in range(n)]
    values[-1] = b  # no rounding error at the end the user wrote
    integral = all(re.fullmatch(r"[+-]?\d+", x.strip()) for x in (match["a"], match["b"]))
    if integral:
        return list(dict.fromkeys(str(round(v)) for v in values))
    return [repr(v) for v in values]


def parse_values(spec: str) -> tuple[str, list[str]]:
    """``KEY=VALUES`` -> (key, the override text of each value). See the module docstring."""
    key, sep, body = spec.partition("=")
    key = key.strip()
    if not sep or not key:
        raise GridError(f"--grid {spec!r}", "expected KEY=VALUES, e.g. nat.random_fully=false,true "
                        "or workload.0.rate_per_s=10..10000:log:20")
    if any(not part for part in key.split(".")) or any(c.isspace() for c in key):
        raise GridError(f"--grid {spec!r}", f"{key!r} is not a dotted key such as "
                        "workload.0.rate_per_s")
    body = body.strip()
    if not body:
        raise GridError(f"--grid {spec!r}", "no values; give a list (a,b,c) or a range "
                        f"({_RANGE_FORM})")
    if ".." in body and body[:1] not in "[{\"'":
        return key, _range(spec, body)
    values = _split_top(body)
    if any(not v for v in values):
        raise GridError(f"--grid {spec!r}", "an empty value between commas; remove the extra "
                        "comma (null removes a key)")
    return key, values


# ------------------------------------------------------------------------------------ file
def _inline(value: Any) -> str:
    """A TOML value as inline TOML text (what ``--set`` parses)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_inline(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))  # dates and times: as text


def _flatten_keys(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{nat: {random_fully: [..]}}`` (bare dotted keys in TOML) -> ``{"nat.random_fully": [..]}``."""
    out: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else str(name)
        if isinstance(value, dict):
            out.update(_flatten_keys(value, key))
        else:
            out[key] = value
    return out


SAMPLING_KEYS = ("trials", "rel_error")
"""Top-level keys of a sweep file that set the Monte Carlo engine's sampling of each run."""


def _read_sweep_file(path: str | Path) -> dict[str, Any]:
    """A sweep file's top-level table, its keys checked (no grid: a GridError naming the file)."""
    from snatsim.config_files import read_scenario_file

    raw = read_scenario_file(path)  # same refusals as a scenario: size, UTF-8, TOML, nesting
    unknown = sorted(set(raw) - {"grid", "zip", *SAMPLING_KEYS})
    if unknown or not isinstance(raw.get("grid"), dict) or not raw["grid"]:
        raise GridError(f"--grid-file {str(path)!r}", "expected a [grid] table of KEY = [values] "
                        "or KEY = \"spec\" (and optional top-level zip = [[KEY, KEY]], trials = N "
                        "or rel_error = F)" + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
    return raw


def read_sampling(path: str | Path) -> dict[str, Any]:
    """The ``trials`` / ``rel_error`` a sweep file sets (only those it sets; checked by
    :func:`snatsim.sweep.runner.check_sampling`)."""
    raw = _read_sweep_file(path)
    return {key: raw[key] for key in SAMPLING_KEYS if key in raw}


def read_grid_file(path: str | Path) -> tuple[list[str], list[list[str]]]:
    """A sweep file -> (``--grid`` specs, ``--zip`` groups). See the module docstring."""
    raw = _read_sweep_file(path)
    source = f"--grid-file {str(path)!r}"
    specs = []
    for key, value in _flatten_keys(raw["grid"]).items():
        if isinstance(value, str):
            specs.append(f"{key}={value}")
        elif isinstance(value, list) and value:
            texts = [v if isinstance(v, str) else _inline(v) for v in value]
            specs.append(f"{key}={','.join(texts)}" if all("," not in t for t in texts)
                         else json.dumps([key, texts]))
        else:
            raise GridError(source, f"{key}: give a non-empty list of values or a \"spec\" string")
    zips = raw.get("zip", [])
    if not (isinstance(zips, list) and all(isinstance(z, list) and all(isinstance(k, str) for k in z)
                                           for z in zips)):
        raise GridError(source, "zip must be a list of lists of keys, e.g. zip = [[\"a\", \"b\"]]")
    return specs, [list(z) for z in zips]


# ------------------------------------------------------------------------------------ grid
def _spec_values(spec: str) -> tuple[str, list[str]]:
    if spec.startswith("["):  # a sweep-file list whose values hold commas: [key, [texts]]
        key, texts = json.loads(spec)
        return str(key), [str(t) for t in texts]
    return parse_values(spec)


def parse_grid(
    specs: Sequence[str], zips: Sequence[str | Sequence[str]] = (), grid_file: str | Path | None = None
) -> Grid:
    """Build a :class:`Grid` from ``--grid`` specs, ``--zip`` groups and a sweep file.

    Raises
    ------
    GridError
        A malformed spec or file, an empty range, a key swept twice, a zip naming a key that is
        not swept (or swept in another zip), zipped keys with different numbers of values, or
        more than :data:`MAX_POINTS` points.
    """
    all_specs, all_zips = list(specs), [z.split(",") if isinstance(z, str) else list(z)
                                        for z in zips]
    if grid_file is not None:
        file_specs, file_zips = read_grid_file(grid_file)
        all_specs += file_specs
        all_zips += file_zips
    if not all_specs:
        raise GridError("--grid", "nothing to sweep; give --grid KEY=VALUES (or --grid-file F.toml)")
    values: dict[str, list[str]] = {}
    for spec in all_specs:
        key, texts = _spec_values(spec)
        if key in values:
            raise GridError(f"--grid {key}", "is swept twice; give each key once")
        values[key] = texts
    zipped: dict[str, int] = {}
    for i, group in enumerate(all_zips):
        keys = [k.strip() for k in group]
        if len(keys) < 2:
            raise GridError(f"--zip {','.join(keys)}", "zip at least two swept keys: --zip A,B")
        for key in keys:
            if key not in values:
                raise GridError(f"--zip {','.join(keys)}", f"{key!r} is not swept; add "
                                f"--grid {key}=VALUES or drop it from --zip")
            if key in zipped:
                raise GridError(f"--zip {','.join(keys)}", f"{key!r} is already in another zip")
            zipped[key] = i
        lengths = {key: len(values[key]) for key in keys}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{k} has {n}" for k, n in lengths.items())
            raise GridError(f"--zip {','.join(keys)}", f"zipped keys need as many values each "
                            f"({shown}); give them equal lengths")
    axes: list[Axis] = []
    placed: set[int] = set()
    for key, texts in values.items():
        if key not in zipped:
            axes.append(Axis((key,), tuple((t,) for t in texts)))
        elif zipped[key] not in placed:
            placed.add(zipped[key])
            together = tuple(k for k in values if zipped.get(k) == zipped[key])
            steps = tuple(zip(*(values[k] for k in together), strict=True))
            axes.append(Axis(together, steps))
    grid = Grid(tuple(axes))
    if grid.size() > MAX_POINTS:
        raise GridError("--grid", f"{grid.size():,} points is more than {MAX_POINTS:,}; "
                        "split the sweep or use fewer values")
    return grid
