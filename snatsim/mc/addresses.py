"""Several NAT addresses: which address each pod's flows get, per destination (spec §4.3).

With ``nat.target = "snat"`` and several ``to_source`` addresses, the kernel picks the address of
a new flow with an unkeyed Jenkins hash of the pod's address seeded by the destination address
(by 0 with ``--persistent``; :meth:`snatsim.kernel.nat.SnatAllocator.pick_ip`). The pods'
addresses are fixed (:func:`snatsim.rundata.pod_ip`), so the split is exact: every (pod,
destination) pair maps to one address, and each address has its own port window towards the
destination (spec §5.1: "used" is per reply tuple). A workload's flows to a destination divide
over the addresses by their pods (arrivals pick clients uniformly, every pod has the same number
of clients), and over the CPUs by the clients of those pods (``client`` steering, spec §16.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from snatsim.config import Scenario
from snatsim.kernel.nat import NatRange, SnatAllocator
from snatsim.kernel.tuples import ConnTuple, Proto
from snatsim.rundata import pod_ip


@dataclass(frozen=True)
class AddressGroup:
    """The pods of one workload whose flows to one destination leave with NAT address ``ip``:
    their share of the workload's flows there, the CPUs those flows are processed on, and their
    number."""

    ip: str
    share: float
    cpu_share: NDArray[np.float64]
    pods: int


def address_groups(scenario: Scenario, index: int, dst_ip: str) -> tuple[AddressGroup, ...]:
    """Workload ``index``'s flows to ``dst_ip`` grouped by NAT address (spec §4.3), in the order
    in which the pods first map to them; one group of every pod for MASQUERADE, a single address or
    ``snat = false`` (address ``"no-snat"``)."""
    nat, cpus = scenario.nat, scenario.node.cpus
    wl = scenario.workload[index]
    first_pod = sum(w.pods for w in scenario.workload[:index])
    first_client = sum(w.clients for w in scenario.workload[:index])
    if not wl.snat:
        ips = ["no-snat"] * wl.pods
    elif nat.target == "masquerade":
        ips = [scenario.node.ip] * wl.pods
    else:
        allocator = SnatAllocator(scenario.kernel.profile().nat_era,
                                  NatRange(ips=tuple(nat.to_source), persistent=nat.persistent),
                                  secret=b"")
        ips = [allocator.pick_ip(ConnTuple(int(Proto.TCP), pod_ip(first_pod + j), 0, dst_ip, 0))
               for j in range(wl.pods)]
    out = []
    for ip in dict.fromkeys(ips):
        pods = [j for j, x in enumerate(ips) if x == ip]
        if scenario.node.steering == "client":  # client i of the node runs on CPU i mod cpus
            clients = np.array([first_client + j * wl.clients_per_pod + c for j in pods
                                for c in range(wl.clients_per_pod)])
            cpu_share = np.bincount(clients % cpus, minlength=cpus) / clients.size
        else:  # flow-hash and per-packet random: uniform over the CPUs
            cpu_share = np.full(cpus, 1.0 / cpus)
        out.append(AddressGroup(ip, len(pods) / wl.pods, cpu_share, len(pods)))
    return tuple(out)
