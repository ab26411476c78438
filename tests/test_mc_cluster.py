"""snatsim.mc.cluster: the array code equals a scalar event-driven reference on the same draws."""

from __future__ import annotations

import heapq

import numpy as np
import pytest

import snatsim
from snatsim.mc.cluster import ClusterSampler, cpu_fifo, rover_losers, slot_losers
from snatsim.mc.steady import plan

CPUS = 4


def _draws(seed: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrive = rng.lognormal(np.log(2e-5) - 0.5, 1.0, (n, k))  # dense: queues and groups form
    delta = rng.lognormal(np.log(1e-6) - 0.125, 0.5, (n, k))
    cpu = np.broadcast_to(np.arange(k) % CPUS, (n, k))
    return arrive, delta, cpu


def _scalar_tick(arrive: np.ndarray, delta: np.ndarray, cpu: np.ndarray, slot: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """One tick as the DES runs it: FIFO CPUs, NAT then confirm; rover (slot None) or each
    flow's search result ``slot`` (a slot already confirmed at its NAT is seen busy: the search
    goes on to a port of its own). Returns NAT times and lost flags. A confirm precedes a NAT
    at the same instant."""
    k = arrive.size
    events = [(float(arrive[i]), 1, i) for i in range(k)]  # (time, 0 confirm / 1 arrival, flow)
    heapq.heapify(events)
    busy, queue = [False] * CPUS, [[] for _ in range(CPUS)]
    rover, confirmed, port = 0, set(), {}
    nat, lost = np.zeros(k), np.zeros(k, dtype=bool)

    def do_nat(i: int, t: float) -> None:
        nonlocal rover
        if slot is None:
            while rover in confirmed:  # the rover's port is taken: the next one
                rover += 1
            port[i] = rover
        else:
            port[i] = int(slot[i]) if int(slot[i]) not in confirmed else -1 - i
        nat[i] = t
        heapq.heappush(events, (t + float(delta[i]), 0, i))

    while events:
        t, kind, i = heapq.heappop(events)
        c = int(cpu[i])
        if kind == 1:
            if busy[c]:
                queue[c].append(i)
            else:
                busy[c] = True
                do_nat(i, t)
            continue
        if port[i] in confirmed:
            lost[i] = True
        else:
            confirmed.add(port[i])
        if queue[c]:
            do_nat(queue[c].pop(0), t)
        else:
            busy[c] = False
    return nat, lost


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rover_groups_equal_the_scalar_reference(seed: int) -> None:
    arrive, delta, cpu = _draws(seed, 60, 40)
    active = np.ones(arrive.shape, dtype=bool)
    nat, conf = cpu_fifo(arrive, delta, cpu, active, CPUS)
    lost = rover_losers(nat, conf, active)
    for r in range(arrive.shape[0]):
        ref_nat, ref_lost = _scalar_tick(arrive[r], delta[r], cpu[r], None)
        assert np.array_equal(nat[r], ref_nat)
        assert np.array_equal(lost[r], ref_lost)
    assert lost.any() and not lost.all()


@pytest.mark.parametrize("seed", [4, 5])
def test_slot_clashes_equal_the_scalar_reference(seed: int) -> None:
    arrive, delta, cpu = _draws(seed, 60, 40)
    slot = np.random.default_rng(seed).integers(0, 300, arrive.shape)  # repeats, no triples
    active = np.ones(arrive.shape, dtype=bool)
    nat, conf = cpu_fifo(arrive, delta, cpu, active, CPUS)
    lost = slot_losers(nat, conf, slot, active)
    for r in range(arrive.shape[0]):
        _, ref_lost = _scalar_tick(arrive[r], delta[r], cpu[r], slot[r])
        assert np.array_equal(lost[r], ref_lost)
    assert lost.any()


def test_inactive_flows_neither_lose_nor_block() -> None:
    arrive, delta, cpu = _draws(6, 30, 20)
    active = np.random.default_rng(6).random(arrive.shape) < 0.5
    nat, conf = cpu_fifo(arrive, delta, cpu, active, CPUS)
    assert np.isinf(nat[~active]).all() and np.isfinite(nat[active]).all()
    lost = rover_losers(nat, conf, active)
    assert not lost[~active].any()
    sub_nat, _ = cpu_fifo(np.where(active, arrive, 1e9), delta, cpu,
                                 np.ones(arrive.shape, dtype=bool), CPUS)
    assert np.array_equal(nat[active], sub_nat[active])


def test_one_cpu_never_races() -> None:
    arrive, delta, _ = _draws(7, 50, 40)
    cpu = np.zeros(arrive.shape, dtype=np.int64)
    active = np.ones(arrive.shape, dtype=bool)
    nat, conf = cpu_fifo(arrive, delta, cpu, active, 1)
    assert not rover_losers(nat, conf, active).any()
    assert not slot_losers(nat, conf, np.zeros(arrive.shape, dtype=np.int64), active).any()


@pytest.mark.parametrize(("overrides", "losers"), [
    ([], True),  # A1 rover, client steering: blocks end after different retransmit rounds
    (["node.steering=random"], True),  # CPUs redrawn every round
    (["node.steering=flow-hash", 'workload.0.destinations=["203.0.113.20:443", '
      '"203.0.113.30:443"]'], True),  # two occupancies, CPUs drawn in round 0
    (["kernel.version=6.1"], False),  # A2 searches on each block's own occupancy row
])
def test_stacked_blocks_equal_each_block_alone(overrides: list[str], losers: bool) -> None:
    """Blocks run stacked give each block's own row: no draw or result leaks between blocks,
    and a block that has no flow left stops drawing as it does alone."""
    sc = snatsim.load_scenario("configs/legacy-rover.toml", [
        "node.nat_to_confirm_us=5", *overrides])
    steady = plan(sc)
    sampler = ClusterSampler(steady, steady.clusters[0], steady.steering)
    root = np.random.SeedSequence(5)
    seeds = [np.random.SeedSequence(root.entropy, spawn_key=(b,)) for b in range(12)]
    stacked = sampler.blocks([np.random.default_rng(s) for s in seeds], 2)
    alone = np.vstack([sampler.block(np.random.default_rng(s), 2) for s in seeds])
    assert np.array_equal(stacked, alone)
    later = stacked[:, 6:].sum(axis=1)  # connections that lost two SYNs or more
    assert not losers or ((later == 0).any() and (later > 0).any())  # rounds differ


@pytest.mark.parametrize(("version", "random_fully", "tickers", "lost"), [
    ("5.4", True, 1, True),  # alone on its tick, every round: a search that gives up still loses
    ("5.4", True, 3, True),  # three to a tick, then fewer as they lose
    ("4.14", True, 1, True),  # A1 --random-fully: each flow's own search, as on A2+
    ("4.14", False, 1, False),  # the A1 rover drops on races only (its windows are far from full)
])
def test_a_search_that_gives_up_drops_the_syn_however_many_share_the_tick(
        version: str, random_fully: bool, tickers: int, lost: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every occupancy row full: each search gives up, so off the A1 rover every SYN of every
    connection is dropped, the lone retransmit of the last rounds included (rounds race only
    the ticks with two flows or more)."""
    scenario = snatsim.load_scenario("configs/legacy-rover.toml", [
        f"kernel.version={version}", f"nat.random_fully={str(random_fully).lower()}",
        f"workload.0.pods={tickers}", "workload.1.rate_per_s=0.001"])
    steady = plan(scenario)
    monkeypatch.setattr("snatsim.mc.cluster.busy_row",
                        lambda rng, size, count, out: np.logical_not(out, out=out)[None, :])
    sampler = ClusterSampler(steady, steady.clusters[0], steady.steering)
    row = sampler.blocks([np.random.default_rng(s) for s in range(3)], 4)
    sends = len(steady.schedule.send_times_s)
    all_lost = row[:, 4 + sends]  # connections that lost every SYN
    assert np.array_equal(all_lost == row[:, 1], np.full(3, lost))
