"""snatsim.estimate keeps the pod port as often as the SimPy model (issue #9; spec §4.2 step 3,
§8; docs/model.md "Monte Carlo", the pod port row).

The share of connections whose NAT port equals the pod port (``ports.preserved_fraction``) on
``configs/default.toml``-like runs: 30 pods × 2 clients, Poisson, FIN close (120 s TIME_WAIT).
Tolerance as in ``test_mc_des_agreement.py``: 4 combined standard errors or 15 % of the DES
figure, whichever is larger; the DES standard error from 12 batches of connections in start
order (the held share moves over a run: one life after the empty start it dips), the Monte
Carlo one neglected (2^19 trials: under 0.3 % of the figure).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import snatsim

RACE = ["kernel.version=4.14",
        'node.nat_to_confirm_us={distribution="lognormal",mean=100,sigma=0.5}',
        "simulation.duration_s=350", "simulation.warmup_s=150"]
CASES = {
    # as shipped: 6.1 (A2, P3), 300/s, measured 120-600 s (DES 0.219; the fixed point that
    # scattered searched entries over the window kept 0.148)
    "default": [],
    # tests/test_capacity_acceptance.py's RACE at 293/s, measured 150-350 s (DES 0.26; the
    # fixed point: 0.153)
    "race-293": [*RACE, "workload.0.rate_per_s=293"],
    # three pods: a third of the kept entries are the pod's own and never in its way (DES 0.38)
    "race-293-3-pods": [*RACE, "workload.0.rate_per_s=293", "workload.0.pods=3"],
    # one pod: every port kept in both engines
    "one-pod": [*RACE, "workload.0.rate_per_s=100", "workload.0.pods=1"],
}


def _des_kept(scenario: snatsim.Scenario) -> tuple[float, float]:
    """The DES's preserved share of measured connections and its batch-means standard error."""
    df = snatsim.simulate(scenario, rng=3, rows="all").to_frame()
    kept = df.preserved.to_numpy(dtype=float)
    order = np.argsort(df.start_s.to_numpy(), kind="stable")
    batches = np.array_split(order, 12)
    se = float(np.std([kept[b].mean() for b in batches], ddof=1)) / math.sqrt(len(batches))
    return float(kept.mean()), se


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_estimate_keeps_pod_ports_as_the_des_does(case: str) -> None:
    scenario = snatsim.load_scenario("configs/default.toml", CASES[case])
    p, se = _des_kept(scenario)
    q = snatsim.estimate(scenario, rng=3, trials=1 << 19).summary()["ports"]["preserved_fraction"]
    assert abs(p - q) <= max(4 * se, 0.15 * p), (p, se, q)
    if case == "one-pod":
        assert p == 1.0 and q == 1.0
