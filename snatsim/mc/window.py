"""The race term of a trial averaged over its leader's NAT -> confirm time (spec §3.2, §6.2).

A trial's leader races the ``J ~ Poisson(mu)`` NATs on other CPUs inside its window, ``mu =
r (delta + m)`` (``r`` the same-destination rate on the other CPUs, ``delta`` the leader's NAT ->
confirm time, ``m`` its mean); each takes the leader's port with probability ``q`` and then drops
it with probability 1/2, so given ``delta`` the leader is lost with ``1 - exp(-c (delta + m))``,
``c = r q / 2`` (:mod:`snatsim.mc.engine`). Its expectation over ``delta`` is exact:

    ``g(c) = 1 - exp(-c m) E[exp(-c delta)] = -expm1(-c m) + exp(-c m) A(c)``,
    ``A(c) = E[-expm1(-c delta)]``

(Fixed: one value; exponential: ``c θ / (1 + c θ)``; uniform: 64-point Gauss-Legendre;
lognormal: Gauss-Hermite, 64 points for ``sigma <= 1``, 256 for ``sigma <= 3``, beyond that a
trapezoid over the normal's ``±12`` in steps of ``0.4 / sigma``, 1e-12 from adaptive quadrature
at ``sigma`` 3.5-6: all within 2e-8 of it, tested). So the trial draws no
``delta`` and its race term has no ``delta`` spread (Rao-Blackwellization).

Per flow ``g`` is read from a table of ``G(c) = g(c) / c = ∫ P(D > s) exp(-c s) ds`` (``D =
delta + m``; ``G(0) = E[D]``), linearly interpolated and multiplied by ``c``. The table is a
uniform grid of ``[0, c_max]``, from 256 steps doubled until every midpoint reads the quadrature
within :data:`TOLERANCE` (relative), up to :data:`MAX_STEPS`; a heavy-tailed window (a lognormal
with ``sigma`` around 3 or more) that needs finer steps near ``c = 0`` gets a grid in octaves
of ``c`` instead (:data:`OCTAVE_STEPS` steps in each, 60 octaves under ``c_max``), checked the
same way. Either way the trial's race term is within :data:`TOLERANCE` of the exact average.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import NDArray

from snatsim.distributions import Distribution, Exponential, Fixed, Lognormal, Uniform

TOLERANCE = 1e-6  # the grid's largest relative error, checked at every step's midpoint
FIRST_STEPS = 256
PROBE_STEPS = 32  # the steps next to c = 0 checked before a whole grid is built
MAX_STEPS = 1 << 16  # 512 KiB of float64
OCTAVE_STEPS = 1024  # steps per octave of the octave grid
OCTAVES = 60
TRAPEZOID_HALF_WIDTH = 12.0  # the lognormal's normal integrated over +-12 standard deviations


@functools.cache
def _gauss(kind: str, points: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Gauss-Legendre or Gauss-Hermite nodes and weights (computed once per process)."""
    rule = np.polynomial.legendre.leggauss if kind == "legendre" else \
        np.polynomial.hermite.hermgauss
    x, w = rule(points)
    return x, w


def _nodes(dist: Distribution) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Quadrature nodes (seconds) and weights (summing to 1) of ``dist`` (in microseconds)."""
    if isinstance(dist, Fixed):
        return np.array([dist.value * 1e-6]), np.ones(1)
    if isinstance(dist, Uniform):
        x, w = _gauss("legendre", 64)
        return (dist.low + (dist.high - dist.low) * (x + 1.0) / 2.0) * 1e-6, w / 2.0
    if isinstance(dist, Lognormal):
        if dist.sigma <= 3.0:
            x, w = _gauss("hermite", 64 if dist.sigma <= 1.0 else 256)
            z, w = x * math.sqrt(2.0), w / math.sqrt(math.pi)
        else:  # Gauss-Hermite's weights overflow past 256 points: a fine trapezoid instead
            z = np.linspace(-TRAPEZOID_HALF_WIDTH, TRAPEZOID_HALF_WIDTH,
                            math.ceil(dist.sigma * 60) | 1)
            w = np.exp(-z * z / 2.0)
            w /= w.sum()
        return np.exp(dist.mu + dist.sigma * z) * 1e-6, w
    raise TypeError(f"no quadrature for {type(dist).__name__}")


def unconfirmed_share(dist: Distribution, c: NDArray[np.float64]) -> NDArray[np.float64]:
    """``A(c) = E[1 - exp(-c delta)]``, ``delta ~ dist`` in seconds (``dist`` in µs)."""
    c = np.asarray(c, dtype=float)
    if isinstance(dist, Exponential):
        ct = c * dist.mean * 1e-6
        out: NDArray[np.float64] = ct / (1.0 + ct)
        return out
    d, w = _nodes(dist)
    out = -np.expm1(-np.multiply.outer(c, d)) @ w
    return out


def race_given_rate(dist: Distribution, c: NDArray[np.float64]) -> NDArray[np.float64]:
    """``g(c)`` of the module docstring, exactly (quadrature): the leader's race loss odds."""
    c = np.asarray(c, dtype=float)
    m = dist.mean * 1e-6
    out: NDArray[np.float64] = -np.expm1(-c * m) + np.exp(-c * m) * unconfirmed_share(dist, c)
    return out


class RaceOdds:
    """``g(c)`` read per flow from a grid on ``[0, c_max]`` (module docstring)."""

    def __init__(self, dist: Distribution, c_max: float) -> None:
        self.mean_d = 2.0 * dist.mean * 1e-6  # E[D], D = delta + m
        self.c_max = max(c_max, 1e-300)
        self.octaves = False
        steps = FIRST_STEPS
        while steps <= MAX_STEPS:
            # the steps next to c = 0 fail first (the tail of D bends G there): check them alone
            # before building the whole grid
            self._uniform(dist, steps, entries=PROBE_STEPS)
            if self._worst(dist) <= TOLERANCE:
                self._uniform(dist, steps)
                if self._worst(dist) <= TOLERANCE:
                    return
            steps *= 2
        self.octaves = True
        self._octave_grid(dist)
        if self._worst(dist) > TOLERANCE:  # pragma: no cover - no such window found
            raise RuntimeError(f"no grid reads the race term of {dist.describe()} within "
                               f"{TOLERANCE:g}")

    def _table(self, dist: Distribution, c: NDArray[np.float64]) -> NDArray[np.float64]:
        self.grid_c = c  # where the entries sit: _worst checks between each two
        table = np.empty_like(c)
        positive = c > 0
        table[~positive] = self.mean_d
        table[positive] = race_given_rate(dist, c[positive]) / c[positive]
        return table

    def _uniform(self, dist: Distribution, steps: int, entries: int | None = None) -> None:
        self.step = self.c_max / steps
        # one entry beyond c_max: c_max itself (and a rounding above it) reads [steps, steps + 1]
        size = steps + 2 if entries is None else min(entries + 1, steps + 2)
        self.table = self._table(dist, np.arange(size, dtype=np.float64) * self.step)

    def _octave_grid(self, dist: Distribution) -> None:
        # entry (k, j) at c = 2^(e0 + k) (1/2 + j / (2 S)): frexp's mantissa walks each octave
        self.e0 = int(np.frexp(self.c_max)[1]) - OCTAVES
        k, j = np.divmod(np.arange((OCTAVES + 1) * OCTAVE_STEPS + 1), OCTAVE_STEPS)
        c = np.ldexp(0.5 + j / (2.0 * OCTAVE_STEPS), self.e0 + k)
        self.table = self._table(dist, c)

    def _worst(self, dist: Distribution) -> float:
        """Largest relative error of the grid at the midpoints of its steps."""
        mid = (self.grid_c[1:] + self.grid_c[:-1]) / 2.0
        exact = race_given_rate(dist, mid)
        got = self(mid.copy())
        return float(np.max(np.abs(got - exact) / np.maximum(exact, 1e-300)))

    def __call__(self, c: NDArray[np.float64]) -> NDArray[np.float64]:
        """``g(c)`` for each entry of ``c`` (``0 <= c <= c_max``), in place of ``c``."""
        if self.octaves:
            x, e = np.frexp(c)
            x -= 0.5
            x *= 2 * OCTAVE_STEPS
            e -= self.e0
            np.maximum(e, 0, out=e)  # under the lowest octave: G is G(0) to the tolerance
            e *= OCTAVE_STEPS
        else:
            x = c * (1.0 / self.step)
        i = x.astype(np.intp)
        x -= i  # the fraction of the step
        if self.octaves:
            i += e
        lo = self.table[i]
        hi = self.table[i + 1]
        hi -= lo
        hi *= x
        hi += lo
        c *= hi
        return c
