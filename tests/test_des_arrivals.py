"""Arrival processes of the DES against their definitions (snatsim/des/workloads.py).

Counts are held to 4 standard errors of the exact mean, shares and phases to chi-square / KS tests
at ALPHA with fixed seeds, and deterministic schedules (tickers, bursts, fixed think times) exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from des_scripts import DST, scenario
from scipy import stats

from snatsim.results import simulate

ALPHA = 1e-4  # about the two-sided tail of 4 SE
T_S = 10.0


def frame(*workloads: dict[str, Any], duration_s: float = T_S, seed: int = 3) -> pd.DataFrame:
    """One row per connection of a run without warm-up, in connect() order."""
    s = scenario(*workloads, cpus=1, duration_s=duration_s, seed=seed)
    return simulate(s, rows="all").to_frame().sort_values("id").reset_index(drop=True)


def poisson(name: str, rate: float, pods: int, **fields: Any) -> dict[str, Any]:
    return {"name": name, "pods": pods, "arrival": "poisson", "rate_per_s": rate,
            "destinations": [DST], "hold_s": 0.05, "close": "rst", **fields}


def test_poisson_counts_per_workload_and_pod_are_within_4_se_of_rate_times_duration() -> None:
    f = frame(poisson("a", 150.0, 4), poisson("b", 40.0, 2))
    for name, rate, pods in (("a", 150.0, 4), ("b", 40.0, 2)):
        mine = f[f["workload"] == name]
        mean = rate * T_S
        assert abs(len(mine) - mean) <= 4 * np.sqrt(mean), name
        per_pod = mine["pod"].value_counts()
        assert len(per_pod) == pods
        for n in per_pod:  # each pod gets a Poisson(rate * T / pods) thinning
            assert abs(n - mean / pods) <= 4 * np.sqrt(mean / pods), name
        gaps = np.diff(np.sort(mine["start_s"].to_numpy()))
        assert stats.kstest(gaps, "expon", args=(0.0, 1.0 / rate)).pvalue > ALPHA


def test_destination_shares_follow_the_weights() -> None:
    weights = (1.0, 2.0, 5.0)
    dests = [{"address": f"203.0.113.{10 + i}:443", "weight": w} for i, w in enumerate(weights)]
    f = frame(poisson("w", 200.0, 2, destinations=dests))
    counts = f["destination"].value_counts()
    observed = [int(counts.get(d["address"], 0)) for d in dests]
    expected = np.array(weights) / sum(weights) * sum(observed)
    assert stats.chisquare(observed, expected).pvalue > ALPHA


def test_closed_loop_reconnects_exactly_think_time_after_each_close() -> None:
    hold, think, requests, pods = 0.2, 0.7, 2, 10
    w = {"name": "loop", "pods": pods, "arrival": "closed-loop", "think_time_s": think,
         "hold_s": hold, "requests_per_connection": requests, "destinations": [DST]}
    f = frame(w)
    per_pod = f.groupby("pod")
    for _, c in per_pod:
        start, end = c["start_s"].to_numpy(), c["end_s"].to_numpy()
        np.testing.assert_allclose(start[1:] - end[:-1], think, atol=1e-9)
        done = (c["outcome"] == "established") & c["end_s"].notna()
        np.testing.assert_allclose((c["end_s"] - c["start_s"])[done],
                                   (c["latency_s"] + requests * hold)[done], atol=1e-9)
    cycle = f["latency_s"].dropna().mean() + requests * hold + think
    assert abs(len(f) - pods * T_S / cycle) <= pods  # each client: floor or ceil of T / cycle


def test_closed_loop_mean_think_gap_is_within_4_se_of_the_think_mean() -> None:
    mean = 0.5
    w = {"name": "loop", "pods": 20, "arrival": "closed-loop", "hold_s": 0.1,
         "think_time_s": {"distribution": "exponential", "mean": mean}, "destinations": [DST]}
    f = frame(w, duration_s=20.0)
    gaps = np.concatenate([(c["start_s"].to_numpy()[1:] - c["end_s"].to_numpy()[:-1])
                           for _, c in f.groupby("pod")])
    assert abs(gaps.mean() - mean) <= 4 * mean / np.sqrt(len(gaps))  # exponential: sd = mean


def ticker(pods: int, period: float, **fields: Any) -> dict[str, Any]:
    return {"name": "tick", "pods": pods, "arrival": "periodic", "period_s": period,
            "destinations": [DST], "hold_s": 0.05, "close": "rst", **fields}


def test_periodic_ticks_are_one_period_apart_from_uniform_random_phases() -> None:
    f = frame(ticker(40, 1.0))
    phases = []
    for _, c in f.groupby("pod"):
        start = c["start_s"].to_numpy()
        np.testing.assert_allclose(np.diff(start), 1.0, atol=1e-9)
        assert len(start) == 10
        phases.append(start[0])
    assert stats.kstest(phases, "uniform", args=(0.0, 1.0)).pvalue > ALPHA


def test_aligned_jittered_ticks_stay_within_one_jitter_of_k_periods_without_drift() -> None:
    jitter = 0.3
    f = frame(ticker(40, 1.0, align_phase=True,
                     jitter_s={"distribution": "uniform", "low": 0.0, "high": jitter}))
    offsets = []
    for _, c in f.groupby("pod"):
        start = c["start_s"].to_numpy()
        assert len(start) == 10
        off = start - np.arange(len(start)) * 1.0
        assert ((off >= 0.0) & (off <= jitter)).all()  # per tick, never accumulated
        offsets.append(off)
    allo = np.concatenate(offsets)
    assert abs(allo.mean() - jitter / 2) <= 4 * jitter / np.sqrt(12 * len(allo))


def test_burst_opens_burst_size_connections_per_interval_from_clients_in_turn() -> None:
    size, interval, pods = 5, 0.5, 3
    w = {"name": "b", "pods": pods, "arrival": "burst", "burst_size": size,
         "burst_interval_s": interval, "destinations": [DST], "hold_s": 0.05, "close": "rst"}
    f = frame(w)
    sizes = f.groupby("start_s").size()
    assert (sizes == size).all() and len(sizes) == int(T_S / interval)
    instants = sizes.index.to_numpy()
    assert 0.0 <= instants[0] < interval
    np.testing.assert_allclose(np.diff(instants), interval, rtol=1e-9)
    assert f["pod"].tolist() == [i % pods for i in range(len(f))]


KINDS = {
    "poisson": poisson("k", 120.0, 3),
    "periodic": ticker(30, 0.5),
    "burst": {"name": "k", "pods": 4, "arrival": "burst", "burst_size": 6, "burst_interval_s": 0.4,
              "destinations": [DST], "hold_s": 0.05, "close": "rst"},
    "closed-loop": {"name": "k", "pods": 12, "arrival": "closed-loop", "think_time_s": 0.3,
                    "hold_s": 0.1, "destinations": [DST]},
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_mean_rate_per_s_matches_the_simulated_arrivals(kind: str) -> None:
    w = KINDS[kind]
    cfg = scenario(w).workload[0]
    f = frame(w)
    rate = cfg.mean_rate_per_s()
    if kind == "poisson":
        assert rate == 120.0
        tolerance = 4 * np.sqrt(rate * T_S)  # Poisson count: SE = sqrt(rate * T)
    elif kind == "closed-loop":
        assert rate is None  # depends on connect latency: computed from the run's latencies
        rate = cfg.clients / (f["latency_s"].dropna().mean() + 0.1 + 0.3)
        tolerance = cfg.clients  # fixed cycles: each client's count is floor or ceil of T / cycle
    else:  # each ticker / the burst train: the last partial cycle is the only slack
        assert rate is not None
        tolerance = cfg.clients if kind == "periodic" else KINDS[kind]["burst_size"]
    assert abs(len(f) - rate * T_S) <= tolerance
