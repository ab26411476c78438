"""Random-number plumbing: one ``rng`` argument everywhere, never global state.

* :func:`make_rng` turns a seed-like value into a :class:`numpy.random.Generator`.
* :func:`spawn` derives independent child generators (replicates, sweep points) via
  :meth:`numpy.random.SeedSequence.spawn`, so results do not depend on worker count;
  :func:`spawn_seeds` the child SeedSequences themselves. Both spawn from a copy of a caller's
  SeedSequence, so the same SeedSequence passed twice gives the same children.
* :class:`Draws` is a buffered view of a Generator used by the kernel layer's hot paths. It hands out
  16-bit integers and uniforms from pre-drawn blocks; the order of values is documented so a
  vectorized implementation fed the same Generator can consume exactly the same numbers.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np

SeedLike: TypeAlias = int | np.random.SeedSequence | np.random.Generator | None

_BLOCK = 1024


def make_rng(seed: SeedLike = None) -> np.random.Generator:
    """Return a Generator for ``seed`` (an int, a SeedSequence, a Generator, or None for fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def seed_sequence(seed: int | np.random.SeedSequence | None) -> np.random.SeedSequence:
    """Return the SeedSequence for ``seed``; ``None`` draws fresh entropy (recorded in results)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    return np.random.SeedSequence(seed)


def spawn_seeds(seed: int | np.random.SeedSequence | None, n: int) -> list[np.random.SeedSequence]:
    """Return the first ``n`` children of ``seed`` (spawn keys ``seed.spawn_key + (i,)``).

    ``SeedSequence.spawn`` counts the children it has handed out, so spawning from the caller's
    object would give a second call with it other children than the first, children that its
    entropy and spawn key (what provenance records) could not reproduce. They are spawned from a
    copy (entropy, spawn key, pool size) instead: the caller's object is left as it was.
    """
    root = seed_sequence(seed)
    copy = np.random.SeedSequence(root.entropy, spawn_key=root.spawn_key, pool_size=root.pool_size)
    return copy.spawn(n)


def spawn(seed: int | np.random.SeedSequence | None, n: int) -> list[np.random.Generator]:
    """Return ``n`` independent Generators derived from ``seed`` (:func:`spawn_seeds`)."""
    return [np.random.default_rng(child) for child in spawn_seeds(seed, n)]


class Draws:
    """Buffered random draws from one Generator, for the kernel layer's per-packet decisions.

    ``u16()`` returns the next value of ``rng.integers(0, 65536, size=1024, dtype=uint16)`` blocks
    (the kernel's ``get_random_u16``); ``uniform()`` the next value of ``rng.random(1024)`` blocks.
    The two streams are independent buffers refilled from the same Generator when exhausted, so the
    sequence is a deterministic function of the Generator's state.
    """

    __slots__ = ("_rng", "_u16", "_u16_i", "_u16_n", "_unif", "_unif_i", "_unif_n")

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._u16: list[int] = []
        self._u16_i = self._u16_n = 0  # next index, buffer length (no len() call per draw)
        self._unif: list[float] = []
        self._unif_i = self._unif_n = 0

    @property
    def rng(self) -> np.random.Generator:
        """The underlying Generator."""
        return self._rng

    def u16(self) -> int:
        """Next uniformly random integer in [0, 65535] (``get_random_u16``)."""
        i = self._u16_i
        if i >= self._u16_n:
            self._u16 = self._rng.integers(0, 65536, size=_BLOCK, dtype=np.uint16).tolist()
            self._u16_n = _BLOCK
            i = 0
        self._u16_i = i + 1
        return self._u16[i]

    def uniform(self) -> float:
        """Next uniformly random float in [0, 1)."""
        i = self._unif_i
        if i >= self._unif_n:
            self._refill_uniform()
            i = 0
        self._unif_i = i + 1
        return self._unif[i]

    def _refill_uniform(self) -> None:
        self._unif = self._rng.random(_BLOCK).tolist()
        self._unif_n = _BLOCK

    def below(self, n: int) -> int:
        """Uniform integer in [0, n) (``get_random_u32_below``), from one ``uniform()`` draw."""
        i = self._unif_i  # uniform(), inlined: this is on the per-connection hot path
        if i >= self._unif_n:
            self._refill_uniform()
            i = 0
        self._unif_i = i + 1
        k = int(self._unif[i] * n)
        return k if k < n else n - 1
