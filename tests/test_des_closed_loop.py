"""Closed-loop clients at the two ends of their cycle: where they start and how they back off.

``snatsim/des/workloads.py``: clients start at uniform phases over one mean cycle (requests × hold
+ think + RTT), so they are not phase-locked (STYLE.md, "Modelling"); a connect that fails in the
pod (EADDRINUSE / EADDRNOTAVAIL) is retried after ``max(think, LOCAL_ERROR_BACKOFF_S)``.
"""

from __future__ import annotations

import numpy as np
from des_scripts import DST, RTT_S, scenario
from scipy import stats

from snatsim.des.workloads import LOCAL_ERROR_BACKOFF_S
from snatsim.results import simulate

ALPHA = 1e-4  # about the two-sided tail of 4 SE


def test_clients_start_at_uniform_phases_over_one_mean_cycle() -> None:
    hold, think, requests, pods = 0.2, 0.5, 2, 300
    w = {"name": "loop", "pods": pods, "arrival": "closed-loop", "think_time_s": think,
         "hold_s": hold, "requests_per_connection": requests, "destinations": [DST]}
    f = simulate(scenario(w, cpus=1, duration_s=2.0, seed=4), rows="all").to_frame()
    first = f.groupby("pod")["start_s"].min().to_numpy()
    assert len(first) == pods
    cycle = requests * hold + think + RTT_S
    assert first.max() < cycle
    assert stats.kstest(first, "uniform", args=(0.0, cycle)).pvalue > ALPHA


def test_a_local_error_is_retried_after_the_backoff_not_the_shorter_think_time() -> None:
    """Two clients of one pod bind the same fixed port to one destination: whichever connects
    while the other holds it gets EADDRINUSE (a local_error row, no packet sent) and tries again
    LOCAL_ERROR_BACKOFF_S later, since the think time is shorter."""
    think = 0.03
    assert think < LOCAL_ERROR_BACKOFF_S
    w = {"name": "pair", "pods": 1, "clients_per_pod": 2, "arrival": "closed-loop",
         "think_time_s": think, "hold_s": 0.25, "close": "rst", "source_port": 40000,
         "destinations": [DST]}
    f = simulate(scenario(w, cpus=1, duration_s=10.0, seed=2), rows="all").to_frame()
    errors = f[f["outcome"] == "local_error"]
    assert len(errors) > 10
    assert (errors["end_s"] == errors["start_s"]).all() and (errors["syns"] == 0).all()
    starts = np.sort(f["start_s"].to_numpy())
    for t in errors["end_s"]:
        retry = t + LOCAL_ERROR_BACKOFF_S
        if retry < 10.0:
            assert np.isclose(starts, retry, rtol=0.0, atol=1e-9).sum() == 1, t
        assert not np.isclose(starts, t + think, rtol=0.0, atol=1e-9).any(), t
