"""UDP lookups (DNS-like): one trial is a lookup's first try, its A and AAAA queries (spec §11, §6.2).

A resolver sends two queries back-to-back on one socket, so both packets carry the same original
tuple (spec §11). What the SimPy model does with them (``snatsim.des.node``), and so what a trial
samples:

1. **Own entry** (probability :meth:`UdpSampler.own_entry`): the pod's socket got a port that an
   earlier socket of the same pod used towards the destination within the entry's life; both
   queries belong to that live entry, nothing is NATed and nothing can be dropped.
2. **CPUs**: query A on its CPU (the destination's per-CPU rates); query B on the same CPU under
   ``client`` and ``flow-hash`` steering (one 5-tuple), on a uniform CPU under ``random``.
3. **Query A's NAT** as a TCP leader's (:meth:`DestinationSampler._take_ports`): the pod port kept
   unless held, else the search (spec §4.2, §4.4); a search that gives up keeps a busy port and is
   dropped at confirm, cause *exhaustion* (UDP never evicts, spec §5.3 is TCP only).
4. **Query B**: on A's CPU it is processed after A's confirm and simply belongs to A's entry; only
   when A gave up does it NAT afresh (and give up again on a full window). On another CPU both
   NAT concurrently (spec §11): without ``--random``/``--random-fully`` B takes A's NAT port through
   the by-source lookup (entries enter it at NAT time, spec §4.2 step 1), as does the A1
   ``--random`` hash start; otherwise B searches with its own offsets. The second confirm then
   clashes on the original tuple (spec §6.2): C0/C1 drop it; C2+ merge identical entries; C3+
   insert a B on another port reply-only (NAT_CLASH, ``clash_resolve``); C2 drops that one.
5. **Cross-pod race** as for TCP (:mod:`snatsim.mc.engine`, Rao-Blackwellized): ``J ~
   Poisson(mu)`` NATs on other CPUs inside A's window, at the destination's NAT rate (lookups
   not on an own entry, times ``1 +`` the share with a concurrent B); each takes A's port (or a
   concurrent B's other port) with the exact odds of :meth:`DestinationSampler._clash_odds` and
   then drops it with probability 1/2: ``1 - exp(-mu q / 2)``, averaged over A's NAT -> confirm
   time (:mod:`snatsim.mc.window`). The race term is added only to trials with no certain drop.

A try fails when any of its queries is dropped; the resolver resends after ``retry_timeout_s``
(5 s) up to ``attempts`` tries (spec §12). A retry belongs to the entry the failed try left
(either query accepted) and goes through; only a try that left no entry (both queries gave up)
NATs again, and gives up again with the persistence of the block's occupancy
(:func:`udp_law`). Draw order per block: ``t``, ``m``, busy ports, own-entry uniforms, A's CPUs,
B's CPUs (``random`` steering only), A's ports (as the TCP leader's), B's search offsets
(:func:`~snatsim.mc.alloc.u16_offsets`, ``(B, rounds)``); neither the partners nor A's NAT ->
confirm time draw anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from snatsim.analytic.latency import LatencyMixture, latency_mixture
from snatsim.kernel.eras import ConfirmEra, NatEra
from snatsim.kernel.tcp import SynSchedule
from snatsim.mc.alloc import search_rounds, search_rover, u16_offsets
from snatsim.mc.engine import BLOCK_TRIALS, DestinationSampler
from snatsim.mc.steady import SteadyPlan

UDP_TALLY = ("trials", "natted", "fail", "lost", "race", "exhaustion", "noentry", "found", "kept",
             "clash", "resolved", "dropped_clash")
"""Columns of a UDP block tally (sums over the block's trials): lookups; lookups that NATed; the
first try failed (a probability per trial); queries lost in it; those lost by the first drop's
cause; no entry left after it; ``found`` increments; pod ports kept; sibling clashes at confirm,
resolved ones (merged or NAT_CLASH) and dropped ones."""
_U = {name: i for i, name in enumerate(UDP_TALLY)}
QUERIES_PER_TRY = 2  # glibc: A and AAAA back-to-back on one socket (spec §11)


def sibling_resolved(era: ConfirmEra, identical: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Is the clash of two entries of one socket (same original tuple) at the second confirm
    resolved without a drop? ``identical``: both got the same NAT port (spec §6.2, §11 table):
    C0/C1 never (every entry has a NAT binding on a NAT node), C2 when identical, C3+ always
    (identical: merged; another port: a unique reply tuple, inserted reply-only)."""
    if era >= ConfirmEra.C3:
        return np.ones_like(identical)
    if era >= ConfirmEra.C2:
        return identical.copy()
    return np.zeros_like(identical)


def same_port_siblings(nat_era: NatEra, random: bool, random_fully: bool) -> bool:
    """Do two concurrent NATs of one socket's packets get the same NAT port (spec §4.2, §4.4)?

    Without a random flag the second finds the first in the by-source index (entries enter it
    at NAT time, before confirm) and reuses its port, whether that was kept or searched; A1
    ``--random`` starts both searches at one keyed hash on the same table. ``--random-fully``,
    and ``--random`` from A2 on, search from independent PRNG offsets.
    """
    return not (random_fully or (random and nat_era >= NatEra.A2))


class UdpSampler(DestinationSampler):
    """Runs blocks of lookups (first tries) towards one UDP destination of a plan."""

    def __init__(self, steady: SteadyPlan, index: int) -> None:
        super().__init__(steady, index)
        self.evicting = False  # eviction is for a TCP SYN only (spec §5.3)
        cpus = steady.cpus
        self.b_elsewhere = (1.0 - 1.0 / cpus) if steady.steering == "random" else 0.0
        # B takes A's NAT port: by-source reuse (no random flag) or A1 --random's hash start
        self.b_same_port = same_port_siblings(steady.profile.nat_era, steady.nat_random,
                                              steady.random_fully)
        self.era = steady.profile.confirm_era
        # P(a lookup's first try loses a query to its sibling | it NATs), see own_entry
        resolved = bool(sibling_resolved(self.era, np.array([self.b_same_port]))[0])
        self.sibling_drop = 0.0 if resolved else self.b_elsewhere
        tries = {steady.udp_tries[f.name] for f in self.dest.flows}
        self.retry_timeout_s = max(timeout for _, timeout in tries)
        # NATs per lookup on other CPUs: A, plus B where it runs concurrently (the own-entry
        # share is taken off per block)
        self.other_rate = self.other_rate * (1.0 + self.b_elsewhere)
        # A's and a concurrent B's clash odds add up (up to 2): c reaches the whole rate
        self.race_c_max = float(self.other_rate.max())

    def own_entry(self, t_s: float) -> float:
        """P(the socket's port is one its pod used towards the destination within the entry's
        life, so its entry is still live and the lookup NATs nothing).

        A pod picks uniformly among its ``C`` ports not held by its open sockets, at ``r =
        rate / pods``. A port was used within the last ``w = min(t, life + D)`` seconds with
        ``1 - exp(-r w / C)``; ``D = retry_timeout_s × P(the first try fails)`` is how long a
        socket waiting for its retry stays open (its ``r × min(t, D)`` ports hold live entries
        but cannot be picked). The failing share counts the sibling drops only (certain for
        spread queries on C0/C1, and on C2 when they take two ports; races and exhaustion are
        left out); it depends on this probability, so it is a fixed point, found by iterating.
        """
        d = self.dest
        total = d.rate_per_s
        if total <= 0:
            return 0.0
        out = 0.0
        for f in d.flows:
            r, life_s = f.rate_per_s / max(f.pods, 1), f.live_s + f.closing_s
            q = 0.0
            for _ in range(20):
                open_s = min(t_s, self.retry_timeout_s * self.sibling_drop * (1.0 - q))
                window_s = min(t_s, life_s + open_s)
                live = -d.pod_choices * math.expm1(-r * window_s / d.pod_choices)
                q = max(0.0, live - r * open_s) / (d.pod_choices - min(r * open_s,
                                                                       d.pod_choices - 1))
            out += f.rate_per_s / total * q
        return out

    def block(self, rng: np.random.Generator, n: int = BLOCK_TRIALS,
              phase: float | None = None) -> NDArray[np.float64]:
        """Tally ``n`` lookups drawn from ``rng`` (see the module docstring for the draw order),
        at ``phase`` of the measured window if given."""
        d, p = self.dest, self.plan
        t_s, busy = self._occupancy(rng, phase)
        held_p = float(d.pod_port_held(t_s)) if d.preserve else 1.0
        q_own = self.own_entry(t_s)
        nat = rng.random(n) >= q_own
        cpu = rng.choice(self.cpu_p.size, n, p=self.cpu_p)
        cpu_b = rng.integers(0, p.cpus, size=n) if p.steering == "random" else cpu
        concurrent = nat & (cpu_b != cpu)
        slot, searched, found_a, gave_up, _, rover = self._take_ports(rng, busy, None, held_p, (n,))
        found_a = found_a + (searched & d.preserve)  # a held pod port: the used-check counts it
        slot_b, gave_b, found_b = self._sibling(rng, busy, slot, searched, gave_up, found_a)
        gave_up &= nat
        b_nats = concurrent | gave_up  # on A's CPU, B NATs afresh only after A's give-up
        gave_b &= b_nats
        # sibling clash at the second confirm (spec §6.2), when both got a free port
        clash = concurrent & ~gave_up & ~gave_b
        identical = slot_b == slot
        resolved = clash & sibling_resolved(self.era, identical)
        sib_drop = clash & ~resolved
        certain = gave_up.astype(float) + gave_b + sib_drop
        exhausted = gave_up | gave_b
        race = np.zeros(n)
        if self.other_rate.max() > 0:  # as the TCP leader's: 1 - E[(1 - q / 2)^J], J ~ Poisson
            taken = self._clash_odds(busy, None, held_p, slot, rover)  # a partner takes A's port
            other_b = concurrent & ~identical  # a concurrent B on another port can lose too
            if other_b.any():
                taken = taken + other_b * self._clash_odds(busy, None, held_p, slot_b, rover)
            taken *= 0.5 * (1.0 - q_own) * self.other_rate[cpu]
            race = np.where(nat & (certain == 0), self.race_odds(taken), 0.0)
        fail = np.minimum(certain, 1.0) + race
        lost = certain + race
        exh_lost = np.where(exhausted, certain, 0.0)
        found = np.where(nat, found_a, 0) + np.where(b_nats, found_b, 0)
        return np.array([n, nat.sum(), fail.sum(), lost.sum(), (lost - exh_lost).sum(),
                         exh_lost.sum(), (gave_up & gave_b).sum(), found.sum(),
                         (nat & ~searched).sum(), clash.sum(), resolved.sum(), sib_drop.sum()],
                        dtype=float)

    def _sibling(self, rng: np.random.Generator, busy: NDArray[np.bool_],
                 slot: NDArray[np.int64], searched: NDArray[np.bool_], gave_up: NDArray[np.bool_],
                 found_a: NDArray[np.int32]
                 ) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.int32]]:
        """Query B's NAT if it runs one: its slot, give-up and ``found`` (spec §4.2, §11).

        Same port and table as A: B keeps the pod port when A did. A searching B takes A's port
        when :attr:`b_same_port` (by-source reuse or the A1 hash start; after A's give-up it
        searches the same full window and gives up too, with A's ``found``; before that the
        by-source candidate is not yet confirmed, so nothing is counted), else searches with its
        own offsets.
        """
        d = self.dest
        offsets = u16_offsets(rng, (slot.size, self.rounds))
        if self.b_same_port:
            return slot, gave_up.copy(), np.where(gave_up, found_a, 0).astype(np.int32)
        res = search_rover(busy, offsets[:, 0]) if self.a1 else search_rounds(busy, offsets)
        slot_b = np.where(searched, res.slot.astype(np.int64), slot)
        found_b = np.where(searched, res.found + d.preserve, 0).astype(np.int32)
        return slot_b, searched & res.gave_up, found_b


@dataclass(frozen=True)
class UdpLaw:
    """A UDP destination's lookup law for one workload: the tries' outcome law and per-lookup
    expected queries sent and lost (by cause), resolved sibling clashes and ``found``."""

    mix: LatencyMixture
    queries_sent: float
    queries_lost: float
    causes: dict[str, float]
    resolved: float  # resolved sibling clashes (C2: insert_failed, C3+: clash_resolve; the C1
    # ones are dropped queries, counted in queries_lost)
    found: float
    kept: float  # P(the pod port is kept | the lookup NATed)


def resolver_schedule(attempts: int, retry_timeout_s: float) -> SynSchedule:
    """The resolver's tries as a send schedule: every ``retry_timeout_s``, failing after the
    last try's timeout (spec §12; ``snatsim.des`` ends the lookup at ``attempts × timeout``)."""
    return SynSchedule(tuple(k * retry_timeout_s for k in range(attempts)),
                       attempts * retry_timeout_s)


def udp_law(sums: NDArray[np.float64] | None, steady: SteadyPlan, attempts: int,
            retry_timeout_s: float) -> UdpLaw:
    """The lookup law from a (blocks, len(UDP_TALLY)) array of block tallies (None: a workload
    with ``snat = false``, whose queries keep their addresses and are never dropped).

    P(try 0 fails) is the tallied mean. A later try fails only when the try before left no
    entry (both queries gave up) and the window is still exhausted: P(try k fails | try k-1
    failed) = ``sum_b ne_b f_b / n_b / sum_b f_b`` over the blocks' counts of no-entry tries
    ``ne_b`` and failed tries ``f_b`` (the occupancy persists between tries, as
    :mod:`snatsim.mc.figures` assumes for TCP give-ups); such a retry loses both queries
    (cause exhaustion). Latency: the try's send time + mean NAT -> confirm + mean RTT.
    """
    if sums is None:  # one lookup that NATs nothing, keeps its port and loses nothing
        sums = np.array([[1.0 if name in ("trials", "natted", "kept") else 0.0
                          for name in UDP_TALLY]])
    col = {name: float(sums[:, i].sum()) for name, i in _U.items()}
    n_b, f_b, ne_b = sums[:, _U["trials"]], sums[:, _U["fail"]], sums[:, _U["noentry"]]
    total = col["trials"]
    first = col["fail"] / total
    again = float(np.sum(ne_b * f_b / n_b) / col["fail"]) if col["fail"] else 0.0
    probs = [min(1.0, first), min(1.0, again)]
    schedule = resolver_schedule(attempts, retry_timeout_s)
    mix = latency_mixture(probs, schedule, rtt_s=steady.rtt_mean_s,
                          nat_to_confirm_s=steady.nat_to_confirm_us.mean * 1e-6)
    reach_retry = first * (1.0 - again ** (attempts - 1)) / (1.0 - again) if again < 1 \
        else first * (attempts - 1)  # expected retries sent: sum_k P(tries 0..k-1 failed)
    retries_failed = reach_retry * again
    tries = 1.0 + reach_retry
    causes = {"race": col["race"] / total,
              "exhaustion": col["exhaustion"] / total + QUERIES_PER_TRY * retries_failed}
    return UdpLaw(mix=mix, queries_sent=QUERIES_PER_TRY * tries,
                  queries_lost=col["lost"] / total + QUERIES_PER_TRY * retries_failed,
                  causes=causes, resolved=col["resolved"] / total,
                  found=col["found"] / total,
                  kept=col["kept"] / col["natted"] if col["natted"] else 0.0)
