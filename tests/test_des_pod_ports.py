"""The pod's own source ports in the DES (``des/setup.py`` ``Pod``, spec §8, §11).

A socket's port is free again once the socket is gone: after a failed or timed-out connect at once,
after a FIN close 60 s later (``test_des_counters``). A UDP lookup binds a random port that no open
lookup of its pod holds.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise

import numpy as np
from des_scripts import DST, once, scenario

from snatsim.des.setup import PRUNE_MIN
from snatsim.results import simulate

DNS = "198.51.100.53:53"


def test_a_fixed_port_is_free_again_after_the_app_gives_up() -> None:
    """A closed-loop client bound to port 40000 whose SYNs meet a full table (conntrack.max = 1,
    held by an ESTABLISHED connection): each connect times out after 0.3 s and the next one,
    0.1 s later, binds 40000 again (no EADDRINUSE from the socket that was given up on)."""
    loop = {"name": "loop", "pods": 1, "arrival": "closed-loop", "think_time_s": 0.1,
            "hold_s": 1.0, "source_port": 40000, "connect_timeout_s": 0.3,
            "destinations": [DST]}
    result = simulate(scenario(once("holder"), loop, cpus=1,
                               duration_s=4.0, conntrack={"max": 1}), rows="all")
    f = result.to_frame()
    mine = f[f["workload"] == "loop"]
    assert len(mine) >= 8
    assert set(mine["outcome"][:-1]) == {"app_timeout"}  # the last one is cut by the run's end
    assert (mine["pod_port"] == 40000).all()


def test_udp_lookups_of_a_pod_never_share_an_open_port_and_reuse_closed_ones() -> None:
    """One pod, 600 lookups/s answered after 1.5 s: ~900 open at a time out of 28,232 ports, so a
    fresh draw lands on a busy port ~3 % of the time (the pod must draw again), and ports of
    answered lookups come back: λ·λ(t − 1.5)/28,232 reuses per second at t, about
    λ²(T − 1.5)²/(2·28,232) ≈ 129 in all (held to 4 SE below; it ignores the busy ports)."""
    rate, hold, t_s, ports = 600.0, 1.5, 6.0, 60999 - 32768 + 1
    w = {"name": "dns", "pods": 1, "arrival": "poisson", "rate_per_s": rate, "protocol": "udp",
         "destinations": [DNS]}
    f = simulate(scenario(w, cpus=1, duration_s=t_s, network={"rtt_s": hold}),
                 rows="all").to_frame()
    assert len(f) > 3000 and set(f["outcome"]) == {"established", "in_flight"}
    spans: dict[int, list[tuple[float, float]]] = defaultdict(list)
    ends = f["end_s"].fillna(np.inf)  # in flight at the end of the run: still open
    for port, start, end in zip(f["pod_port"], f["start_s"], ends, strict=True):
        spans[int(port)].append((start, end))
    reused = 0
    for intervals in spans.values():
        intervals.sort()
        for (_, end), (start, _) in pairwise(intervals):
            assert start >= end  # the earlier lookup was answered before the port was bound again
            reused += 1
    expected = rate**2 * (t_s - hold) ** 2 / (2 * ports)
    assert reused >= expected - 4 * np.sqrt(expected)


def test_a_pod_keeps_connecting_after_giving_up_on_more_ports_than_it_keeps_unpruned() -> None:
    """20 closed-loop clients of one pod give up after 0.05 s on SYNs that meet a full table: over
    PRUNE_MIN given-up ports to one destination, all free again at once, so the pod's bookkeeping
    forgets them (``Pod.local_port``) and every connect still gets a port."""
    loop = {"name": "loop", "pods": 1, "clients_per_pod": 20, "arrival": "closed-loop",
            "think_time_s": 0.01, "hold_s": 1.0, "connect_timeout_s": 0.05,
            "destinations": [DST]}
    result = simulate(scenario(once("holder"), loop, cpus=1, duration_s=2.5,
                               conntrack={"max": 1}), rows="all")
    f = result.to_frame()
    mine = f[f["workload"] == "loop"]
    assert len(mine) > PRUNE_MIN
    assert set(mine["outcome"]) <= {"app_timeout", "in_flight"}
    assert (mine["outcome"] == "app_timeout").sum() > PRUNE_MIN
