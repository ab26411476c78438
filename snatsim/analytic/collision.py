"""Exact collision probabilities of PRNG port offsets (spec §4.4).

The kernel maps a 16-bit offset to ``lo + off % size``. Unless ``size`` divides 65,536 the map is
slightly non-uniform: ``65536 mod size`` ports get one extra offset value.
"""

from __future__ import annotations

from fractions import Fraction

OFFSET_VALUES = 1 << 16


def offset_port_weights(size: int) -> list[Fraction]:
    """Probability of each window slot (0..size-1) under a uniform 16-bit offset."""
    if size < 1:
        raise ValueError(f"window size must be >= 1, got {size}")
    q, r = divmod(OFFSET_VALUES, size)
    return [Fraction(q + 1 if i < r else q, OFFSET_VALUES) for i in range(size)]


def pair_collision_probability(size: int) -> Fraction:
    """P(two independent ``--random-fully`` first probes land on the same port), empty window.

    ``(r (q+1)^2 + (size-r) q^2) / 65536^2`` with ``q, r = divmod(65536, size)``; exactly
    ``1/size`` when ``size`` divides 65,536.
    """
    q, r = divmod(OFFSET_VALUES, size)
    return Fraction(r * (q + 1) ** 2 + (size - r) * q**2, OFFSET_VALUES**2)
