"""How often a new flow's pod port is already held towards its destination (spec §4.2 step 3, §8).

Port preservation keeps the pod's port unless another confirmed entry holds it on the NAT side;
then the search runs (spec §4.4). The odds ``h(t)`` follow the entries over the run, from an empty
table at ``t = 0``, as a renewal (delay) equation on three counts:

* kept entries sit on the ``C`` pod-port candidates (spec §8: even ports of 32768–60999 from P1
  on), each flow's for its life ``live_s + closing_s`` (spec §10);
* searched entries take *free* window ports (the search returns the first port it finds free,
  spec §4.4), so a share ``q = C (1 - o) / (S - N)`` of them lands on a candidate: the free
  candidates over the free ports of the ``S``-port window, with ``o`` the held share of the
  candidates and ``N`` the entries (Little's law, :meth:`DestinationPlan.held`);
* a pod's own entries never hold its port: the pod skips ports whose sockets are open or in its
  own TIME_WAIT (spec §8), and a SYN whose tuple hits its own closing entry re-opens it
  (``ConntrackTable.lookup_new_packet``), so the port is kept. A connect from a pod of flow ``f``
  therefore sees the others' kept entries only: on average the share
  ``1 - sum_f (r_f / R)^2 / pods_f`` of them.

``h = ((1 - own) K + Sc) / C`` with ``K`` the kept and ``Sc`` the searched entries alive on the
candidates; new flows are kept with ``1 - h`` and searched with ``h``. Each step of length ``dt``
is solved implicitly (the flows created in it enter with the step's own ``h``: a quadratic), so
flows living less than a step sit at their steady state. With near-fixed lives (120 s of
TIME_WAIT) the held share rings with a period of about one life after the empty start, and a run
measured 150–350 s after it averages a different share than the steady state: at 293 connects/s
on 30 pods the kept share swings between 0.14 and 0.36 (the SimPy model: 0.10–0.40), its steady
state is 0.23 (docs/model.md "Monte Carlo").

Approximations: the candidates are uniform (the pods' walkers, spec §8, spread over them; a pod's
own walk never meets its own entries, which is the ``own`` term); the A1 rover's arc of searched
entries (spec §4.4) is not followed, only its share of free ports; lives are the flows' mean
lives; re-opened entries still count in ``N``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

MAX_STEPS = 4000  # time steps over the run: bounds the cost (~10 µs each)
STEPS_PER_LIFE = 100  # resolution of the longest life (the held share rings at that period)
MIN_STEPS = 200


def held_curve(rates_per_s: Sequence[float], lives_s: Sequence[float], pods: Sequence[int],
               choices: int, size: int, horizon_s: float
               ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(t_s, h)``: P(a new flow's pod port is held by another pod's entry) on a grid of ``[0,
    horizon_s]`` (see the module docstring; spec §4.2 step 3, §8, §10).

    ``rates_per_s[f]``, ``lives_s[f]``, ``pods[f]``: each flow's new flows per second towards the
    destination, its entries' life and its pods; ``choices`` the pod-port candidates, ``size``
    the window's ports.
    """
    total = float(sum(rates_per_s))
    longest = max(lives_s, default=0.0)
    horizon_s = max(horizon_s, 1e-9)
    steps = min(MAX_STEPS, max(MIN_STEPS, math.ceil(horizon_s / max(longest, 1e-12)
                                                    * STEPS_PER_LIFE)))
    dt = horizon_s / steps
    t: NDArray[np.float64] = np.arange(steps + 1, dtype=float) * dt
    h = np.zeros(steps + 1)
    if total <= 0:
        return t, h
    own = sum(r * r / max(p, 1) for r, p in zip(rates_per_s, pods, strict=True)) / total ** 2
    cap = float(choices)
    flows = [(float(r), float(life), life / dt) for r, life in zip(rates_per_s, lives_s,
                                                                     strict=True) if r > 0]
    # cumulative shares of flows kept (ck) / searched onto a candidate (cs), per unit rate
    ck = np.zeros(steps + 1)
    cs = np.zeros(steps + 1)
    for i in range(1, steps + 1):
        kept_old = searched_old = young = held = 0.0
        for r, life, back in flows:
            held += r * min(t[i], life)
            young += r * min(dt, life)
            if back > 1.0:  # created in earlier steps and still alive: (t_i - life, t_{i-1}]
                lo = i - back
                if lo <= 0:
                    kept_old += r * ck[i - 1]
                    searched_old += r * cs[i - 1]
                else:
                    j = int(lo)
                    frac = lo - j
                    kept_old += r * (ck[i - 1] - ck[j] - frac * (ck[j + 1] - ck[j]))
                    searched_old += r * (cs[i - 1] - cs[j] - frac * (cs[j + 1] - cs[j]))
        hi = _step_odds(kept_old, searched_old, young, held, own, cap, float(size))
        free_ports = max(size - held, 1.0)
        # the candidates' free share after the step (young flows kept or searched at hi)
        q = max(cap - kept_old - searched_old - young * (1.0 - hi), 0.0) / (free_ports + young * hi)
        h[i] = hi
        ck[i] = ck[i - 1] + dt * (1.0 - hi)
        cs[i] = cs[i - 1] + dt * hi * q
    return t, h


def _step_odds(kept_old: float, searched_old: float, young: float, held: float, own: float,
               cap: float, size: float) -> float:
    """Solve ``h C = (K + Y (1 - h))(1 - own) + Sc + Y h q(h)`` for one step, where ``q(h) =
    (C - K - Sc - Y (1 - h)) / (S - N + Y h)``: a quadratic in ``h`` (clipped to [0, 1])."""
    free = max(size - held, 1.0)
    a0 = (kept_old + young) * (1.0 - own) + searched_old
    a1 = -young * (1.0 - own)
    b0 = cap - kept_old - searched_old - young
    quad = young * (cap - a1 - young)
    lin = cap * free - a0 * young - a1 * free - young * b0
    const = -a0 * free
    disc = max(lin * lin - 4.0 * quad * const, 0.0)
    denom = lin + math.sqrt(disc)
    root = -2.0 * const / denom if denom > 0 else 1.0
    return min(max(root, 0.0), 1.0)
