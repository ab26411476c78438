"""SNAT port windows (spec §4.4, "Window").

Without ``--to-ports`` the window depends on the port being rewritten: below 512 -> 1-511,
512-1023 -> 600-1023, otherwise 1024-65535. With ``--to-ports A-B`` it is [A, B] (newer kernels swap
a reversed range; we always do).
"""

from __future__ import annotations

from snatsim.errors import ConfigError


def port_window(port: int, to_ports: tuple[int, int] | None = None) -> tuple[int, int]:
    """Return ``(lo, size)`` of the search window for rewriting source ``port`` (spec §4.4)."""
    if to_ports is not None:
        lo, hi = to_ports
        if lo > hi:
            lo, hi = hi, lo
        return lo, hi - lo + 1
    if port < 512:
        return 1, 511
    if port < 1024:
        return 600, 424
    return 1024, 64512


def parse_port_range(text: str, field: str = "nat.to_ports") -> tuple[int, int]:
    """Parse ``"A-B"`` or ``"A"`` into ``(A, B)`` with 1 <= A <= B <= 65535."""
    parts = str(text).strip().split("-")
    try:
        if len(parts) == 1:
            lo = hi = int(parts[0])
        elif len(parts) == 2:
            lo, hi = int(parts[0]), int(parts[1])
        else:
            raise ValueError
    except ValueError:
        raise ConfigError(
            field, f"expected a port range like '20000-20255' or a single port, got {text!r}"
        ) from None
    if not (1 <= lo <= 65535 and 1 <= hi <= 65535):
        raise ConfigError(field, f"ports must lie in 1-65535, got {text!r}")
    if lo > hi:
        raise ConfigError(field, f"range is reversed ({text!r}); write it as '{hi}-{lo}'")
    return lo, hi
