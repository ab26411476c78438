"""``--where`` filters on a sweep's results: ``KEY=VALUE``, ``KEY!=VALUE``, ``KEY<VALUE`` ...

Each filter is one column (as :func:`snatsim.load_results` names it), an operator (``=`` or
``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``) and a value read as TOML where it can be (``true``,
``0.5``, ``1e3``; otherwise the bare text, so ``kernel.version=4.14`` compares the text
``4.14``). Several filters must all hold.
"""

from __future__ import annotations

import difflib
import operator
import re
import tomllib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from snatsim.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["filter_rows", "parse_filter"]

_FILTER = re.compile(r"^\s*(?P<key>[^=!<>\s]+)\s*(?P<op>==|=|!=|<=|>=|<|>)\s*(?P<value>.*?)\s*$")
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq, "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}


def parse_filter(text: str) -> tuple[str, str, Any]:
    """``"nat.random_fully=true"`` -> ``("nat.random_fully", "=", True)``."""
    match = _FILTER.match(text)
    if match is None or not match["value"]:
        raise ConfigError(f"--where {text!r}", "expected KEY=VALUE or KEY<VALUE (=, !=, <, <=, >, "
                          ">=), e.g. --where nat.random_fully=true")
    raw = match["value"]
    try:
        value: Any = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return match["key"], match["op"], value


def filter_rows(frame: pd.DataFrame, filters: Sequence[str]) -> pd.DataFrame:
    """The rows of ``frame`` for which every filter holds."""
    keep = None
    for text in filters:
        key, op, value = parse_filter(text)
        if key not in frame.columns:
            close = difflib.get_close_matches(key, [str(c) for c in frame.columns], n=1)
            hint = f"did you mean {close[0]!r}?" if close else "see the columns with --json"
            raise ConfigError(f"--where {text!r}", f"no column {key!r}; {hint}")
        mask = _compare(frame[key], key, op, value, text)
        keep = mask if keep is None else keep & mask
    return frame if keep is None else frame[keep.fillna(False).astype(bool)]


def _compare(column: pd.Series, key: str, op: str, value: Any, text: str) -> pd.Series:
    """``column OP value``: booleans with true/false, numbers with numbers, text with = and !=
    (as written: ``kernel.version=5.4`` is the text 5.4)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if is_bool_dtype(column):
        ok, kind = isinstance(value, bool) and op in ("=", "==", "!="), "true or false with = or !="
    elif is_numeric_dtype(column):
        ok, kind = isinstance(value, int | float) and not isinstance(value, bool), "a number"
    else:
        value = _FILTER.match(text)["value"]  # type: ignore[index]  # parse_filter matched it
        ok, kind = op in ("=", "==", "!="), "text with = or !="
    if not ok:
        raise ConfigError(f"--where {text!r}", f"cannot compare column {key!r} with {op} "
                          f"{value!r}; it holds {kind.split(' with')[0]}: compare with {kind}")
    return _OPS[op](column, value)  # type: ignore[no-any-return]
