"""snatsim.estimate: determinism, chunk invariance, refusals, the summary's keys (issue #9)."""

from __future__ import annotations

import numpy as np
import pytest

import snatsim
from snatsim.errors import ConfigError
from snatsim.mc import blocks, engine
from snatsim.mc.steady import plan

DEFAULT = "configs/default.toml"


def _scenario(*overrides: str) -> snatsim.Scenario:
    return snatsim.load_scenario(DEFAULT, list(overrides))


def test_same_seed_same_estimate_and_another_seed_differs() -> None:
    a = snatsim.estimate(_scenario(), rng=3, trials=20_000).summary()
    b = snatsim.estimate(_scenario(), rng=3, trials=20_000).summary()
    c = snatsim.estimate(_scenario(), rng=4, trials=20_000).summary()
    assert a == b
    assert a["conntrack"]["found"] != c["conntrack"]["found"]


@pytest.mark.parametrize("chunk", [engine.BLOCK_TRIALS, 3 * engine.BLOCK_TRIALS, 1 << 20])
def test_tallies_do_not_depend_on_the_chunk_size(chunk: int) -> None:
    steady = plan(_scenario())
    root = np.random.SeedSequence(11)
    ref = engine.run(steady, root, 5 * engine.BLOCK_TRIALS, chunk_trials=engine.BLOCK_TRIALS)
    got = engine.run(steady, root, 5 * engine.BLOCK_TRIALS, chunk_trials=chunk)
    assert all(np.array_equal(x, y) for x, y in zip(ref.sums, got.sums, strict=True))


def test_summary_has_the_simulation_keys_plus_method_trials_allocations() -> None:
    des = snatsim.simulate(_scenario("simulation.duration_s=2", "simulation.warmup_s=0",
                                     "workload.0.rate_per_s=20"), rng=1).summary()
    mc = snatsim.estimate(_scenario(), rng=1, trials=8_192).summary()
    assert set(des) <= set(mc)
    for key in ("conntrack", "connections", "syn", "delayed_fraction", "drops", "ports"):
        assert set(des[key]) == set(mc[key]), key
    asked = 8_192  # MIN_BLOCKS (8) blocks of 1,024
    assert mc["method"] == "mc" and mc["trials"] == asked and mc["allocations"] >= asked
    assert mc["provenance"]["seed"] == 1
    assert mc["provenance"]["config"] == _scenario().to_dict()
    assert set(mc["provenance"]["versions"]) == set(des["provenance"]["versions"])


def test_expected_counts_follow_the_rate_and_the_measured_window() -> None:
    s = snatsim.estimate(_scenario(), rng=1, trials=8_192).summary()
    assert s["connections"]["attempted"] == pytest.approx(300.0 * 480.0)
    assert s["syn"]["sent"] == pytest.approx(s["connections"]["attempted"] + s["syn"]["dropped"],
                                             rel=1e-9)
    assert s["conntrack"]["drop"] == s["conntrack"]["insert_failed"] == s["syn"]["dropped"]


def test_one_cpu_gives_no_race() -> None:
    s = snatsim.estimate(_scenario("node.cpus=1"), rng=2, trials=16_384).summary()
    assert s["insert_failed_causes"]["race"] == 0.0
    assert s["delayed_fraction"]["ge_1s"] == 0.0


def test_more_cpus_and_a_longer_window_race_more() -> None:
    base = ["nat.random_fully=true", "nat.to_ports=\"20000-20999\"", "node.nat_to_confirm_us=1000",
            "workload.0.rate_per_s=50", "workload.0.close=\"rst\""]
    two = snatsim.estimate(_scenario(*base, "node.cpus=2"), rng=5, trials=40_000).summary()
    eight = snatsim.estimate(_scenario(*base, "node.cpus=8"), rng=5, trials=40_000).summary()
    lo8 = eight["ci95"]["race_drops_per_connect"][0]
    hi2 = two["ci95"]["race_drops_per_connect"][1]
    assert lo8 > hi2 > 0


@pytest.mark.parametrize(("override", "field"), [
    ("workload.0.source_port=40000", "workload.0.source_port"),
    # a window or table that fills up, with too many connects to step through (mc.exhaustion)
    ("workload.0.rate_per_s=500", "simulation.duration_s"),  # 60,000 ports held of 64,512
    ("conntrack.max=30000", "simulation.duration_s"),
])
def test_what_the_engine_cannot_represent_is_refused_by_field(override: str, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        snatsim.estimate(_scenario(override), trials=4096)
    assert err.value.field == field


def test_aligned_tickers_to_several_destinations_split_per_connection() -> None:
    sc = snatsim.load_scenario("configs/legacy-rover.toml", [
        'workload.0.destinations=["203.0.113.20:443", "203.0.113.30:443"]'])
    steady = plan(sc)
    (cluster,) = steady.clusters
    labels = [steady.destinations[k].label for k in cluster.dests]
    assert labels == ["tcp 192.0.2.10 -> 203.0.113.20:443", "tcp 192.0.2.10 -> 203.0.113.30:443"]
    assert cluster.options == (cluster.dests, (0.5, 0.5))
    one = plan(snatsim.load_scenario("configs/legacy-rover.toml")).clusters[0]
    assert one.dests == () and one.options == ((one.dest,), (1.0,))


def _burst(interval_s: float) -> snatsim.Scenario:
    raw = _scenario().to_dict()
    wl = {k: v for k, v in raw["workload"][0].items() if k != "rate_per_s"}
    raw["workload"] = [wl | {"arrival": "burst", "burst_size": 10, "burst_interval_s": interval_s}]
    return snatsim.Scenario.from_dict(raw)


@pytest.mark.parametrize(("interval_s", "field"), [
    (0.5, "workload.0.burst_interval_s"),  # the 1 s retransmit lands on the third burst
    (0.45, "workload.0.burst_interval_s"),  # the 63 s one on the 141st
])
def test_ticks_whose_retransmits_land_on_a_later_tick_are_refused(interval_s: float,
                                                                  field: str) -> None:
    with pytest.raises(ConfigError) as err:
        snatsim.estimate(_burst(interval_s), trials=4096)
    assert err.value.field == field


def test_bursts_take_their_clients_in_turn() -> None:
    steady = plan(_burst(0.43))
    (cluster,) = steady.clusters
    # 60 clients on 4 CPUs, bursts of 10: six phases before the pattern repeats
    assert len(cluster.cpus) == 6 and cluster.tickers == 10
    assert cluster.cpus[1] == tuple((10 + j) % 4 for j in range(10))
    assert cluster.jitter_s.mean == 0.0 and cluster.period_s == 0.43


def test_cluster_tallies_do_not_depend_on_the_chunk_size() -> None:
    steady = plan(snatsim.load_scenario("configs/legacy-rover.toml"))
    root = np.random.SeedSequence(5)
    ref = engine.run(steady, root, 250_000, chunk_trials=1)
    got = engine.run(steady, root, 250_000, chunk_trials=1 << 30)
    assert len(got.clusters) == 1 and len(got.clusters[0]) >= 2
    for x, y in zip((*ref.sums, *ref.clusters), (*got.sums, *got.clusters), strict=True):
        assert np.array_equal(x, y)


def test_rel_error_sampling_extends_with_the_next_blocks() -> None:
    steady = plan(snatsim.load_scenario("configs/legacy-rover.toml"))
    root = np.random.SeedSequence(5)
    half = engine.run(steady, root, 60_000)
    both = engine.run(steady, root, 60_000, after=half)
    total = sum(d.rate_per_s for d in steady.destinations) + sum(
        c.tickers / c.period_s for c in steady.clusters)
    for k, (x, y) in enumerate(zip(half.sums, both.sums, strict=True)):
        assert np.array_equal(y[:len(x)], x) and len(y) > len(x)
        n = engine.block_trials(60_000 * steady.destinations[k].rate_per_s / total)
        nxt = engine.DestinationSampler(steady, k).block(
            np.random.default_rng(blocks.block_seed(root, k, len(x))), n,
            blocks.block_phase(root, k, len(x)))
        assert np.array_equal(y[len(x)], nxt)
    assert both.trials > half.trials and both.allocations > half.allocations


def test_a_later_call_never_samples_smaller_blocks_than_the_stream_has() -> None:
    """rel_error's next round of a quarter of the trials goes on in the first round's block size
    (eight blocks of a quarter of the size would cost eight blocks' fixed work); a longer one
    samples larger blocks, as a first call of its size would."""
    steady = plan(snatsim.load_scenario("configs/legacy-rover.toml"))
    root = np.random.SeedSequence(5)
    first = engine.run(steady, root, 32_768)
    sizes = [int(s[0, 0]) for s in (*first.sums, *first.clusters)]
    small = engine.run(steady, root, 8_192, after=first)
    for before, after, size in zip((*first.sums, *first.clusters),
                                   (*small.sums, *small.clusters), sizes, strict=True):
        assert (after[len(before):, 0] == size).all() and len(after) > len(before)
    large = engine.run(steady, root, 1 << 20, after=first)
    assert all(int(s[-1, 0]) > size for s, size in zip(large.sums, sizes, strict=False))


def test_rel_error_sampling_grows_by_what_the_interval_asks_for() -> None:
    """(half-width / wanted)^2 x 1.2, within [1.25, 16]; twice the trials while nothing is
    delayed."""
    result = snatsim.estimate(_scenario("node.cpus=4"), rng=1, trials=1 << 14)
    est = result.summary()["delayed_fraction"]["ge_1s"]
    lo, hi = result.ci95()["delayed_fraction_ge_1s"]
    rel = (hi - lo) / 2 / est
    for target, growth in ((rel / 2, 1.2 * 4), (rel, 1.25), (rel / 10, 16.0)):
        result.rel_error_target = target
        assert result.growth_wanted() == pytest.approx(growth)
    nothing = snatsim.estimate(_scenario("node.cpus=1"), rng=1, trials=1 << 14)
    nothing.rel_error_target = 0.1
    assert nothing.growth_wanted() == 2.0


def test_later_rel_error_rounds_sample_the_streams_the_variance_is_in() -> None:
    """legacy-rover's >= 1 s fraction is nearly all the aligned tickers' (the two Poisson
    destinations' race terms are integrated, ~2e-6 a flow): after the first round only the
    tickers' stream grows, and the variance the next round aims at is what the interval asked
    for (Neyman's allocation: sum of v_s n_s / n'_s = V / growth)."""
    from snatsim.estimates import _next_round, _stream_variance

    scenario = snatsim.load_scenario("configs/legacy-rover.toml")
    result = snatsim.estimate(scenario, rng=7, rel_error=0.1)
    first = snatsim.estimate(scenario, rng=7, trials=1 << 15)
    assert [len(s) for s in result.tallies.sums] == [len(s) for s in first.tallies.sums]
    assert len(result.tallies.clusters[0]) > len(first.tallies.clusters[0])
    assert result.summary()["rel_error"]["stopped_by"] == "target"
    steady, tallies = first.steady, first.tallies
    var = np.array([_stream_variance(steady, tallies, i) for i in range(3)])
    n = np.array([*(s[:, 0].sum() for s in tallies.sums), tallies.clusters[0][:, 1].sum()])
    more, split = _next_round(steady, tallies, 3.0)
    assert split is not None and split[0] == split[1] == 0.0 and split[2] == 1.0
    grown = n + more * np.array(split)
    assert (var * n / grown).sum() == pytest.approx(var.sum() / 3.0, rel=1e-3)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"trials": 0}, "trials"), ({"trials": 2.5}, "trials"), ({"rel_error": 2}, "rel_error"),
    ({"rel_error": 0}, "rel_error"),
])
def test_bad_trials_or_rel_error(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        snatsim.estimate(_scenario(), **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_rel_error_stops_at_the_target_or_says_the_cap_was_hit() -> None:
    racy = _scenario("nat.random_fully=true", "nat.to_ports=\"20000-20999\"", "node.cpus=8",
                     "node.nat_to_confirm_us=1000", "workload.0.rate_per_s=50",
                     "workload.0.close=\"rst\"")
    hit = snatsim.estimate(racy, rng=1, rel_error=0.5, trials=1 << 21).summary()
    assert hit["rel_error"] == {"target": 0.5, "reached": True, "stopped_by": "target"}
    lo, hi = hit["delayed_fraction_ci95"]["ge_1s"]
    assert (hi - lo) / 2 <= 0.5 * hit["delayed_fraction"]["ge_1s"]
    capped = snatsim.estimate(_scenario("node.cpus=1"), rng=1, rel_error=0.1,
                              trials=engine.MIN_BLOCKS * engine.SMALLEST_BLOCK_TRIALS // 2
                              ).summary()
    assert capped["rel_error"]["stopped_by"] == "trials cap"
    # the floor beats the cap: MIN_BLOCKS blocks, of the smallest size for so few trials
    assert capped["trials"] == engine.MIN_BLOCKS * engine.SMALLEST_BLOCK_TRIALS


def test_occupancy_fills_for_runs_shorter_than_the_entries_life() -> None:
    d = plan(_scenario()).destinations[0]
    life_s = d.flows[0].live_s + d.flows[0].closing_s
    assert d.held(10.0) == pytest.approx(300.0 * 10.0)
    assert d.held(1_000.0) == pytest.approx(300.0 * life_s)
    assert d.closing_share(0.0) == 0.0


def test_an_app_timeout_below_one_second_ends_every_connect_that_lost_its_first_syn() -> None:
    base = snatsim.load_scenario("configs/legacy-rover.toml", [
        'nat.to_ports="1024-32767"', "workload.1.rate_per_s=0.001"])
    timed = snatsim.load_scenario("configs/legacy-rover.toml", [
        'nat.to_ports="1024-32767"', "workload.1.rate_per_s=0.001",
        "workload.0.connect_timeout_s=0.5"])
    a = snatsim.estimate(base, rng=2, trials=100_000).summary()
    b = snatsim.estimate(timed, rng=2, trials=100_000).summary()
    lost_first = a["delayed_fraction"]["ge_1s"] * a["connections"]["attempted"]
    assert lost_first > 100
    assert b["connections"]["app_timeouts"] == pytest.approx(lost_first, rel=1e-9)
    assert b["connections"]["established"] + b["connections"]["app_timeouts"] == pytest.approx(
        b["connections"]["attempted"], rel=1e-9)
    assert b["syn"]["sent"] == pytest.approx(b["connections"]["attempted"], rel=1e-9)


def test_progress_reports_flows_done_up_to_the_total() -> None:
    seen: list[tuple[int, int]] = []
    r = snatsim.estimate(_scenario(), rng=1, trials=10 * engine.BLOCK_TRIALS,
                         progress=lambda done, planned: seen.append((done, planned)))
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == r.tallies.trials
    assert {p for _, p in seen} == {10 * engine.BLOCK_TRIALS}


def test_a_fixed_source_port_is_refused_saying_why() -> None:
    """docs/model.md 'Monte Carlo': one 4-tuple per pod is a model of its own, not sampled."""
    with pytest.raises(ConfigError) as err:
        snatsim.estimate(_scenario("workload.0.source_port=40000"), trials=4096)
    message = str(err.value)
    assert "EADDRINUSE" in message and "TIME_WAIT" in message and "snatsim run" in message


def test_blocks_grow_with_the_trials_asked_and_keep_many_blocks() -> None:
    assert engine.block_trials(0) == engine.SMALLEST_BLOCK_TRIALS
    assert engine.block_trials(engine.MIN_BLOCKS * engine.BLOCK_TRIALS) == engine.BLOCK_TRIALS
    assert engine.block_trials(engine.MIN_BLOCKS * engine.BLOCK_TRIALS // 2) \
        == engine.BLOCK_TRIALS // 2  # 16 blocks of half the size hold what is asked
    assert engine.block_trials(engine.MIN_BLOCKS * engine.BLOCK_TRIALS // 2 + 1) \
        == engine.BLOCK_TRIALS
    assert engine.block_trials(engine.TARGET_BLOCKS * 2 * engine.BLOCK_TRIALS) \
        == 2 * engine.BLOCK_TRIALS
    assert engine.block_trials(engine.TARGET_BLOCKS * 2 * engine.BLOCK_TRIALS - 1) \
        == engine.BLOCK_TRIALS
    assert engine.block_trials(1e12) == engine.MAX_BLOCK_TRIALS
    t = engine.run(plan(_scenario()), np.random.SeedSequence(2), 1 << 21)
    assert set(t.sums[0][:, 0]) == {engine.block_trials(1 << 21)} and len(t.sums[0]) >= 64


@pytest.mark.parametrize("version", ["6.1", "6.18"])  # A2, and A4 with no evictable port
def test_the_search_table_never_changes_a_tally(version: str, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    """A block read from the free-distance table equals the same block searched. A 300-port
    busy run sends some first rounds past 96 probes, into A3+'s eviction zone, whose probes the
    used-check never counts in found (spec §5.3, §16.3) even when nothing there is evictable."""
    steady = plan(_scenario(f"kernel.version={version}", "nat.random=true"))  # every SYN searches
    run = np.zeros((1, steady.destinations[0].size), dtype=bool)
    run[0, 1000:1300] = True

    def crafted(self: engine.DestinationSampler, rng: np.random.Generator,
                phase: float | None = None, row: np.ndarray | None = None
                ) -> tuple[float, np.ndarray]:
        rng.uniform()
        if row is None:
            return 0.01, run  # before the first entry closes: nothing is evictable
        row[:] = run[0]  # the stacked blocks' rows are drawn in place
        return 0.01, row[None, :]

    monkeypatch.setattr(engine.DestinationSampler, "_occupancy", crafted)
    sampler = engine.DestinationSampler(steady, 0)
    tabled = sampler.block(np.random.default_rng(1), 1 << 16)
    monkeypatch.setattr(engine, "TABLE_TRIALS", 1 << 30)
    searched = sampler.block(np.random.default_rng(1), 1 << 16)
    assert np.array_equal(tabled, searched)
    assert tabled[engine.TALLY.index("found")] > 0


@pytest.mark.parametrize("overrides", [
    ["kernel.version=4.14", "node.cpus=4"],  # A1 rover: shared starts
    ["node.cpus=4"],  # A2: each block's own slot law
    ["kernel.version=6.18", "node.cpus=4"],  # A4: evictable ports, searched with them
])
def test_stacked_destination_blocks_equal_each_block_alone(overrides: list[str]) -> None:
    steady = plan(_scenario(*overrides))
    sampler = engine.DestinationSampler(steady, 0)
    seeds = [blocks.block_seed(np.random.SeedSequence(9), 0, b) for b in range(5)]
    stacked = sampler.blocks([np.random.default_rng(s) for s in seeds], 1024)
    alone = np.vstack([sampler.block(np.random.default_rng(s), 1024) for s in seeds])
    assert np.array_equal(stacked, alone)
    assert stacked[:, engine.TALLY.index("race")].min() > 0
