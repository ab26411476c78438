"""Expected SNAT ports held per (NAT IP, destination) against the port window (Little's law).

Ports run out per (proto, NAT IP, dst IP, dst port) (spec §5.1). A port stays held while its
conntrack entry lives: the connection itself, then TIME_WAIT (``close = "fin"``) or CLOSE
(``"rst"``) for TCP, the replied-stream timeout for UDP (spec §10). By Little's law the mean number
held is the sum over workloads of rate × hold time. A mean at or above the window size means the
window is exhausted in steady state: the A1 search then walks the whole window for every SYN and
every search gives up (spec §4.4). :func:`window_warnings` says so before a run, era by era.
"""

from __future__ import annotations

from dataclasses import dataclass

from snatsim.config import Scenario
from snatsim.config_limits import show_count
from snatsim.distributions import as_distribution
from snatsim.kernel.client_port import default_port_range
from snatsim.kernel.eras import NatEra
from snatsim.kernel.window import parse_port_range, port_window


@dataclass(frozen=True)
class WindowLoad:
    """One workload's expected ports held towards one destination on one NAT IP."""

    workload: str  # "workload.<index>"
    nat_ip: str
    destination: str  # "ip:port"
    rate_per_s: float
    hold_s: float
    hold_what: str  # e.g. "120 s TIME_WAIT"
    window: int
    protocol: str = "tcp"

    @property
    def ports(self) -> float:
        """Mean ports held: rate × hold time."""
        return self.rate_per_s * self.hold_s


def window_loads(scenario: Scenario) -> list[WindowLoad]:
    """Per workload, NAT IP and destination: the expected ports held (SNATed workloads whose
    long-run rate is known; a closed-loop workload's rate depends on latency and is skipped).
    Several NAT IPs share a destination's connections evenly (the hash of spec §4.3, on average).
    """
    nat = scenario.nat
    ips = nat.to_source if nat.target == "snat" and nat.to_source else (scenario.node.ip,)
    to_ports = parse_port_range(nat.to_ports) if nat.to_ports else None
    ct = scenario.conntrack
    ephemeral_lo = default_port_range(scenario.kernel.profile().client_era)[0]  # pods' ports
    loads: list[WindowLoad] = []
    for index, wl in enumerate(scenario.workload):
        rate = wl.mean_rate_per_s()
        if not wl.snat or rate is None:
            continue
        if wl.protocol == "tcp":
            open_s = as_distribution(wl.hold_s).mean * wl.requests_per_connection
            if wl.close == "fin":
                tail_s, what = ct.tcp_timeout_time_wait_s, "TIME_WAIT"
            else:
                tail_s, what = ct.tcp_timeout_close_s, "CLOSE"
        else:
            open_s, tail_s, what = 0.0, ct.udp_timeout_stream_s, "UDP stream timeout"
        pod_port = wl.source_port if isinstance(wl.source_port, int) else ephemeral_lo
        window = port_window(pod_port, to_ports)[1]
        total_weight = sum(d.weight for d in wl.destinations)
        for dst in wl.destinations:
            share = rate * dst.weight / total_weight / len(ips)
            for ip in ips:
                loads.append(WindowLoad(f"workload.{index}", ip, dst.address, share,
                                        open_s + tail_s, f"{tail_s:g} s {what}", window,
                                        wl.protocol))
    return loads


def _what_happens(era: NatEra, window: int, tcp: bool) -> str:
    """What an exhausted window does to new flows in ``era`` (spec §4.4, §5.3, §6.2)."""
    lost = "SYNs drop at confirm" if tcp else "packets clash at confirm"
    if era == NatEra.A1:
        return (f"every search walks all {window:,} ports (found +{window - 1:,}; simulated "
                f"without the walk) and hands out a busy port: {lost}")
    if era >= NatEra.A3 and tcp:
        return f"searches evict TIME_WAIT entries (6.5+) or give up after 248 probes: {lost}"
    return f"searches give up after 248 probes: {lost}"


def window_warnings(scenario: Scenario) -> list[str]:
    """Human-readable warnings for every (NAT IP, destination) whose expected ports held reach
    the window size, saying what the run's NAT era will do; empty when none does."""
    era = scenario.kernel.profile().nat_era
    by_key: dict[tuple[str, str], list[WindowLoad]] = {}
    for load in window_loads(scenario):
        by_key.setdefault((load.nat_ip, load.destination), []).append(load)
    warnings = []
    for (nat_ip, dst), loads in by_key.items():
        need = sum(load.ports for load in loads)
        window = min(load.window for load in loads)
        if need < window:
            continue
        who = " + ".join(load.workload for load in loads)
        parts = " + ".join(
            f"{load.rate_per_s:g}/s × {load.hold_s:g} s ({load.hold_what})" for load in loads
        )
        tcp = all(load.protocol == "tcp" for load in loads)
        warnings.append(
            f"{who} to {dst} needs ~{show_count(need)} ports ({parts}) but the window holds {window:,} "
            f"on {nat_ip}: expect exhaustion: {_what_happens(era, window, tcp)}; "
            f"lower the rate, add NAT IPs or shorten the hold (e.g. close = \"rst\")"
        )
    return warnings
