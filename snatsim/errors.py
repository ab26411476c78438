"""Typed errors. Every message names the field, the bad value and the fix.

The CLI turns any :class:`SnatsimError` into one readable line and a non-zero exit code.
"""

from __future__ import annotations

from typing import Any


def _rebuild(cls: type[SnatsimError], args: tuple[Any, ...], state: dict[str, Any]) -> SnatsimError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class SnatsimError(Exception):
    """Base class of every error snatsim raises on purpose.

    Picklable whatever a subclass's constructor takes (errors cross process boundaries in sweeps):
    it is rebuilt from its message arguments and attributes, not by calling ``__init__`` again.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class ConfigError(SnatsimError, ValueError):
    """An invalid scenario, flag, range or file.

    Parameters
    ----------
    field:
        Dotted name of the offending field (``nat.to_ports``, ``workload.0.pods``) or a file path.
    message:
        What is wrong and how to fix it.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


class KernelVersionError(ConfigError):
    """A kernel version string or era name that cannot be resolved."""


class RowsNotKeptError(SnatsimError, ValueError):
    """Per-connection rows asked of a result that kept none (``simulate(..., rows=False)``)."""
