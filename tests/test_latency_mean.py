"""The mean connect() latency is a compensated sum over the count, and None when none completed;
an undrained run warns about the connects it left unresolved."""

from __future__ import annotations

from des_scripts import once, run, scenario

from snatsim.rundata import ConnectionStats


def test_the_mean_of_ten_latencies_of_0_1_s_is_exactly_0_1_s() -> None:
    """A plain float sum of ten 0.1 is 0.9999999999999999; the Neumaier carry restores 1.0."""
    stats = ConnectionStats(["w"])
    for _ in range(10):
        stats.add("w", "established", 0.1, 0, 20000, False)
    assert stats.latency_mean_s() == 0.1


def test_no_completed_connect_means_no_mean_and_a_warning_when_one_is_unresolved() -> None:
    """The only NAT port is held past the end of the run (no drain): the victim's connect is
    still retransmitting when the run ends."""
    holder = once("holder", hold_s=100.0)
    victim = once("victim", at_s=0.5)
    result, _ = run(scenario(holder, victim, cpus=1, nat={"to_ports": "20000"}))
    assert result.warnings() == [
        "1 connects were still unresolved at the end of the run (simulation.drain = false, or "
        "the drain's limit was reached): they are in no delayed figure"
    ]
    assert ConnectionStats(["w"]).latency_mean_s() is None
    empty = ConnectionStats(["w"])
    empty.add("w", "failed", None, 1, None, False)
    assert empty.latency_mean_s() is None
