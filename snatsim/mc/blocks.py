"""Where each Monte Carlo block draws from and when it reads the window (snatsim.mc.engine, issue #9).

Block ``b`` of stream ``k`` draws from its own generator (:func:`block_seed`), so an estimate does
not depend on how its blocks are chunked or grouped, and reads the measured window at its
:func:`block_phase` (a Weyl walk per phase group, from a uniform start of the group's own).
"""

from __future__ import annotations

import math

import numpy as np

PHASE_GROUPS = 16
"""Blocks ``b``, ``b + 16``, ``b + 32``, ... of a stream walk one Weyl sequence of phases
(:func:`block_phase`); the estimate's batch-means groups keep them together (16 groups, or 8)."""


def block_seed(root: np.random.SeedSequence, dest: int, block: int) -> np.random.SeedSequence:
    """The seed of block ``block`` of destination ``dest`` (independent of chunking)."""
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, dest, block))


WEYL_STEP = (math.sqrt(5.0) - 1.0) / 2.0  # the golden ratio's conjugate: the most even steps
PHASE_KEY = (1 << 32) - 1  # the phases' spawn key is (dest, PHASE_KEY, 0): 3 long, a block's 2


def block_phase(root: np.random.SeedSequence, dest: int, block: int) -> float:
    """Where block ``block`` of destination ``dest`` sits in the measured window, in [0, 1).

    A block draws one time ``t`` for its occupancy and pod-port odds, and on a window whose held
    share still rings (:mod:`snatsim.mc.podports`) that time is most of a block's spread: with
    64 blocks, asking 16 times the trials left the interval as wide. So the blocks of each
    phase group (block mod :data:`PHASE_GROUPS`, inside one of the estimate's batch-means groups)
    walk the Weyl sequence ``frac(s_g + j φ)`` (``j = block // PHASE_GROUPS``) from a uniform
    start ``s_g`` of their own (randomized quasi-Monte Carlo): each group is an unbiased,
    evenly spread sample of the window, groups are independent, so the spread between them
    stays an honest interval, and a block's phase does not depend on chunking."""
    return block_phases(root, dest, block, 1)[0]


def block_phases(root: np.random.SeedSequence, dest: int, first: int, count: int
                 ) -> list[float]:
    """:func:`block_phase` of blocks ``first .. first + count - 1``: the groups' starts are
    the first :data:`PHASE_GROUPS` uniforms of one generator per destination (spawn key
    ``(dest, PHASE_KEY, 0)``), drawn once per call."""
    starts = np.random.default_rng(np.random.SeedSequence(
        root.entropy, spawn_key=(*root.spawn_key, dest, PHASE_KEY, 0))).random(PHASE_GROUPS)
    return [float(starts[b % PHASE_GROUPS] + (b // PHASE_GROUPS) * WEYL_STEP) % 1.0
            for b in range(first, first + count)]
