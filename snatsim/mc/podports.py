"""How often a new flow's pod port is already held towards its destination (spec §4.2 step 3, §8).

Port preservation keeps the pod's port unless another confirmed entry holds it on the NAT side;
then the search runs (spec §4.4). The odds ``h(t)`` follow the entries over the run, from an empty
table at ``t = 0``, as a renewal (delay) equation on three counts:

* kept entries sit on the ``C`` pod-port candidates (spec §8: even ports of 32768–60999 from P1
  on), each flow's for its life ``live_s + closing_s`` (spec §10);
* searched entries take *free* window ports (the search returns the first port it finds free,
  spec §4.4), so a share ``q = C (1 - o) / F`` of them lands on a candidate, ``o`` the held share
  of the candidates. The A1 rover hands out every free port in turn: ``F = S - N`` free ports of
  the ``S``-port window (``N`` entries, Little's law, :meth:`DestinationPlan.held`), except on its
  first lap from offset 0 at boot, below the pod range, where it hands out none. The A2+ search
  probes on from a random start, so a free port is found with weight 1 + the busy run before
  it: with the odd ports interleaved (held share ``o_d``, searched entries only),
  ``F = S (1 - o o_d) / (1 + o_d)`` (ports held independently);
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
measured 150–350 s after it averages a different share than the steady state: on 4.14 at 293
connects/s on 30 pods the kept share goes 0.40 -> 0.16 -> 0.29 in 10 s bins (the SimPy model:
0.40 -> 0.10 -> 0.38), its steady state is 0.235 (A2+: 0.217, the SimPy model 0.217 on 5.4
measured 1,000–1,500 s; docs/model.md "Monte Carlo").

Approximations: the candidates are uniform (the pods' walkers, spec §8, spread over them; a pod's
own walk never meets its own entries, which is the ``own`` term); the A1 rover's arc of searched
entries (spec §4.4) is followed only to the pod range on its first lap, then by its share of free
ports; the rover moves with every destination's searches, taken at this destination's odds; the
A2+ busy runs treat ports as independent (linear probing clusters them); lives are the flows'
mean lives; re-opened entries still count in ``N``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

MAX_STEPS = 4000  # time steps over the run: bounds the cost (~2 µs each)
STEPS_PER_LIFE = 50
"""Steps per longest life (the held share rings at that period). The steps are implicit, first
order: on a filling table the share is within 0.0085 of its ODEs at 50 steps of the life, 0.0043 at
100 (``tests/test_mc_podports.py``); over the measured windows of ``configs/`` and the capacity
race point its mean moves less than 6e-4 from 400 steps of the life."""
MIN_STEPS = 200


def held_curve(rates_per_s: Sequence[float], lives_s: Sequence[float], pods: Sequence[int],
               choices: int, size: int, horizon_s: float, *, probing: bool = False,
               odd: int = 0, rover_lead: int = 0, rover_rate_per_s: float = 0.0
               ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(t_s, h)``: P(a new flow's pod port is held by another pod's entry) on a grid of ``[0,
    horizon_s]`` (see the module docstring; spec §4.2 step 3, §8, §10).

    ``rates_per_s[f]``, ``lives_s[f]``, ``pods[f]``: each flow's new flows per second towards the
    destination, its entries' life and its pods; ``choices`` the pod-port candidates, ``size``
    the window's ports. ``probing``: the search probes on from a random start (A2+), so it
    lands on a free port with weight 1 + the busy run before it; ``odd``: the window ports
    interleaved with the candidates (the odd ports of the pod range from P1 on, else 0).
    Otherwise (the A1 rover) every free port is equally likely, once the rover, at offset 0
    at boot (``t = 0``), has passed the ``rover_lead`` window ports below the pod range on its
    first lap: it moves one port per search of ``rover_rate_per_s`` new flows (every
    destination's: the rover is global per protocol, spec §4.4) held with this one's odds.
    """
    total = float(sum(rates_per_s))
    longest = max(lives_s, default=0.0)
    horizon_s = max(horizon_s, 1e-9)
    steps = min(MAX_STEPS, max(MIN_STEPS, math.ceil(horizon_s / max(longest, 1e-12)
                                                    * STEPS_PER_LIFE)))
    dt = horizon_s / steps
    t: NDArray[np.float64] = np.arange(steps + 1, dtype=float) * dt
    if total <= 0:
        return t, np.zeros(steps + 1)
    own = sum(r * r / max(p, 1) for r, p in zip(rates_per_s, pods, strict=True)) / total ** 2
    cap = float(choices)
    flows = [(float(r), float(life), life / dt) for r, life in zip(rates_per_s, lives_s,
                                                                     strict=True) if r > 0]
    # cumulative shares of the flows kept (ck), searched onto a candidate (cs) or onto an
    # interleaved odd port (cd), per unit rate; Python lists: the loop reads them one float at
    # a time, ~4x cheaper than numpy scalars (same arithmetic, same values)
    h, ck, cs = [0.0] * (steps + 1), [0.0] * (steps + 1), [0.0] * (steps + 1)
    cd = [0.0] * (steps + 1)
    # what does not depend on h: the entries held at t_i (Little's law from the empty start)
    # and those created within a step (young); the rest are the flows still alive from earlier
    # steps, r x (cum[i - 1] - cum(i - back)), cum read linearly between its points
    held_arr = np.zeros(steps + 1)
    for r, life, _ in flows:
        held_arr += r * np.minimum(t, life)
    held_at = held_arr.tolist()
    young = sum(r * min(dt, life) for r, life, _ in flows)
    old = [(r, back) for r, _, back in flows if back > 1.0]
    rate_old = sum(r for r, _ in old)
    odd = odd if probing else 0  # only the A2+ search's weights read the odd ports' share
    o_c = o_d = 0.0  # held shares of the candidates and of the odd ports after the last step
    swept = 0.0  # ports the A1 rover has passed since boot (free on its first lap)
    for i in range(1, steps + 1):
        kept_old, searched_old = rate_old * ck[i - 1], rate_old * cs[i - 1]
        odd_old = rate_old * cd[i - 1] if odd else 0.0
        for r, back in old:  # created in earlier steps and still alive: (t_i - life, t_{i-1}]
            lo = i - back
            if lo > 0:
                j = int(lo)
                w1 = r * (lo - j)
                w0 = r - w1
                kept_old -= w0 * ck[j] + w1 * ck[j + 1]
                searched_old -= w0 * cs[j] + w1 * cs[j + 1]
                if odd:
                    odd_old -= w0 * cd[j] + w1 * cd[j + 1]
        if probing:  # free ports weighted by 1 + the busy run before them (independent ports)
            o_before = o_d if odd else o_c
            free = size * (1.0 - o_c * o_before) / (1.0 + o_before)
        else:
            free = size - held_at[i]
        # below the pod range on its first lap the rover hands out no candidate at all
        free = max(free, 1.0) if swept >= rover_lead else math.inf
        hi = _step_odds(kept_old, searched_old, young, own, cap, free)
        # the share of searches that lands on a candidate (young flows kept or searched at hi)
        q = max(cap - kept_old - searched_old - young * (1.0 - hi), 0.0) / (free + young * hi)
        if probing:  # the held shares the next step's weights read
            o_c = min((kept_old + searched_old + young * (1.0 - hi + hi * q)) / cap, 1.0)
            if odd:
                q_d = odd * (1.0 - o_d) * (1.0 + o_c) / max(1.0 - o_c * o_d, 1e-12) / size
                o_d = min((odd_old + young * hi * q_d) / odd, 1.0)
                cd[i] = cd[i - 1] + dt * hi * q_d
        h[i] = hi
        swept += rover_rate_per_s * hi * dt
        ck[i] = ck[i - 1] + dt * (1.0 - hi)
        cs[i] = cs[i - 1] + dt * hi * q
    return t, np.array(h)


def _step_odds(kept_old: float, searched_old: float, young: float, own: float, cap: float,
               free: float) -> float:
    """Solve ``h C = (K + Y (1 - h))(1 - own) + Sc + Y h q(h)`` for one step, where ``q(h) =
    (C - K - Sc - Y (1 - h)) / (F + Y h)`` (``F`` the free ports, weighted when probing;
    infinite while the A1 rover is below the pod range): a quadratic in ``h`` (clipped to
    [0, 1])."""
    a0 = (kept_old + young) * (1.0 - own) + searched_old
    a1 = -young * (1.0 - own)
    if math.isinf(free):  # no search lands on a candidate: q = 0, h linear
        return min(max(a0 / (cap - a1), 0.0), 1.0)
    b0 = cap - kept_old - searched_old - young
    quad = young * (cap - a1 - young)
    lin = cap * free - a0 * young - a1 * free - young * b0
    const = -a0 * free
    disc = max(lin * lin - 4.0 * quad * const, 0.0)
    denom = lin + math.sqrt(disc)
    root = -2.0 * const / denom if denom > 0 else 1.0
    return min(max(root, 0.0), 1.0)
