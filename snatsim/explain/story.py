"""Turn a scripted run's trace into the story ``snatsim explain`` tells: one event per step.

Every fact comes from the trace records of :mod:`snatsim.des.trace` (and the scenario that made
them): which confirmed entries a NAT decision could see is rebuilt from the confirms, closes and
evictions that came before it; unconfirmed entries on other CPUs are listed as the ones it could
*not* see (spec §3.2). Nothing here simulates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from snatsim.config import Scenario
from snatsim.kernel.eras import ConfirmEra, NatEra
from snatsim.kernel.legend import meaning
from snatsim.kernel.profiles import KernelProfile
from snatsim.kernel.tcp import syn_schedule
from snatsim.kernel.window import port_window

__all__ = ["COUNTERS", "Story", "narrate"]

COUNTERS = ("found", "insert_failed", "drop", "clash_resolve")
_KINDS = {"drop": "clash", "app-timeout": "app-timeout", "etimedout": "etimedout"}


@dataclass
class _Held:
    """A confirmed conntrack entry as the story knows it: its flow, state and expiry."""

    flow: int
    state: str = "SYN_SENT"
    expires_s: float = float("inf")


@dataclass
class Story:
    """What ``snatsim explain`` shows: the setup, the eras and the narrated events."""

    kernel: str
    mode: str
    cause: str
    seed: int
    setup: str
    eras: dict[str, str]
    why_not: str | None
    events: list[dict[str, Any]] = field(default_factory=list)
    connections: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    mitigations: list[dict[str, Any]] = field(default_factory=list)

    def outcome(self) -> dict[str, Any]:
        """What the run came to: SYNs lost, clashes, evictions, the slowest connect (None when a
        connection never connected within the script)."""
        latencies = [c["latency_s"] for c in self.connections]
        return {
            "syns_lost": sum(c["lost"] for c in self.connections),
            "clashes": sum(e["kind"] == "clash" for e in self.events),
            "evictions": sum(len(e.get("evicted", [])) for e in self.events),
            "slowest_connect_s": None if None in latencies else max(latencies),
        }

    def kinds(self) -> list[str]:
        """The event kinds in order (what tests and readers check first)."""
        return [e["kind"] for e in self.events]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: the ``--json`` output."""
        return {
            "kernel": self.kernel, "mode": self.mode, "cause": self.cause, "seed": self.seed,
            "setup": self.setup, "eras": self.eras, "possible": self.why_not is None,
            "why_not": self.why_not, "events": self.events, "connections": self.connections,
            "counters": self.counters, "outcome": self.outcome(),
            "mitigations": self.mitigations,
        }


def why_not(profile: KernelProfile, mode: str, cause: str) -> str | None:
    """Why this kernel or rule cannot produce ``cause`` (None when it can), citing the spec."""
    if cause == "preservation" and mode != "default":
        return (f"--{mode} never keeps the pod's port (docs/kernel.md §4.2 steps 1 and 3): two "
                "pods binding the same port cannot clash through port preservation. Below, the "
                "same script shows what the search does instead (on A1, --random starts every "
                "search to one destination at the same hash, §2.1).")
    if cause == "eviction" and profile.nat_era < NatEra.A3:
        return (f"NAT era {profile.nat_era} ({meaning('nat_era', str(profile.nat_era))}) has no "
                "eviction: a SYN may evict a TIME_WAIT/CLOSE entry only from era A3, kernel 6.5 "
                "(docs/kernel.md §2.1, §5.3). Below, the same script shows what this kernel does "
                "instead: the closing entries hold their ports and the SYN is dropped.")
    return None


def _moved(moved: dict[str, list[int]]) -> str:
    """``insert_failed 0→1, drop 0→1``: the counters a step moved."""
    return ", ".join(f"{k} {a}→{b}" for k, (a, b) in moved.items())


class _Narrator:
    """Walks the trace once, keeping the table as the trace shows it."""

    def __init__(self, scenario: Scenario, profile: KernelProfile,
                 pod_ports: dict[int, int]) -> None:
        self.s = scenario
        self.pod_ports = pod_ports  # flow -> the pod's source port (from its first SYN)
        self.p = profile
        self.confirmed: dict[int, _Held] = {}  # NAT port -> entry
        self.in_flight: dict[int, tuple[int, int, int]] = {}  # flow -> (NAT port, cpu, pod port)
        self.first_syn_s: dict[int, float] = {}
        self.last_syn_s: dict[int, float] = {}
        self.cpu_of: dict[int, int] = {}
        self.prev = dict.fromkeys(COUNTERS, 0)
        self.schedule = syn_schedule(profile.syn_era, syn_retries=scenario.tcp.syn_retries,
                                     linear_timeouts=scenario.tcp.syn_linear_timeouts)

    def visible(self, now_s: float) -> dict[int, _Held]:
        """Confirmed entries not yet expired at ``now_s`` (spec §5.1: expired ones are invisible)."""
        return {port: h for port, h in sorted(self.confirmed.items()) if h.expires_s > now_s}

    def event(self, rec: dict[str, Any]) -> dict[str, Any]:
        step = rec["step"]
        now = rec["t_s"]
        flow = rec["flow"]
        moved = {k: [self.prev[k], rec[k]] for k in COUNTERS if rec[k] != self.prev[k]}
        self.prev = {k: rec[k] for k in COUNTERS}
        ev: dict[str, Any] = {
            "time_s": now, "flow": flow, "pod": rec["pod"], "cpu": rec.get("cpu"),
            "kind": _KINDS.get(step, step), "port": rec["port"],
            "counters": {k: rec[k] for k in COUNTERS}, "moved": moved,
        }
        handler = getattr(self, "_" + step.replace("-", "_"), None)
        ev["text"] = handler(rec, ev) if handler is not None else step
        return ev

    # ------------------------------------------------------------------ one method per step
    def _syn(self, rec: dict[str, Any], ev: dict[str, Any]) -> str:
        self.first_syn_s[rec["flow"]] = self.last_syn_s[rec["flow"]] = rec["t_s"]
        return f"pod {rec['pod']} connect(): SYN from pod port {rec['port']} (ISN chosen now)"

    def _retransmit(self, rec: dict[str, Any], ev: dict[str, Any]) -> str:
        flow = rec["flow"]
        since_first = rec["t_s"] - self.first_syn_s[flow]
        since_last = rec["t_s"] - self.last_syn_s[flow]
        self.last_syn_s[flow] = rec["t_s"]
        ev["cpu"] = self.cpu_of.get(flow)
        ev["after_s"] = since_last
        ev["since_first_s"] = since_first
        times = ", ".join(f"{t:g}" for t in self.schedule.send_times_s[:5])
        return (f"no SYN-ACK: the client retransmits the SYN +{since_last:g} s later "
                f"(same pod port {rec['port']}, same ISN; era {self.p.syn_era} sends SYNs at "
                f"{times}, … s; docs/kernel.md §2.4, §9)")

    def _nat(self, rec: dict[str, Any], ev: dict[str, Any]) -> str:
        flow, cpu, port, now = rec["flow"], rec["cpu"], rec["port"], rec["t_s"]
        self.cpu_of[flow] = cpu
        pod_port = self.pod_ports[flow]
        sees = self.visible(now)
        blind = {f: (p, c) for f, (p, c, _) in self.in_flight.items() if c != cpu}
        ev["pod_port"] = pod_port
        ev["sees"] = [{"port": p, "flow": h.flow, "state": h.state} for p, h in sees.items()]
        ev["cannot_see"] = [{"port": p, "flow": f, "cpu": c} for f, (p, c) in blind.items()]
        for key in ("outcome", "probes", "busy", "rounds"):
            ev[key] = rec[key]
        ev["evicted"] = []
        for gone in rec.get("evicted", []):
            held = self.confirmed.pop(gone)
            ev["evicted"].append({"port": gone, "flow": held.flow, "state": held.state})
        ev["evict_refused"] = rec.get("evict_refused", 0)
        self.in_flight[flow] = (port, cpu, pod_port)
        seen = ", ".join(f"{p} ({h.state}, flow {h.flow})" for p, h in sees.items()) or "none"
        text = f"NAT on CPU {cpu} sees confirmed entries: {seen}"
        if blind:
            text += "; cannot see " + ", ".join(
                f"{p} (flow {f}, unconfirmed on CPU {c})" for f, (p, c) in blind.items())
        ev["reason"] = reason = self._why(rec, pod_port)
        text = f"{text}. {reason}"
        if ev["moved"]:
            text += " (" + _moved(ev["moved"]) + ": each busy port it probed, §7, §16.3)"
        return text

    def _why(self, rec: dict[str, Any], pod_port: int) -> str:
        """Why NAT chose this port, from the decision's outcome, probes and the era (spec §4.2, §4.4)."""
        nat = self.s.nat
        outcome, port, probes, busy = rec["outcome"], rec["port"], rec["probes"], rec["busy"]
        if outcome in ("port-kept", "preserved"):
            return f"Keeps the pod's port {port}: no confirmed entry uses it (§4.2 step 3)."
        if outcome == "bysource":
            return f"Reuses the mapping of the same socket: port {port} (§4.2 step 1)."
        lo, size = port_window(pod_port, nat.port_range)
        if nat.random or nat.random_fully:
            first = "the rule's random flag: the pod's port is never kept (§4.2)"
        elif not lo <= pod_port < lo + size:
            first = f"pod port {pod_port} lies outside the window {lo}-{lo + size - 1} (§4.2 step 3)"
        else:
            first = f"pod port {pod_port} is taken by a confirmed entry (§4.2 step 3)"
        start = lo + (port - lo - (probes - 1)) % size
        if self.p.nat_era == NatEra.A1:
            how = ("the keyed hash of (NAT IP, destination), the same for every flow to it"
                   if nat.random and not nat.random_fully else
                   "a random offset" if nat.random_fully else
                   "the global rover, shared by all CPUs (it points at the port handed out last)")
            search = f"A1 search from {how}: starts at {start}"
        else:
            search = (f"{self.p.nat_era} search: {rec['rounds']} round(s) from random offsets"
                      + (f", starting at {start}" if rec["rounds"] == 1 else ""))
        text = f"Searches because {first}. {search}, {probes} probe(s), {busy} busy"
        if rec.get("evicted"):
            text += f"; evicts the closing entry on port {', '.join(map(str, rec['evicted']))} " \
                    "(our SYN's sequence is ahead of it, §5.3)"
        if rec.get("evict_refused"):
            text += (f"; eviction refused {rec['evict_refused']} time(s): our SYN's sequence "
                     "is not ahead of the closing entry's (§5.3, §16.2)")
        if outcome == "gave-up":
            return f"{text}: every probe was busy, so it keeps the busy port {port} (§4.4)."
        return f"{text}: takes port {port}."

    def _confirm(self, rec: dict[str, Any], ev: dict[str, Any]) -> str:
        self.in_flight.pop(rec["flow"], None)
        self.confirmed[rec["port"]] = _Held(rec["flow"])
        return (f"confirm on CPU {rec['cpu']}: the entry with NAT port {rec['port']} enters the "
                "table; only now can NAT on other CPUs see it (§3.2)")

    def _drop(self, rec: dict[str, Any], ev: dict[str, Any]) -> str:
        flow, port = rec["flow"], rec["port"]
        ev["cpu"] = self.in_flight.pop(flow, (0, self.cpu_of.get(flow), 0))[1]
        ev["cause"] = cause = rec["cause"]
        winner = self.confirmed.get(port)
        ev["winner_flow"] = winner.flow if winner is not None else None
        ev["resolution"] = "drop"
        era = self.p.confirm_era
        moved = _moved(ev["moved"])
        held = f"flow {winner.flow}'s confirmed entry" if winner else "a confirmed entry"
        tcp = ("TCP never clash-resolves, even from C3 (5.6+), which resolves only UDP"
               if era >= ConfirmEra.C3 else "TCP clashes always drop")
        return (f"CLASH at confirm: {held} already has NAT port {port}. {tcp} (§2.2, §6.2): "
                f"era {era} drops the SYN ({moved}; cause: {cause}, §16.1)")

    def _established(self, rec: dict[str, Any], ev: dict[str, Any]) -> str:
        self.confirmed[rec["port"]].state = "ESTABLISHED"
        ev["cpu"] = self.cpu_of.get(rec["flow"])
        ev["latency_s"] = rec["latency_s"]
        return (f"SYN-ACK back: connect() returns after {rec['latency_s']:.6f} s "
                f"(NAT port {rec['port']})")

    def _close(self, rec: dict[str, Any], ev: dict[str, Any]) -> str:
        held = self.confirmed[rec["port"]]
        ct = self.s.conntrack
        fin = rec["by"] == "fin"
        held.state = "TIME_WAIT" if fin else "CLOSE"
        timeout_s = ct.tcp_timeout_time_wait_s if fin else ct.tcp_timeout_close_s
        held.expires_s = rec["t_s"] + timeout_s
        ev["cpu"] = self.cpu_of.get(rec["flow"])
        return (f"closed by {'FIN' if fin else 'RST'}: the entry on port {rec['port']} stays "
                f"{held.state} for {timeout_s:g} s and still holds the port (§10)")

    def _etimedout(self, rec: dict[str, Any], ev: dict[str, Any]) -> str:
        return "connect() fails: ETIMEDOUT (§9)"

    def _app_timeout(self, rec: dict[str, Any], ev: dict[str, Any]) -> str:
        return "the application's connect timeout fires first (§9)"


def narrate(scenario: Scenario, records: list[dict[str, Any]], *, kernel: str, mode: str,
            cause: str, seed: int, setup: str) -> Story:
    """The story of one scripted run: ``records`` are its trace (spec sections in each event)."""
    profile = scenario.kernel.profile()
    pod_ports = {r["flow"]: r["port"] for r in records if r["step"] == "syn"}
    narrator = _Narrator(scenario, profile, pod_ports)
    story = Story(kernel=kernel, mode=mode, cause=cause, seed=seed,
                  setup=setup, eras={k: v for k, v in profile.to_dict().items() if k.endswith("_era")},
                  why_not=why_not(profile, mode, cause))
    story.events = [narrator.event(r) for r in records]
    next_cpu: dict[int, int] = {}  # a SYN's CPU is that of the NAT step that follows it
    for e in reversed(story.events):
        if e["cpu"] is None and e["flow"] in next_cpu:
            e["cpu"] = next_cpu[e["flow"]]
        elif e["kind"] == "nat":
            next_cpu[e["flow"]] = e["cpu"]
    story.counters = dict(narrator.prev)
    for flow, t0 in sorted(narrator.first_syn_s.items()):
        mine = [e for e in story.events if e["flow"] == flow]
        done = [e for e in mine if e["kind"] == "established"]
        story.connections.append({
            "flow": flow, "pod": mine[0]["pod"], "pod_port": pod_ports[flow],
            "started_s": t0, "syns": sum(e["kind"] in ("syn", "retransmit") for e in mine),
            "lost": sum(e["kind"] == "clash" for e in mine),
            "nat_port": done[0]["port"] if done else None,
            "latency_s": done[0]["latency_s"] if done else None,
        })
    return story
