"""Typed errors. Every message names the field, the bad value and the fix.

The CLI turns any :class:`SnatsimError` into one readable line and a non-zero exit code.
"""

from __future__ import annotations


class SnatsimError(Exception):
    """Base class of every error snatsim raises on purpose."""


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
