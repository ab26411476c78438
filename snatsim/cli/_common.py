"""Helpers shared by the CLI command modules: error handling, consoles and JSON output.

Everything heavy (rich) is imported inside the functions, so ``import snatsim.cli`` stays cheap.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from typer.core import TyperGroup

from snatsim.errors import SnatsimError

if TYPE_CHECKING:
    from rich.console import Console

    from snatsim.config import Scenario

__all__ = [
    "EXIT_USAGE",
    "ConfigArgument",
    "JsonOption",
    "PlainErrorGroup",
    "ProgressEveryOption",
    "ProgressOption",
    "SeedOption",
    "SetOption",
    "console",
    "error_line",
    "handle_errors",
    "load_config",
    "print_json",
    "report_error",
]

EXIT_USAGE = 2
"""Exit code for a :class:`~snatsim.errors.SnatsimError` (bad config, version, flag, file)."""

# The options that ``run`` and ``estimate`` share, defined once (same names, help and checks)
ConfigArgument = Annotated[
    Path, typer.Argument(help="Scenario TOML file, e.g. configs/default.toml.")
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a key: --set nat.random_fully=true --set workload.0.pods=8; "
        "KEY=null removes a key (back to its default).",
        metavar="KEY=VALUE",
    ),
]
SeedOption = Annotated[int | None, typer.Option(help="Seed (overrides simulation.seed).", min=0)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")]
ProgressOption = Annotated[
    bool | None,
    typer.Option(
        "--progress/--no-progress",
        help="--progress draws the bar even when stderr is not a terminal; --no-progress "
        "shows nothing. Default: a bar in a terminal, elsewhere one line on stderr every "
        "--progress-every seconds.",
        show_default=False,
    ),
]
ProgressEveryOption = Annotated[
    float, typer.Option(help="Wall seconds between progress lines off a terminal.", min=0)
]


def load_config(config: Path, set_: Sequence[str] | None, seed: int | None) -> Scenario:
    """The scenario of ``config`` with the ``--set`` overrides and ``--seed`` applied."""
    from snatsim.config import load_scenario

    overrides = list(set_ or [])
    if seed is not None:
        overrides.append(f"simulation.seed={seed}")
    return load_scenario(config, overrides)


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


def usage_error_line(exc: typer.TyperException, prog_name: str = "snatsim") -> str:
    """``error: <what>; see 'snatsim run --help'`` for a command-line usage error."""
    message = " ".join(exc.format_message().split()).rstrip(".") or type(exc).__name__
    ctx = getattr(exc, "ctx", None)
    command = prog_name if ctx is None else ctx.command_path
    return f"error: {message[:1].lower()}{message[1:]}; see '{command} --help'"


class PlainErrorGroup(TyperGroup):
    """The app's command group, with plain usage errors.

    An unknown option, a missing argument or a bad integer becomes one plain stderr line
    (:func:`usage_error_line`) and exit code 2, instead of typer's usage text and boxed panel: the
    same form as every other snatsim error, and safe in logs and pipes.
    """

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the app; in standalone mode exit with the command's code (2 on a usage error)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.TyperException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # the help text is the message
                help_text = exc.format_message()
                if help_text:
                    sys.stderr.write(help_text + "\n")
            else:
                sys.stderr.write(usage_error_line(exc, prog_name or "snatsim") + "\n")
            sys.stderr.flush()
            sys.exit(exc.exit_code)
        except typer.Abort:
            sys.stderr.write("Aborted!\n")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def console(*, stderr: bool = False) -> Console:
    """A rich Console on stdout (or stderr), bound to the current ``sys.stdout``/``sys.stderr``."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout (plain text, no colour: safe to pipe)."""
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()
