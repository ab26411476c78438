"""``snatsim explain``: the scripted stories, checked by their events (never by their wording).

Each story is a real DES run (spec §3.2, §4, §5.3, §6, §9, §16.1); the tests pin what the trace
shows for each kernel, mode and cause, that the narrator's view of the table follows the trace, and
that the CLI's ``--json`` carries the same events.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from des_scripts import RTT_S, WINDOW_S

from snatsim.explain import explain
from snatsim.explain.scenario import build
from snatsim.explain.story import Story


def of_kind(story: Story, kind: str, flow: int | None = None) -> list[dict[str, Any]]:
    """The story's events of one kind (of one flow)."""
    return [e for e in story.events if e["kind"] == kind and flow in (None, e["flow"])]


# ------------------------------------------------------------------ the race, era by era
def test_4_14_race_clashes_at_confirm_and_the_retransmit_one_second_later_gets_through() -> None:
    """A1 rover (spec §4.4): both searches start at the shared rover, take 20000 on CPUs 0 and 1;
    flow 2's confirm clashes with flow 1's entry (C1: insert_failed and drop move, §6.2) and its
    retransmit 1 s later (T1, §9) takes 20001, seeing 20000 confirmed."""
    story = explain("4.14", "default", "race")
    assert [(e["flow"], e["cpu"], e["port"], e["outcome"]) for e in of_kind(story, "nat")] == [
        (1, 0, 20000, "searched"), (2, 1, 20000, "searched"), (2, 1, 20001, "searched")]
    (clash,) = of_kind(story, "clash")
    assert (clash["flow"], clash["cpu"], clash["port"], clash["winner_flow"]) == (2, 1, 20000, 1)
    assert clash["time_s"] == pytest.approx(WINDOW_S)
    assert clash["moved"] == {"insert_failed": [0, 1], "drop": [0, 1]}
    assert clash["cause"] == "race" and clash["resolution"] == "drop"
    (retry,) = of_kind(story, "retransmit")
    assert retry["flow"] == 2 and retry["after_s"] == pytest.approx(1.0)
    first_nat, second_nat, retry_nat = of_kind(story, "nat")
    assert first_nat["sees"] == [] and first_nat["cannot_see"] == []
    assert second_nat["cannot_see"] == [{"port": 20000, "flow": 1, "cpu": 0}]
    assert retry_nat["sees"] == [{"port": 20000, "flow": 1, "state": "ESTABLISHED"}]
    assert retry_nat["moved"] == {"found": [0, 1]}  # its one busy probe (spec §7)
    latency = {c["flow"]: c["latency_s"] for c in story.connections}
    assert latency[1] == pytest.approx(RTT_S + WINDOW_S)
    assert latency[2] == pytest.approx(1.0 + RTT_S + WINDOW_S)
    assert story.counters == {"found": 1, "insert_failed": 1, "drop": 1, "clash_resolve": 0}
    assert story.why_not is None


def test_4_14_random_fully_removes_the_clash() -> None:
    """--random-fully (spec §4.4 A1): each search starts at its own random offset: two ports,
    two confirms, no clash and no retransmit; both connect in one round trip."""
    story = explain("4.14", "random-fully", "race")
    assert of_kind(story, "clash") == [] and of_kind(story, "retransmit") == []
    ports = [e["port"] for e in of_kind(story, "confirm")]
    assert len(ports) == len(set(ports)) == 2
    assert all(c["latency_s"] == pytest.approx(RTT_S + WINDOW_S) for c in story.connections)
    assert story.counters["insert_failed"] == story.counters["drop"] == 0


def test_4_14_random_starts_both_searches_at_the_same_hash_and_still_clashes() -> None:
    """A1 --random: the start is a keyed hash of (NAT IP, destination), equal for both flows
    (spec §2.1), so the race stays."""
    story = explain("4.14", "random", "race")
    first, second = of_kind(story, "nat")[:2]
    assert first["port"] == second["port"] != 20000
    assert len(of_kind(story, "clash")) == 1


@pytest.mark.parametrize("kernel", ["5.4", "6.18"])
def test_random_offsets_from_5_0_end_the_rover_race(kernel: str) -> None:
    """A2+ (spec §2.1): a random start for every search, so the same script does not clash."""
    story = explain(kernel, "default", "race")
    assert of_kind(story, "clash") == []
    assert {e["rounds"] for e in of_kind(story, "nat")} == {1}


@pytest.mark.parametrize("kernel", ["4.14", "5.4", "6.18"])
def test_preservation_race_exists_in_every_era_and_random_fully_removes_it(kernel: str) -> None:
    """Spec §13.2, §16.1: two pods keep port 40000 on two CPUs and clash on every kernel;
    --random-fully never keeps the pod's port and the clash goes."""
    story = explain(kernel, "default", "preservation")
    assert [e["outcome"] for e in of_kind(story, "nat")][:2] == ["port-kept", "port-kept"]
    assert [(e["flow"], e["port"]) for e in of_kind(story, "clash")] == [(2, 40000)]
    assert story.why_not is None
    mitigated = explain(kernel, "random-fully", "preservation")
    assert mitigated.why_not is not None and "§4.2" in mitigated.why_not
    assert of_kind(mitigated, "clash") == []
    assert {e["outcome"] for e in of_kind(mitigated, "nat")} == {"searched"}


def test_c0_clash_moves_only_insert_failed() -> None:
    """3.10 (C0, spec §2.2): a clash drops the SYN but only insert_failed counts it."""
    (clash,) = of_kind(explain("3.10", "default", "preservation"), "clash")
    assert clash["moved"] == {"insert_failed": [0, 1]}


# ------------------------------------------------------------------ eviction and exhaustion
def test_6_18_eviction_frees_a_time_wait_port_for_the_late_syn() -> None:
    """A4 (6.18, spec §5.3), seed 2: both ports are TIME_WAIT; the late SYN's sequence is ahead
    of flow 2's entry, which is evicted; the SYN takes its port and connects at once."""
    story = explain("6.18", "default", "eviction")
    assert story.why_not is None
    (nat,) = of_kind(story, "nat", flow=3)
    assert nat["evicted"] == [{"port": 20001, "flow": 2, "state": "TIME_WAIT"}]
    assert [(s["port"], s["state"]) for s in nat["sees"]] == [
        (20000, "TIME_WAIT"), (20001, "TIME_WAIT")]
    assert of_kind(story, "clash") == []
    assert story.connections[2]["latency_s"] == pytest.approx(RTT_S + WINDOW_S)


def test_6_18_eviction_refused_by_the_sequence_test_drops_and_retries_every_second() -> None:
    """Seed 1: the late SYN is behind both entries, every eviction is refused, the SYN and its
    retransmits (T2: +1 s, +1 s, spec §2.4) are dropped with cause "eviction" (spec §16.1, §16.2)."""
    story = explain("6.18", "default", "eviction", seed=1)
    assert [e["evict_refused"] for e in of_kind(story, "nat", flow=3)] == [2, 2, 2]
    assert {e["cause"] for e in of_kind(story, "clash")} == {"eviction"}
    assert [e["after_s"] for e in of_kind(story, "retransmit")] == pytest.approx([1.0, 1.0])


def test_5_4_cannot_evict_says_why_and_shows_exhaustion_instead() -> None:
    """A2 (5.4) has no eviction (spec §2.1, §5.3): the story says so, no NAT step evicts, and the
    closing entries hold their ports: the SYNs are dropped as exhaustion."""
    story = explain("5.4", "default", "eviction")
    assert story.why_not is not None and "A2" in story.why_not and "A3" in story.why_not
    assert story.to_dict()["possible"] is False
    assert all(e["evicted"] == [] for e in of_kind(story, "nat"))
    assert {e["cause"] for e in of_kind(story, "clash")} == {"exhaustion"}


@pytest.mark.parametrize(("kernel", "gaps_s"), [("4.14", [1.0, 2.0]), ("6.18", [1.0, 1.0])])
def test_exhaustion_retries_on_the_era_schedule_until_the_holders_close(
    kernel: str, gaps_s: list[float]
) -> None:
    """Two ESTABLISHED holders fill a 2-port window (never evictable, spec §5.3): the late SYN
    gives up on a busy port and is dropped as exhaustion until the holders' CLOSE entries expire;
    the gaps between SYNs follow the era's schedule (T1 doubles, T2 is linear, spec §9)."""
    story = explain(kernel, "default", "exhaustion")
    late = [e for e in of_kind(story, "nat", flow=3)]
    assert [e["outcome"] for e in late] == ["gave-up", "gave-up", "searched"]
    assert {e["cause"] for e in of_kind(story, "clash")} == {"exhaustion"}
    assert [e["after_s"] for e in of_kind(story, "retransmit")] == pytest.approx(gaps_s)
    closed = of_kind(story, "close")
    assert {e["port"] for e in closed} == {20000, 20001}
    assert story.connections[2]["latency_s"] == pytest.approx(sum(gaps_s) + RTT_S + WINDOW_S)


def test_the_script_is_the_same_on_every_run() -> None:
    """Same kernel, mode, cause and seed: the same events (one rng, fixed seed)."""
    assert explain("6.18", "default", "exhaustion").events == \
        explain("6.18", "default", "exhaustion").events


def test_scripts_are_two_pods_two_cpus_one_destination() -> None:
    for cause in ("race", "preservation", "eviction", "exhaustion"):
        s = build("6.18", "default", cause)
        assert s.node.cpus == 2
        assert {d.ip for w in s.workload for d in w.destinations} == {"203.0.113.10"}


def test_unknown_mode_or_cause_names_the_field() -> None:
    from snatsim.errors import ConfigError

    with pytest.raises(ConfigError, match="cause"):
        explain("6.18", "default", "meteor")
    with pytest.raises(ConfigError, match="mode"):
        explain("6.18", "fully", "race")


def test_story_json_round_trips() -> None:
    data = explain("4.14").to_dict()
    assert json.loads(json.dumps(data)) == data


# ------------------------------------------------------------------ the mitigations replayed
def test_4_14_race_mitigations_each_remove_the_lost_syn() -> None:
    """--random-fully (distinct random starts) and one CPU (the second NAT sees the first entry
    confirmed, spec §3.2) each end the race; one CPU costs one window δ of queueing instead."""
    story = explain("4.14", "default", "race")
    assert story.outcome()["syns_lost"] == 1
    rows = {m["mitigation"]: m for m in story.mitigations}
    assert set(rows) == {"--random-fully", "one CPU"}
    assert rows["--random-fully"]["syns_lost"] == rows["one CPU"]["syns_lost"] == 0
    assert rows["--random-fully"]["slowest_connect_s"] == pytest.approx(RTT_S + WINDOW_S)
    assert rows["one CPU"]["slowest_connect_s"] == pytest.approx(RTT_S + 2 * WINDOW_S)


def test_a_story_told_with_random_fully_does_not_replay_it() -> None:
    story = explain("4.14", "random-fully", "preservation")
    assert [m["mitigation"] for m in story.mitigations] == ["one CPU"]


def test_a_wider_window_ends_exhaustion_and_a_never_connected_flow_has_no_latency() -> None:
    """5.4 eviction script: the SYN never connects within the script (TIME_WAIT holds both ports
    for 120 s); two more ports let it through at once."""
    story = explain("5.4", "default", "eviction")
    assert story.outcome()["slowest_connect_s"] is None
    (wider,) = story.mitigations
    assert wider["syns_lost"] == 0 and wider["slowest_connect_s"] == pytest.approx(RTT_S + WINDOW_S)
    assert explain("5.4", "default", "eviction", mitigations=False).mitigations == []
