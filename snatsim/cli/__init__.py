"""The ``snatsim`` command line: a thin typer app over the library.

Adding a command
----------------
One module per command (or command group) in this package, e.g. ``snatsim/cli/run.py``. Each module
defines ``register(app)`` and imports its heavy dependencies (numpy, simpy, pandas, matplotlib)
*inside* the command function, never at module level, so ``snatsim --version`` stays fast::

    # snatsim/cli/run.py
    from typing import Annotated
    import typer
    from snatsim.cli._common import handle_errors

    def register(app: typer.Typer) -> None:
        app.command("run")(run)

    @handle_errors  # SnatsimError -> "error: <message>" on stderr, exit code 2
    def run(config: Annotated[str, typer.Argument(help="Scenario TOML.")]) -> None:
        '''Run one scenario.'''
        from snatsim.results import simulate  # heavy import inside the function
        ...

then add the module name to :data:`COMMAND_MODULES` below. ``tests/test_layering.py`` checks that
``import snatsim.cli`` pulls in none of numpy, scipy, simpy, pandas or matplotlib.

Errors
------
:func:`main` (the ``snatsim`` console script) turns any :class:`~snatsim.errors.SnatsimError` into
one line ``error: <message>`` on stderr and exit code 2, never a traceback; commands decorated with
:func:`snatsim.cli._common.handle_errors` do the same when invoked through ``CliRunner``. Usage
errors (unknown option, missing argument, bad integer) are one plain line too, with the ``--help``
to read, exit code 2 (:class:`~snatsim.cli._common.PlainErrorGroup`).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module
from typing import Annotated

import typer

from snatsim import __version__
from snatsim.cli._common import EXIT_USAGE, PlainErrorGroup, report_error
from snatsim.errors import SnatsimError

__all__ = ["COMMAND_MODULES", "app", "main"]

COMMAND_MODULES: tuple[str, ...] = ("run", "estimate", "kernels", "plot", "explain", "capacity",
                                    "sweep", "results", "demo")
"""Submodules of :mod:`snatsim.cli` whose ``register(app)`` adds their commands, in help order."""

app = typer.Typer(
    name="snatsim",
    cls=PlainErrorGroup,
    help=(
        "Simulate Linux SNAT/MASQUERADE port allocation and the conntrack confirm race, "
        "kernel era by kernel era (3.x to 6.18)."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"snatsim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the snatsim version and exit.",
        ),
    ] = False,
) -> None:
    """Simulate Linux SNAT port allocation and the conntrack confirm race, era by era (docs/kernel.md)."""


for _name in COMMAND_MODULES:
    import_module(f"{__name__}.{_name}").register(app)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: run the app; a SnatsimError becomes one line and exit code 2."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="snatsim")
    except SnatsimError as exc:
        report_error(exc)
        raise SystemExit(EXIT_USAGE) from None
