"""What the Monte Carlo exhaustion simulation needs about a scenario (:mod:`snatsim.mc.exhaustion`).

A scenario whose window or table fills up (its Little's-law occupancy above :data:`TRACK_SHARE` of
a window, or near ``conntrack.max``) is simulated rather than sampled at a steady state: its
streams of connects, the windows tracked port by port, the table, the SYN schedule and the NAT
era's search. Refused (ConfigError naming the field): what the simulation cannot step through.
"""

from __future__ import annotations

from dataclasses import dataclass

from snatsim.config import Scenario
from snatsim.distributions import Distribution, as_distribution
from snatsim.errors import ConfigError
from snatsim.kernel.eras import NatEra
from snatsim.kernel.tcp import SynSchedule
from snatsim.mc.steady import DestinationPlan

TRACK_SHARE = 0.5  # destinations holding more than this share of their window are tracked
CHUNK_MAX = 64  # replicas vectorized together (fewer when the tracked windows are large)
CHUNK_MIN = 16  # at least this many replicas per chunk: the estimate's batch-means groups
STATE_BUDGET_BYTES = 64 << 20  # tracked-window state per chunk (two float64 per port)
MAX_CONNECTS_PER_RUN = 50_000  # beyond, stepping through every SYN is slower than snatsim run


@dataclass(frozen=True)
class Stream:
    """One (workload, destination) pair: new connects at ``rate_per_s`` (Poisson).

    ``window`` is the index of its tracked window, -1 when it is not tracked (a window far from
    full, or no SNAT); ``open_dest`` the destination of an untracked SNATed stream (its pod ports
    are kept with the steady state's odds, :meth:`DestinationPlan.pod_port_held`).
    """

    workload: str
    rate_per_s: float
    window: int
    open_dest: DestinationPlan | None
    hold_s: Distribution
    requests: int
    closing_s: float
    connect_timeout_s: float | None


@dataclass(frozen=True)
class ExhaustionPlan:
    """What the simulation needs (see the module docstring)."""

    streams: tuple[Stream, ...]
    windows: tuple[DestinationPlan, ...]  # the tracked ones (their lo, size, pod ports)
    table_max: int
    gc_interval_s: float
    rtt_s: Distribution
    schedule: SynSchedule
    nat_era: NatEra
    random: bool  # A1 --random: a keyed-hash start per destination
    random_fully: bool  # A1 --random-fully: a PRNG start per search
    warmup_s: float
    duration_s: float

    @property
    def sends(self) -> int:
        """SYNs a connect sends at most (the first and its retransmits)."""
        return len(self.schedule.send_times_s)

    @property
    def end_s(self) -> float:
        """End of the simulated time: the last connect's give-up after ``duration_s``."""
        return self.duration_s + self.schedule.give_up_s + 1.0


def chunk_replicas(steady: ExhaustionPlan) -> int:
    """Replicas per chunk: :data:`CHUNK_MAX`, fewer when large tracked windows would exceed
    :data:`STATE_BUDGET_BYTES` (never fewer than :data:`CHUNK_MIN`)."""
    ports = sum(w.size for w in steady.windows)
    if ports == 0:
        return CHUNK_MAX
    return max(CHUNK_MIN, min(CHUNK_MAX, STATE_BUDGET_BYTES // (16 * ports)))


def exhaustion_plan(scenario: Scenario,
                    streams: list[tuple[str, float, int, DestinationPlan | None]],
                    windows: list[DestinationPlan], schedule: SynSchedule) -> ExhaustionPlan:
    """Build the plan from ``streams`` ``(workload name, rate, window index or -1, untracked
    destination or None)``.

    Refused (ConfigError naming the field): closed loops (their rate follows the latency),
    aligned tickers and bursts (their clusters are sampled by the steady engine only), runs of
    more than :data:`MAX_CONNECTS_PER_RUN` connects (the SimPy model is then faster).
    """
    by_name = {wl.name: (i, wl) for i, wl in enumerate(scenario.workload)}
    for i, wl in enumerate(scenario.workload):
        if wl.arrival == "closed-loop" or wl.arrival == "burst" or (
                wl.arrival == "periodic" and wl.align_phase):
            raise ConfigError(f"workload.{i}.arrival", f"{wl.arrival} arrivals towards a window "
                              "or table that fills up: the Monte Carlo exhaustion simulation "
                              "takes Poisson (or unaligned periodic) connects only; lower the "
                              "load or use snatsim run")
    connects = sum(stream[1] for stream in streams) * scenario.simulation.duration_s
    if connects > MAX_CONNECTS_PER_RUN:
        raise ConfigError("simulation.duration_s", f"a window or the table fills up, and the "
                          f"Monte Carlo exhaustion simulation steps through each of the "
                          f"~{connects:,.0f} connects of a run one SYN at a time (more than "
                          f"{MAX_CONNECTS_PER_RUN:,}: slower than the SimPy model); shorten "
                          "the run, lower the rate or use snatsim run")
    ct = scenario.conntrack
    out = []
    for name, rate, window, open_dest in streams:
        _, wl = by_name[name]
        out.append(Stream(name, rate, window, open_dest, as_distribution(wl.hold_s),
                          wl.requests_per_connection,
                          ct.tcp_timeout_time_wait_s if wl.close == "fin"
                          else ct.tcp_timeout_close_s, wl.connect_timeout_s))
    nat = scenario.nat
    profile = scenario.kernel.profile()
    return ExhaustionPlan(tuple(out), tuple(windows), ct.max, ct.gc_interval_s,
                          as_distribution(scenario.network.rtt_s), schedule, profile.nat_era,
                          nat.random, nat.random_fully, scenario.simulation.warmup_s,
                          scenario.simulation.duration_s)
