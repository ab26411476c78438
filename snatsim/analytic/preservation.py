"""Port preservation between pods: same pod port, kept or changed (spec §2.3, §4.2 step 3, §5.4, §8).

Without ``--random``/``--random-fully`` the NAT first tries to keep the pod's own source port
(spec §4.2 step 3). Pods choose their ports almost independently (each has its own address in the
keyed hash, spec §8), so towards one destination:

* a new flow whose pod port is already held by another pod's confirmed entry is *changed*
  (remapped by the search: no drop, a "detected collision", spec §16.6);
* two flows from different pods with the same port whose NATs overlap (neither confirmed, spec
  §3.2) both *keep* it and clash at confirm: one SYN is dropped (spec §6.2, §13.2);
* otherwise the port is *kept*.

How many ports a pod picks among (spec §2.3, §8): P0 (<= 4.1) scans the whole range 32768-61000 in
steps of 1 (28,233 ports); P1-P4 start on the parity of the range start (even) and scan in steps of
2, so a pod with free even ports picks one of 14,116: two pods coincide with probability
1/14,116 (spec §8). A4's ``used_tuple_new`` (spec §5.4) is ``used()`` for TCP: no change here.

Assumptions: each pod's first choice is uniform over its candidate ports and independent of other
pods (the keyed hash's start offset, uniform across pods); the pod has free ports of the first
parity; the ``held`` confirmed entries sit at distinct candidate ports, a uniformly random subset;
a changed flow's search never lands on a contested port (a ~1/64,512 event, neglected); the pod
port lies inside the NAT window (``--to-ports`` ranges that exclude it never preserve).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

from snatsim.kernel.client_port import default_port_range
from snatsim.kernel.eras import ClientEra


def pod_port_choices(era: ClientEra, port_range: tuple[int, int] | None = None) -> int:
    """How many ports a pod's ``connect()`` picks among, equally likely (spec §8).

    P0: every port of the range (step 1). P1-P4: the ports with the parity of the range start
    (step 2 over an even count). ``port_range`` is ``ip_local_port_range`` (the era's default if
    None).
    """
    lo, hi = default_port_range(era) if port_range is None else port_range
    n = hi + 1 - lo
    if n < 1:
        raise ValueError(f"empty port range {lo}-{hi}")
    if ClientEra(era) <= ClientEra.P0 or n == 1:
        return n
    return (n & ~1) // 2


def same_port_probability(era: ClientEra, port_range: tuple[int, int] | None = None) -> float:
    """P(two pods' connects to one destination pick the same pod port): ``1 / choices``."""
    return 1.0 / pod_port_choices(era, port_range)


@dataclass(frozen=True)
class PreservationOdds:
    """Outcome law of one new flow's NAT port (one destination).

    ``kept``: the pod port is kept and no overlapping flow contests it; ``changed``: it was held,
    the search remaps it; ``contested``: kept, but one or more overlapping flows from other pods
    kept the same port, so all but one of them are dropped at confirm; ``dropped``: P(this flow is
    the one dropped), with the confirm order uniformly random among the contenders.
    """

    kept: float
    changed: float
    contested: float
    dropped: float


def preservation_odds(choices: int, held: int = 0, overlap: int = 0, *,
                      preserve: bool = True) -> PreservationOdds:
    """Kept / changed / contested for a new flow (spec §4.2 step 3).

    Parameters
    ----------
    choices:
        Equally likely pod ports (:func:`pod_port_choices`).
    held:
        Other pods' confirmed entries towards the destination, at distinct pod ports (Little's
        law: their rate × hold time, for flows that kept their port).
    overlap:
        Flows from other pods whose NAT -> confirm windows overlap this one's (none confirmed).
    preserve:
        False for ``--random``/``--random-fully``: no preservation, everything is searched.
    """
    if not 0 <= held <= choices or overlap < 0:
        raise ValueError(f"need 0 <= held <= choices and overlap >= 0, got {held}, {choices}, "
                         f"{overlap}")
    if not preserve:
        return PreservationOdds(0.0, 1.0, 0.0, 0.0)
    free = 1.0 - held / choices
    # r of the overlapping flows picked this port: Binomial(overlap, 1/choices)
    r = np.arange(overlap + 1)
    pmf = binom.pmf(r, overlap, 1.0 / choices)
    alone = float(pmf[0])
    lose = float(np.sum(pmf * r / (r + 1)))
    return PreservationOdds(kept=free * alone, changed=held / choices, contested=free * (1.0 - alone),
                            dropped=free * lose)
