"""Helpers shared by the CLI command modules: error handling, consoles and JSON output.

Everything heavy (rich) is imported inside the functions, so ``import snatsim.cli`` stays cheap.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

from snatsim.errors import SnatsimError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "EXIT_USAGE",
    "console",
    "error_line",
    "handle_errors",
    "print_json",
    "report_error",
]

EXIT_USAGE = 2
"""Exit code for a :class:`~snatsim.errors.SnatsimError` (bad config, version, flag, file)."""

P = ParamSpec("P")
R = TypeVar("R")


def error_line(exc: BaseException) -> str:
    """``error: <message>`` on one line (newlines folded into spaces), except for an error that
    lists several invalid fields (``problems``, as :class:`~snatsim.config.ScenarioError` has):
    then a headline and one indented line per field."""
    if len(getattr(exc, "problems", ())) > 1:
        lines = [" ".join(line.split()) for line in str(exc).splitlines()]
        lines = [line for line in lines if line]
        return "\n".join([f"error: {lines[0]}", *(f"  {line}" for line in lines[1:])])
    message = " ".join(str(exc).split()) or type(exc).__name__
    return f"error: {message}"


def report_error(exc: BaseException) -> None:
    """Write :func:`error_line` to stderr (plain text: never wrapped, never styled)."""
    sys.stderr.write(error_line(exc) + "\n")
    sys.stderr.flush()


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command so a :class:`SnatsimError` becomes one stderr line and exit code 2.

    Put it *under* ``@app.command()`` (it keeps the signature, so typer still sees the options).
    ``snatsim.cli.main`` does the same for errors raised outside commands.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SnatsimError as exc:
            report_error(exc)
            raise typer.Exit(EXIT_USAGE) from None

    return wrapper


def console(*, stderr: bool = False) -> Console:
    """A rich Console on stdout (or stderr), bound to the current ``sys.stdout``/``sys.stderr``."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout (plain text, no colour: safe to pipe)."""
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()
