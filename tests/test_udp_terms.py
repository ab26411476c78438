"""UDP runs are reported in lookups and queries, with the resolver's 5 s retry (issue #8)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from typer.testing import CliRunner

from snatsim.cli import app
from snatsim.config import load_scenario
from snatsim.results import SimulationResult, simulate

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "dns-udp.toml"
# spread over CPUs on a 4.14 node, sibling queries clash and are dropped: 5 s retries
RACY = ["simulation.duration_s=12", "simulation.warmup_s=2", "node.steering=random",
        "kernel.version=4.14"]


@cache
def racy() -> SimulationResult:
    return simulate(load_scenario(CONFIG, RACY), rows="all")


def test_human_output_speaks_of_lookups_and_queries_never_of_syns() -> None:
    args = [a for kv in RACY for a in ("--set", kv)]
    result = CliRunner().invoke(app, ["run", str(CONFIG), *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "SYNs" not in out and "connect()" not in out and "app timeouts" not in out
    assert "lookups (started after warm-up)" in out and "answered" in out
    assert "UDP queries sent" in out and "UDP queries dropped" in out
    assert "lookup latency" in out and "why queries were dropped" in out
    dropped = racy().summary()["udp_queries"]["dropped"]
    assert dropped > 0 and f"{dropped:,}" in out
    row = next(line for line in out.splitlines() if "≥ 5 s" in line)
    n = racy().summary()["delayed_counts"]
    assert f"{n['ge_5s']:,} of {n['of']:,}" in row


def test_the_summary_counts_lookups_and_those_delayed_by_the_5_s_retry() -> None:
    result = racy()
    s = result.summary()
    frame = result.to_frame()
    lat = frame["latency_s"].dropna()
    never = int((frame["outcome"] == "failed").sum())
    assert s["delayed_counts"]["ge_5s"] == int((lat >= 5.0).sum()) + never > 0
    assert s["delayed_counts"]["ge_3s"] == s["delayed_counts"]["ge_5s"]  # no retry before 5 s
    assert s["udp_queries"]["lookups"] == len(frame) == s["connections"]["attempted"]
    assert s["udp_queries"]["answered"] == len(lat)
    assert s["syn"] == {"sent": 0, "dropped": 0}


def test_tcp_runs_have_no_5_s_threshold() -> None:
    tcp = simulate(load_scenario(CONFIG.parent / "default.toml", ["simulation.duration_s=2",
                                                                  "simulation.warmup_s=0"]))
    assert set(tcp.summary()["delayed_counts"]) == {"ge_1s", "ge_2s", "ge_3s", "of",
                                                    "never_completed"}


def test_query_drops_have_their_own_series_and_none_is_counted_as_a_syn_drop() -> None:
    frame = racy().timeseries()
    assert frame["syn_drops"].sum() == 0
    assert frame["query_drops"].sum() >= racy().summary()["udp_queries"]["dropped"] > 0
