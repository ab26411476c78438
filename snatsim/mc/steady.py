"""The steady state the Monte Carlo engine samples from, derived from a :class:`Scenario`.

For every (protocol, NAT IP, destination) the engine needs (spec §5.1: ports are unique per
destination):

* the rate of new flows (first SYNs) and how it splits over the CPUs that run NAT and confirm
  (``node.steering``; spec §3.2, §16.5): only NATs on *other* CPUs can race a given one;
* the confirmed entries holding window ports at a time ``t`` after the start (Little's law over
  the connection's life plus its TIME_WAIT / CLOSE hold, spec §10; an M/G/inf occupancy that is
  still filling while ``t`` is shorter than that life: ``rate × min(t, life)``);
* the pod ports a ``connect()`` picks among (spec §8; a UDP socket binds any port of the range)
  and how likely the pod's port is already held, so that port preservation (spec §4.2 step 3)
  fails and the search runs (:mod:`snatsim.mc.podports`, followed from the empty start).

UDP lookups (``protocol = "udp"``) have their own destinations (``udp`` labels): an entry lives
the RTT plus ``conntrack.udp_timeout_s`` (answered at once, then the unreplied timeout, spec
§10); :mod:`snatsim.mc.udp` samples them.

Arrivals: ``poisson``; ``periodic`` with random phases (a superposition of many unaligned tickers
is Poisson-like over a µs race window); ``closed-loop`` at ``clients / cycle`` with the DES's cycle
(``requests × hold + think + rtt``). What the steady state cannot represent raises a
:class:`~snatsim.errors.ConfigError` naming the field (see :func:`plan`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from snatsim.config import Scenario, WorkloadConfig
from snatsim.distributions import Distribution, Fixed, as_distribution
from snatsim.errors import ConfigError
from snatsim.kernel.client_port import default_port_range
from snatsim.kernel.eras import ClientEra, NatEra
from snatsim.kernel.profiles import KernelProfile
from snatsim.kernel.tcp import SynSchedule, syn_schedule
from snatsim.kernel.window import port_window
from snatsim.mc.addresses import address_groups
from snatsim.mc.podports import held_curve
from snatsim.mc.ports import pod_candidates
from snatsim.mc.window import RaceOdds

if TYPE_CHECKING:
    from snatsim.mc.exhaustion_plan import ExhaustionPlan

MAX_OCCUPANCY = 0.9  # beyond this share of a window the exhaustion simulation answers (plan())
MAX_TABLE_SHARE = 0.9  # likewise for nf_conntrack_max (table-full drops)
FULL_TAIL = 1e-6  # ... and where the Poisson occupancy would reach a full window or table this often


@dataclass(frozen=True)
class WorkloadFlows:
    """One workload's part of a destination's flows: rate, life of an entry, app timeout."""

    name: str
    rate_per_s: float
    live_s: float  # RTT + the connection's requests: the entry is ESTABLISHED
    closing_s: float  # TIME_WAIT (close = "fin") or CLOSE ("rst") after it
    pods: int = 1  # the workload's pods (UDP: a pod's own live entries, snatsim.mc.udp)


@dataclass(frozen=True)
class DestinationPlan:
    """What the engine samples for one (protocol, NAT IP, destination).

    ``rate_per_cpu[x]`` is the rate of first SYNs towards it that NAT on CPU ``x``; ``lo, size``
    the search window (spec §4.4); ``pod_lo, pod_step, pod_choices`` the pod ports a
    ``connect()`` picks among (spec §8); ``preserve`` False for ``--random``/``--random-fully``
    or pod ports outside ``--to-ports``.
    """

    label: str
    flows: tuple[WorkloadFlows, ...]
    rate_per_cpu: tuple[float, ...]
    lo: int
    size: int
    pod_lo: int
    pod_step: int
    pod_choices: int
    preserve: bool
    udp: bool = False  # UDP lookups (snatsim.mc.udp) instead of TCP connects
    horizon_s: float = 0.0  # the run's duration (pod_port_held's curve; 0: ten lives)
    probing: bool = True  # A2+: the search probes on from a random start (else the A1 rover)
    rover_lead: int = 0  # A1: window ports below the pod range, free on the rover's first lap
    rover_rate_per_s: float = 0.0  # A1: new flows of the protocol (all destinations)

    @property
    def rate_per_s(self) -> float:
        """First SYNs per second towards the destination."""
        return sum(self.rate_per_cpu)

    def held(self, t_s: float | np.ndarray) -> np.ndarray:
        """Mean confirmed entries at time ``t_s`` after the start (M/G/inf, fixed lives)."""
        t = np.asarray(t_s, dtype=float)
        return np.asarray(sum(f.rate_per_s * np.minimum(t, f.live_s + f.closing_s)
                              for f in self.flows), dtype=float)

    def closing_share(self, t_s: float | np.ndarray) -> np.ndarray:
        """Share of the held entries that are closing (TIME_WAIT/CLOSE: evictable on A3+)."""
        t = np.asarray(t_s, dtype=float)
        closing = sum(f.rate_per_s * np.clip(t - f.live_s, 0.0, f.closing_s) for f in self.flows)
        held = self.held(t)
        return np.asarray(np.where(held > 0, closing / np.maximum(held, 1e-300), 0.0))

    def pod_port_held(self, t_s: float | np.ndarray) -> np.ndarray:
        """P(the pod's port is held by another pod's entry at ``t_s``), so preservation fails.

        The renewal equation of :func:`snatsim.mc.podports.held_curve` (spec §4.2 step 3, §8):
        kept entries on the ``pod_choices`` candidates, searched ones on free window ports (the
        A1 rover's in turn from offset 0, the A2+ search's after busy runs), a pod's own entries
        never in its way; from the empty table at ``t = 0``.
        """
        t, h = self._held_curve
        return np.asarray(np.interp(np.asarray(t_s, dtype=float), t, h))

    @functools.cached_property
    def candidates(self) -> np.ndarray:
        """Which window slots are pod-port candidates (:func:`snatsim.mc.ports.pod_candidates`;
        computed once)."""
        return pod_candidates(self)

    @functools.cached_property
    def _held_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """The grid of :meth:`pod_port_held` over ``[0, horizon_s]`` (computed once)."""
        lives = [f.live_s + f.closing_s for f in self.flows]
        horizon_s = self.horizon_s if self.horizon_s > 0 else 10.0 * max(lives, default=1.0)
        return held_curve([f.rate_per_s for f in self.flows], lives,
                          [f.pods for f in self.flows], self.pod_choices, self.size, horizon_s,
                          probing=self.probing, odd=self.pod_choices * (self.pod_step - 1),
                          rover_lead=self.rover_lead, rover_rate_per_s=self.rover_rate_per_s)


@dataclass(frozen=True)
class ClusterPlan:
    """An aligned periodic workload or a burst workload: its destination, its connections' CPUs
    per tick, the jitter of their start and the period.

    ``cpus[phase][j]`` is the CPU of the ``j``-th connection of a tick (client steering); a burst
    takes its clients in turn, so the pattern cycles over several phases (one for tickers).
    """

    workload: str
    dest: int
    cpus: tuple[tuple[int, ...], ...]
    jitter_s: Distribution
    period_s: float
    dests: tuple[int, ...] = ()  # several destinations: each one's plan index (dest first)
    dest_p: tuple[float, ...] = ()  # and the probability a connection goes there

    @property
    def options(self) -> tuple[tuple[int, ...], tuple[float, ...]]:
        """The destinations a connection of a tick picks among, and their probabilities."""
        return (self.dests, self.dest_p) if self.dests else ((self.dest,), (1.0,))

    @property
    def tickers(self) -> int:
        """Connections per tick."""
        return len(self.cpus[0])


@dataclass(frozen=True)
class SteadyPlan:
    """Everything the engine needs about a scenario (see the module docstring)."""

    profile: KernelProfile
    destinations: tuple[DestinationPlan, ...]
    cpus: int
    nat_to_confirm_us: Distribution
    rtt_mean_s: float
    schedule: SynSchedule
    connect_timeout_s: dict[str, float | None]
    workload_destinations: dict[str, tuple[tuple[int, float], ...]]  # name -> (dest index, share)
    workload_rates: dict[str, float]
    warmup_s: float
    duration_s: float
    steering: str = "client"
    random_fully: bool = False  # A1: a PRNG start per search instead of the shared rover
    clusters: tuple[ClusterPlan, ...] = ()
    exhaustion: ExhaustionPlan | None = None  # set when a window or the table fills up
    nat_random: bool = False  # --random: A1 a hash start, A2+ a PRNG one (spec §4.4)
    udp_tries: dict[str, tuple[int, float]] = dataclasses.field(default_factory=dict)
    """UDP workloads: name -> (attempts, retry_timeout_s) of the resolver (spec §12)."""

    @property
    def measured_s(self) -> float:
        """Length of the measured window (connections started after the warm-up)."""
        return self.duration_s - self.warmup_s

    def race_odds(self, c_max: float) -> RaceOdds:
        """The race term averaged over the leader's NAT -> confirm time, read from a grid up to
        ``c_max`` (:mod:`snatsim.mc.window`): built once per plan and ``c_max``, so the
        destinations and ``rel_error`` rounds of one estimate share it (~0.25 ms each)."""
        grids = self._race_grids
        if c_max not in grids:
            grids[c_max] = RaceOdds(self.nat_to_confirm_us, c_max)
        return grids[c_max]

    @functools.cached_property
    def _race_grids(self) -> dict[float, RaceOdds]:
        return {}


def workload_rate_per_s(wl: WorkloadConfig, rtt_mean_s: float, field: str) -> float:
    """Long-run new-connection rate of a workload (closed loop: clients over the DES's cycle)."""
    if wl.arrival == "closed-loop":  # a UDP lookup's socket lives until its answers arrive
        hold_s = (wl.requests_per_connection * as_distribution(wl.hold_s).mean
                  if wl.protocol == "tcp" else 0.0)
        cycle_s = hold_s + as_distribution(wl.think_time_s).mean + rtt_mean_s
        return wl.clients / cycle_s
    rate = wl.mean_rate_per_s()
    assert rate is not None
    return rate


def _check_supported(scenario: Scenario, profile: KernelProfile) -> None:
    """Raise a ConfigError naming the field for what the steady state cannot represent."""
    for i, wl in enumerate(scenario.workload):
        aligned = wl.arrival == "burst" or (wl.arrival == "periodic" and wl.align_phase)
        if wl.protocol == "udp" and aligned:
            raise ConfigError(f"workload.{i}.protocol", "UDP lookups are sampled with Poisson-"
                              "like arrivals only: aligned tickers and bursts of lookups race "
                              "as clusters, which the Monte Carlo engine samples for TCP "
                              "connects only; use snatsim run")
        if wl.source_port != "ephemeral":
            raise ConfigError(f"workload.{i}.source_port", "a fixed source port gives each "
                              "pod one 4-tuple per destination: a connect() while the last is "
                              "open fails in the pod (EADDRINUSE), a new SYN re-opens the pod's "
                              "TIME_WAIT entry, and every pod asks for the same NAT port (spec "
                              "§4.2 step 3); the Monte Carlo engine's Little's-law occupancy "
                              "and independent pod ports do not hold there; use snatsim run")


def plan(scenario: Scenario) -> SteadyPlan:
    """Derive the :class:`SteadyPlan` of ``scenario``; ConfigError for what it cannot represent.

    Refused: aligned tickers or bursts of UDP lookups, fixed source ports, aligned tickers or
    bursts over several NAT addresses or without SNAT, UDP lookups in a run
    whose window or table fills up. A mean occupancy above :data:`MAX_OCCUPANCY` of a window or above
    :data:`MAX_TABLE_SHARE` of ``conntrack.max`` breaks the steady state (drops feed back into the
    load): the plan then carries an :class:`~snatsim.mc.exhaustion_plan.ExhaustionPlan` and the
    estimate simulates the occupancy instead (:mod:`snatsim.mc.exhaustion`).
    """
    profile = scenario.kernel.profile()
    _check_supported(scenario, profile)
    nat, ct = scenario.nat, scenario.conntrack
    rtt_mean_s = as_distribution(scenario.network.rtt_s).mean
    pod_lo, pod_hi = default_port_range(profile.client_era)
    lo, size = port_window(pod_lo, nat.port_range)
    pod_inside = nat.port_range is None or (lo <= pod_lo and pod_hi < lo + size)
    preserve = not (nat.random or nat.random_fully) and pod_inside
    # a connect() walks even ports first from P1 on (spec §8); a UDP socket binds any free port
    pod_ports = {"tcp": (pod_lo, 1 if profile.client_era <= ClientEra.P0 else 2),
                 "udp": (pod_lo, 1)}
    aligned = {i for i, wl in enumerate(scenario.workload)
               if wl.arrival == "burst" or (wl.arrival == "periodic" and wl.align_phase)}
    flows: dict[str, list[tuple[WorkloadFlows, np.ndarray]]] = {}
    wl_dest: dict[str, list[tuple[str, float]]] = {}
    rates: dict[str, float] = {}
    udp_tries: dict[str, tuple[int, float]] = {}
    for i, wl in enumerate(scenario.workload):
        rate = workload_rate_per_s(wl, rtt_mean_s, f"workload.{i}")
        rates[wl.name] = rate
        if wl.protocol == "udp":  # answered at once, then the unreplied timeout (spec §10)
            live_s, closing_s = rtt_mean_s + ct.udp_timeout_s, 0.0
            udp_tries[wl.name] = (wl.attempts, wl.retry_timeout_s)
        else:
            live_s = rtt_mean_s + wl.requests_per_connection * as_distribution(wl.hold_s).mean
            closing_s = (ct.tcp_timeout_time_wait_s if wl.close == "fin"
                         else ct.tcp_timeout_close_s)
        for dst, p in zip(wl.destinations, wl.destination_probabilities(), strict=True):
            for g in address_groups(scenario, i, dst.ip):  # one per NAT address (spec §4.3)
                label = f"{wl.protocol} {g.ip} -> {dst.address}"
                wl_dest.setdefault(wl.name, []).append((label, p * g.share))
                if not wl.snat:
                    continue  # no NAT: pods' own addresses never clash (spec §4.2 step 1)
                f = WorkloadFlows(wl.name, rate * p * g.share, live_s, closing_s, g.pods)
                # aligned tickers race as clusters (snatsim.mc.cluster), not Poisson partners
                racing = 0.0 if i in aligned else rate * p * g.share
                flows.setdefault(label, []).append((f, racing * g.cpu_share))
    # the A1 rover (one per protocol, offset 0 at boot) moves with every destination's searches
    rover = profile.nat_era == NatEra.A1
    proto_rate = {p: sum(f.rate_per_s for label, parts in flows.items() for f, _ in parts
                         if label.startswith(p + " ")) for p in pod_ports}
    dests = tuple(
        DestinationPlan(label, tuple(f for f, _ in parts),
                        tuple(float(x) for x in np.sum([c for _, c in parts], axis=0)),
                        lo, size, pod_ports[proto][0], pod_ports[proto][1],
                        (pod_hi + 1 - pod_lo) // pod_ports[proto][1], preserve, proto == "udp",
                        scenario.simulation.duration_s, probing=not rover,
                        rover_lead=max(pod_lo - lo, 0) if rover else 0,
                        rover_rate_per_s=proto_rate[proto] if rover else 0.0)
        for label, parts in flows.items()
        for proto in (label.split(" ", 1)[0],)
    )
    index = {d.label: k for k, d in enumerate(dests)}
    schedule = syn_schedule(profile.syn_era, syn_retries=scenario.tcp.syn_retries,
                            linear_timeouts=scenario.tcp.syn_linear_timeouts)
    wl_index = {name: tuple((index.get(label, -1), p) for label, p in parts)
                for name, parts in wl_dest.items()}
    exhaustion = (_exhaustion(scenario, dests, wl_index, rates, schedule)
                  if _overloaded(scenario, dests) else None)
    if exhaustion is not None and udp_tries:
        i = next(i for i, wl in enumerate(scenario.workload) if wl.protocol == "udp")
        raise ConfigError(f"workload.{i}.protocol", "a window or the conntrack table fills up "
                          "(Little's law): the Monte Carlo engine then simulates the occupancy "
                          "for TCP connects only, not UDP lookups; lower the load or use "
                          "snatsim run")
    clusters = () if exhaustion else tuple(_cluster(scenario, i, index) for i in sorted(aligned))
    return SteadyPlan(
        profile=profile, destinations=dests, cpus=scenario.node.cpus,
        nat_to_confirm_us=as_distribution(scenario.node.nat_to_confirm_us),
        rtt_mean_s=rtt_mean_s,
        schedule=schedule,
        connect_timeout_s={wl.name: wl.connect_timeout_s for wl in scenario.workload},
        workload_destinations=wl_index, workload_rates=rates,
        warmup_s=scenario.simulation.warmup_s, duration_s=scenario.simulation.duration_s,
        steering=scenario.node.steering, random_fully=nat.random_fully, clusters=clusters,
        exhaustion=exhaustion, nat_random=nat.random, udp_tries=udp_tries,
    )


def _cluster(scenario: Scenario, i: int, index: dict[str, int]) -> ClusterPlan:
    """The :class:`ClusterPlan` of aligned periodic or burst workload ``i`` (SNATed, one NAT
    address per destination; a burst starts all its connections at one instant, clients in
    turn; with several destinations each connection picks one, snatsim.mc.cluster)."""
    wl = scenario.workload[i]
    if not wl.snat:
        raise ConfigError(f"workload.{i}.snat", "aligned tickers and bursts are sampled towards "
                          "SNATed destinations; use snatsim run")
    labels = []
    for dst in wl.destinations:
        groups = address_groups(scenario, i, dst.ip)
        if len(groups) > 1:
            raise ConfigError("nat.to_source", f"workload.{i}'s pods leave by {len(groups)} NAT "
                              "addresses (spec §4.3): aligned tickers and bursts are sampled "
                              "towards one address; give one address or use snatsim run")
        labels.append(index[f"tcp {groups[0].ip} -> {dst.address}"])
    several = len(labels) > 1  # each connection picks its destination (spec: the DES's connect())
    dests = tuple(labels) if several else ()
    dest_p = wl.destination_probabilities() if several else ()
    label = labels[0]
    first = sum(w.clients for w in scenario.workload[:i])
    cpus = scenario.node.cpus
    _check_rounds_apart(scenario, i)
    if wl.arrival == "burst":
        assert wl.burst_size is not None and wl.burst_interval_s is not None
        size, n = wl.burst_size, wl.clients
        phases = n // math.gcd(size, n)  # burst b starts at client (b * size) mod n
        pattern = tuple(tuple((first + (b * size + j) % n) % cpus for j in range(size))
                        for b in range(phases))
        return ClusterPlan(wl.name, label, pattern, Fixed(value=0.0), wl.burst_interval_s,
                           dests, dest_p)
    assert wl.period_s is not None
    pattern = (tuple((first + c) % cpus for c in range(wl.clients)),)
    return ClusterPlan(wl.name, label, pattern, as_distribution(wl.jitter_s), wl.period_s,
                       dests, dest_p)


def _check_rounds_apart(scenario: Scenario, i: int) -> None:
    """Refuse ticks whose SYN retransmits land on a later tick: the clusters would merge.

    A retransmit ``s`` seconds after a tick falls among a later tick's connections when ``s`` is
    within the tick's spread (10 × the mean jitter, at least 1 ms) of a multiple of the period.
    """
    wl = scenario.workload[i]
    period_s = wl.period_s if wl.arrival == "periodic" else wl.burst_interval_s
    field = f"workload.{i}." + ("period_s" if wl.arrival == "periodic" else "burst_interval_s")
    assert period_s is not None
    spread_s = max(10.0 * as_distribution(wl.jitter_s).mean, 1e-3)
    profile = scenario.kernel.profile()
    schedule = syn_schedule(profile.syn_era, syn_retries=scenario.tcp.syn_retries,
                            linear_timeouts=scenario.tcp.syn_linear_timeouts)
    for send_s in schedule.send_times_s[1:]:
        gap_s = abs(send_s - round(send_s / period_s) * period_s)
        if gap_s < spread_s:
            raise ConfigError(field, f"the SYN retransmit {send_s:g} s after a tick lands on a "
                              f"later tick ({period_s:g} s apart): the losers would race that "
                              "tick's connections, which the Monte Carlo engine does not "
                              "sample; use a period that does not divide the retransmit times "
                              "or snatsim run")


def _overloaded(scenario: Scenario, dests: tuple[DestinationPlan, ...]) -> bool:
    """Does a window or the table fill up (Little's law at the end of the run)? There the steady
    state breaks: drops feed back into the load.

    Full means a mean occupancy above :data:`MAX_OCCUPANCY` of the window (:data:`MAX_TABLE_SHARE`
    of ``conntrack.max``), or a Poisson occupancy with that mean reaching the whole window (table)
    with odds above :data:`FULL_TAIL`: the steady state samples that law untruncated, so on a small
    window it puts mass on full windows that the loss system's feedback keeps rare (a 256-port A2
    window at 85 %: 0.6 % of blocks full, ten times the simulated exhaustion drops;
    ``tests/test_mc_exhaustion.py`` pins it).
    """
    t_end = scenario.simulation.duration_s
    for d in dests:
        held = float(d.held(t_end))
        if held > MAX_OCCUPANCY * d.size or full_odds(held, d.size) > FULL_TAIL:
            return True
    total = sum(float(d.held(t_end)) for d in dests) + _unnated_held(scenario)
    limit = scenario.conntrack.max
    return total > MAX_TABLE_SHARE * limit or full_odds(total, limit) > FULL_TAIL


def full_odds(mean: float, size: int) -> float:
    """``P(X >= size)`` for ``X ~ Poisson(mean)`` (1 when ``mean >= size``), by its series."""
    if mean >= size:
        return 1.0
    if mean <= 0:
        return 0.0
    head = size * math.log(mean) - mean - math.lgamma(size + 1)
    total, term, k = 0.0, 1.0, size
    while term > 1e-12 * total or total == 0.0:
        total += term
        k += 1
        term *= mean / k
    return math.exp(head) * total


def _unnated_held(scenario: Scenario) -> float:
    """Table entries of workloads without SNAT (they fill the table, not a window)."""
    ct = scenario.conntrack
    rtt_mean_s = as_distribution(scenario.network.rtt_s).mean
    return sum(workload_rate_per_s(wl, rtt_mean_s, f"workload.{i}")
               * (rtt_mean_s + wl.requests_per_connection * as_distribution(wl.hold_s).mean
                  + (ct.tcp_timeout_time_wait_s if wl.close == "fin" else ct.tcp_timeout_close_s))
               for i, wl in enumerate(scenario.workload) if not wl.snat)


def _exhaustion(scenario: Scenario, dests: tuple[DestinationPlan, ...],
                wl_index: dict[str, tuple[tuple[int, float], ...]], rates: dict[str, float],
                schedule: SynSchedule) -> ExhaustionPlan:
    """The exhaustion simulation's plan: one stream per (workload, destination) in
    ``wl_index`` order; windows above :data:`~snatsim.mc.exhaustion_plan.TRACK_SHARE` tracked."""
    from snatsim.mc.exhaustion_plan import TRACK_SHARE, exhaustion_plan

    t_end = scenario.simulation.duration_s
    tracked = [k for k, d in enumerate(dests) if float(d.held(t_end)) > TRACK_SHARE * d.size]
    windows = [dests[k] for k in tracked]
    streams = [(name, rates[name] * p, tracked.index(k) if k in tracked else -1,
                dests[k] if k >= 0 and k not in tracked else None)
               for name, parts in wl_index.items() for k, p in parts]
    return exhaustion_plan(scenario, streams, windows, schedule)
