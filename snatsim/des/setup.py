"""Build a node, its pods, clients and random streams from a validated :class:`Scenario`.

Random streams are independent children of one :class:`numpy.random.SeedSequence` (spawned in a
fixed order, see :data:`STREAMS`), so adding draws to one component never shifts another's.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np

from snatsim.config import Scenario, WorkloadConfig
from snatsim.errors import SnatsimError
from snatsim.kernel.client_port import ConnectPortChooser, default_port_range
from snatsim.kernel.conntrack import TCP, UDP, ConntrackTable
from snatsim.kernel.eras import NatEra
from snatsim.kernel.hashing import keyed_hash32
from snatsim.kernel.nat import NatRange, SnatAllocator
from snatsim.kernel.profiles import KernelProfile
from snatsim.kernel.tcp import syn_schedule
from snatsim.kernel.timeouts import TcpTimeouts, UdpTimeouts
from snatsim.kernel.tuples import ConnTuple
from snatsim.rng import Draws
from snatsim.rundata import pod_ip

# child streams of the run's SeedSequence, in spawn order (never reorder: it changes results)
STREAMS = ("kernel", "packets", "clients", "timing", "secrets", "workloads")
_OPEN = float("inf")  # "busy until" of a port whose socket is still open
PRUNE_MIN = 256  # a pod's ports per destination kept without pruning (see Pod.local_port)


class PortInUseError(SnatsimError):
    """connect() from a fixed source port whose 4-tuple is still open in the pod (EADDRINUSE)."""

    def __init__(self, pod_ip: str, port: int, destination: str) -> None:
        super().__init__(f"{pod_ip}:{port} -> {destination} is still open (EADDRINUSE)")


class DestinationRuntime:
    """A destination of one workload, with its index for records."""

    __slots__ = ("address", "index", "ip", "key", "port", "weight")

    def __init__(self, index: int, ip: str, port: int, weight: float) -> None:
        self.index = index
        self.ip = ip
        self.port = port
        self.weight = weight
        self.address = f"{ip}:{port}"
        self.key = (ip, port)


class WorkloadRuntime:
    """A ``[[workload]]`` with its samplers bound to its own random stream."""

    def __init__(self, index: int, cfg: WorkloadConfig, rng: np.random.Generator) -> None:
        self.index = index
        self.cfg = cfg
        self.name = cfg.name
        self.proto = TCP if cfg.protocol == "tcp" else UDP
        self.snat = cfg.snat
        self.source_port = cfg.source_port  # "ephemeral" or a fixed port (read per connect())
        self.fin = cfg.close == "fin"
        self.requests = cfg.requests_per_connection
        self.connect_timeout_s = cfg.connect_timeout_s
        self.retry_timeout_s = cfg.retry_timeout_s
        self.attempts = cfg.attempts
        self.destinations = [
            DestinationRuntime(i, d.ip, d.port, d.weight) for i, d in enumerate(cfg.destinations)
        ]
        self.hold_s = cfg.hold_s.sampler(rng)
        self.think_s = cfg.think_time_s.sampler(rng)
        self.jitter_s = cfg.jitter_s.sampler(rng)
        # how long an established connection stays open: its requests' hold times added up
        self.lifetime_s: Callable[[], float] = (
            self.hold_s if self.requests == 1 else self._lifetime_s
        )
        self.uniform = Draws(rng)
        weights = np.array([d.weight for d in self.destinations], dtype=float)
        self._cum = (np.cumsum(weights) / weights.sum()).tolist()
        self.clients: list[Client] = []

    def pick_destination(self) -> DestinationRuntime:
        """A destination drawn by weight (no draw when there is only one)."""
        if len(self.destinations) == 1:
            return self.destinations[0]
        u = self.uniform.uniform()
        for d, c in zip(self.destinations, self._cum, strict=True):
            if u < c:
                return d
        return self.destinations[-1]

    def _lifetime_s(self) -> float:
        return sum(self.hold_s() for _ in range(self.requests))


class Pod:
    """A pod: its address, its kernel's connect() port choice and its sockets (spec §8)."""

    def __init__(self, index: int, ip: str, chooser: ConnectPortChooser) -> None:
        self.index = index
        self.ip = ip
        self.chooser = chooser
        # (dst ip, dst port) -> {local port: busy until (inf while open)}
        self._tcp: dict[tuple[str, int], dict[int, float]] = {}
        # (dst ip, dst port) -> size above which its ports free again are forgotten
        self._prune_above: dict[tuple[str, int], int] = {}
        self._udp: set[int] = set()

    def local_port(self, wl: WorkloadRuntime, dst: DestinationRuntime, now_s: float, draws: Draws) -> int:
        """The local port of a new socket (fixed, or the pod kernel's ephemeral choice)."""
        fixed = wl.source_port
        if fixed != "ephemeral":
            port = int(fixed)
            if wl.proto == TCP:
                busy = self._tcp.setdefault((dst.ip, dst.port), {})
                if busy.get(port, 0.0) == _OPEN:  # its pod-side TIME_WAIT is ignored (SO_REUSEADDR)
                    raise PortInUseError(self.ip, port, dst.address)
                busy[port] = _OPEN
            return port
        if wl.proto == UDP:  # a random free port of ip_local_port_range (no connect() parity scheme)
            lo, hi = self.chooser.lo, self.chooser.hi
            while True:
                port = lo + draws.below(hi - lo + 1)
                if port not in self._udp:
                    self._udp.add(port)
                    return port
        until = self._tcp.get(dst.key)  # local port -> busy until
        if until is None:
            until = self._tcp[dst.key] = {}
        elif len(until) > self._prune_above.get(dst.key, PRUNE_MIN):
            # forget ports free again (a missing port is free: same answers); pruning again only
            # when the dict has doubled keeps it within twice the ports in use, at O(1) amortized
            for p in [p for p, t in until.items() if t <= now_s]:
                del until[p]
            self._prune_above[dst.key] = max(PRUNE_MIN, 2 * len(until))
        port = self.chooser.choose(
            self.ip, dst.ip, dst.port, now_s, lambda p: until.get(p, 0.0) > now_s, draws
        )
        until[port] = _OPEN
        return port

    def release(self, orig: ConnTuple, until_s: float) -> None:
        """The socket closed: its 4-tuple stays unusable until ``until_s`` (pod TIME_WAIT)."""
        if orig.proto == UDP:
            self._udp.discard(orig.src_port)
            return
        busy = self._tcp.get((orig.dst_ip, orig.dst_port))
        if busy is not None:
            busy[orig.src_port] = until_s


class Client:
    """A client process in a pod, pinned to one CPU (``steering = "client"``, spec §16.5).

    Client *i* of the node (counting through the workloads in order) runs on CPU ``i mod cpus``.
    """

    __slots__ = ("cpu", "index", "pod", "workload")

    def __init__(self, index: int, workload: WorkloadRuntime, pod: Pod, cpu: int) -> None:
        self.index = index
        self.workload = workload
        self.pod = pod
        self.cpu = cpu


class NodeSetup:
    """Everything static about a run: kernel objects, pods, clients, samplers, eras."""

    def __init__(self, scenario: Scenario, profile: KernelProfile, seed: np.random.SeedSequence):
        self.scenario = scenario
        self.profile = profile
        sim = scenario.simulation
        self.duration_s = sim.duration_s
        self.warmup_s = sim.warmup_s
        # spawned from a copy: SeedSequence.spawn counts its children, so spawning from the
        # caller's object would give a second run with it other streams than the first (and
        # streams that its provenance, entropy + spawn key, could not reproduce)
        root = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key,
                                      pool_size=seed.pool_size)
        children = root.spawn(len(STREAMS))
        streams = dict(zip(STREAMS, children, strict=True))
        rng = {name: np.random.default_rng(ss) for name, ss in streams.items()}
        self.kernel_draws = Draws(rng["kernel"])
        self.packet_draws = Draws(rng["packets"])
        self.client_draws = Draws(rng["clients"])
        secrets = rng["secrets"]

        node = scenario.node
        self.cpus = node.cpus
        self.steering = node.steering
        self.window_s: Callable[[], float] = node.nat_to_confirm_us.sampler(
            rng["timing"], scale=1e-6
        )
        self.rtt_s: Callable[[], float] = scenario.network.rtt_s.sampler(rng["timing"])

        ct = scenario.conntrack
        self.table = ConntrackTable(
            max_entries=ct.max,
            tcp_timeouts=TcpTimeouts(
                time_wait_s=ct.tcp_timeout_time_wait_s,
                close_s=ct.tcp_timeout_close_s,
                syn_sent_s=ct.tcp_timeout_syn_sent_s,
                established_s=ct.tcp_timeout_established_s,
            ),
            udp_timeouts=UdpTimeouts(unreplied_s=ct.udp_timeout_s, stream_s=ct.udp_timeout_stream_s),
            same_origin_free=profile.nat_era >= NatEra.A2,
        )
        nat = scenario.nat
        ips = (node.ip,) if nat.target == "masquerade" else tuple(nat.to_source)
        self.nat_range = NatRange(
            ips=ips, ports=nat.port_range, random=nat.random, random_fully=nat.random_fully,
            persistent=nat.persistent,
        )
        self.allocator = SnatAllocator(profile.nat_era, self.nat_range, secret=secrets.bytes(16))
        self.confirm_era = profile.confirm_era
        tcp = scenario.tcp
        self.syn_schedule = syn_schedule(
            profile.syn_era, syn_retries=tcp.syn_retries, linear_timeouts=tcp.syn_linear_timeouts
        )
        self._isn_secret = int(secrets.integers(0, 2**32))
        self._flow_secret = secrets.bytes(16)

        wl_seeds = streams["workloads"].spawn(len(scenario.workload))
        self.workloads: list[WorkloadRuntime] = []
        self.pods: list[Pod] = []
        self.clients: list[Client] = []
        # one connect() port chooser per node: the perturbation table and the hash secret are
        # kernel globals shared by every pod netns; the pod address enters the hash (spec §8)
        chooser = ConnectPortChooser(
            profile.client_era,
            int(secrets.integers(0, 2**63)),
            *default_port_range(profile.client_era),
        )
        for wi, cfg in enumerate(scenario.workload):
            wl = WorkloadRuntime(wi, cfg, np.random.default_rng(wl_seeds[wi]))
            self.workloads.append(wl)
            for _ in range(cfg.pods):
                pod = Pod(len(self.pods), pod_ip(len(self.pods)), chooser)
                self.pods.append(pod)
                for _ in range(cfg.clients_per_pod):
                    # clients are spread over the CPUs in turn (deterministic, so tests can
                    # script which flows can race: client i runs on CPU i mod cpus)
                    client = Client(len(self.clients), wl, pod, len(self.clients) % self.cpus)
                    self.clients.append(client)
                    wl.clients.append(client)

    def isn(self, orig: ConnTuple, now_s: float) -> int:
        """The client's initial sequence number: a keyed hash of the 4-tuple + a 64 ns clock.

        As RFC 6528 (the kernel uses siphash; a seeded CRC-32 has the statistics that matter): a
        reconnect on the same 4-tuple gets a larger ISN, unrelated flows compare like a coin flip
        (spec §5.3).
        """
        key = f"{orig.src_ip}:{orig.src_port}>{orig.dst_ip}:{orig.dst_port}".encode()
        return (zlib.crc32(key, self._isn_secret) + (int(now_s * 1e9) >> 6)) & 0xFFFFFFFF

    def flow_cpu(self, orig: ConnTuple) -> int:
        """RSS/RPS-style CPU for a flow: a keyed hash of its 5-tuple (``steering = "flow-hash"``)."""
        return keyed_hash32(self._flow_secret, *orig) % self.cpus
