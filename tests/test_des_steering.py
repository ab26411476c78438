"""Which CPU runs a flow's NAT + confirm (``node.steering``), read from the trace's nat records."""

from __future__ import annotations

from collections import Counter

import pytest
from des_scripts import DST, run, scenario
from scipy import stats

ALPHA = 1e-4
CPUS = 4


def first_nat_cpus(steering: str, pods: int) -> list[tuple[int, int]]:
    """(pod, cpu) of each flow's first NAT, for a one-workload Poisson run."""
    w = {"name": "p", "pods": pods, "arrival": "poisson", "rate_per_s": 200.0,
         "destinations": [DST], "hold_s": 0.05, "close": "rst"}
    _, records = run(scenario(w, cpus=CPUS, duration_s=8.0, seed=5, node={"steering": steering}))
    seen: dict[int, tuple[int, int]] = {}
    for r in records:
        if r["step"] == "nat":
            seen.setdefault(r["flow"], (r["pod"], r["cpu"]))
    return list(seen.values())


@pytest.mark.parametrize("steering", ["flow-hash", "random"])
def test_flows_of_one_pod_spread_uniformly_over_the_cpus(steering: str) -> None:
    cpus = Counter(cpu for _, cpu in first_nat_cpus(steering, pods=1))
    observed = [cpus.get(c, 0) for c in range(CPUS)]
    assert sum(observed) > 1000
    assert stats.chisquare(observed).pvalue > ALPHA


def test_client_steering_runs_each_flow_on_its_clients_cpu() -> None:
    pairs = first_nat_cpus("client", pods=6)
    assert {cpu for _, cpu in pairs} == set(range(CPUS))
    assert all(cpu == pod % CPUS for pod, cpu in pairs)
