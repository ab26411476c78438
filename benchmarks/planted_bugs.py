"""Plant each bug issue #7 listed (and a few more of the kind) and check the test named for it fails.

Every entry is a one-line change to the source and the test(s) that must catch it. Each runs in a
throw-away copy of the package and its tests (the working tree is never touched), only the named
tests, two at a time::

    .venv/bin/python benchmarks/planted_bugs.py            # all of them, ~1-2 min
    .venv/bin/python benchmarks/planted_bugs.py poisson_rate_doubled ci_90_percent

Prints one line per bug: CAUGHT (the named tests fail), SURVIVED (they pass: a test is missing) or
STALE (the source line is gone: the code was rewritten, update the entry). Exits 1 unless every
bug is caught. A change of the kind a mutation tool makes, but chosen: each pins a behaviour the
model's results depend on. Equivalent changes (no test can tell) are listed in EQUIVALENT.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]


class Bug(NamedTuple):
    """A planted bug: replace ``old`` (found exactly once in ``path``) with ``new``."""

    path: str
    old: str
    new: str
    tests: tuple[str, ...]  # pytest node ids (files or single tests); all of them must fail


ARR, CNT, SUM = "tests/test_des_arrivals.py", "tests/test_des_counters.py", "tests/test_summary"
WL, NODE, SETUP = "snatsim/des/workloads.py", "snatsim/des/node.py", "snatsim/des/setup.py"
RES, RD = "snatsim/results.py", "snatsim/rundata.py"

BUGS: dict[str, Bug] = {
    # ---------------------------------------------------------------- the list of issue #7
    "poisson_rate_doubled": Bug(
        WL, "self.mean_gap_s = 1.0 / rate_per_s", "self.mean_gap_s = 0.5 / rate_per_s",
        (f"{ARR}::test_poisson_counts_per_workload_and_pod_are_within_4_se_of_rate_times_duration",)),
    "destination_weights_ignored": Bug(
        SETUP, "self._cum = (np.cumsum(weights) / weights.sum()).tolist()",
        "self._cum = (np.arange(1, len(weights) + 1) / len(weights)).tolist()",
        (f"{ARR}::test_destination_shares_follow_the_weights",)),
    "think_time_ignored": Bug(
        WL, "self.node.at(conn.t_end + think, self.go, None)",
        "self.node.at(conn.t_end, self.go, None)",
        (f"{ARR}::test_closed_loop_reconnects_exactly_think_time_after_each_close",
         f"{ARR}::test_closed_loop_mean_think_gap_is_within_4_se_of_the_think_mean")),
    "flow_hash_all_on_cpu_0": Bug(
        SETUP, "return keyed_hash32(self._flow_secret, *orig) % self.cpus", "return 0",
        ("tests/test_des_steering.py::test_flows_of_one_pod_spread_uniformly_over_the_cpus",)),
    "early_drop_disabled": Bug(
        "snatsim/kernel/conntrack.py", "if self.count < self.max_entries or self.early_drop():",
        "if self.count < self.max_entries:",
        (f"{CNT}::test_full_table_early_drops_an_unassured_udp_entry_for_a_new_syn",)),
    "pod_time_wait_dropped": Bug(
        NODE, "now + POD_TIME_WAIT_S if fin else now)", "now)",
        (f"{CNT}::test_a_pod_never_reuses_a_source_port_within_60_s_of_closing_it",)),
    "udp_refresh_on_reply_skipped": Bug(
        NODE, "self.table.set_state(entry, TcpState.NONE, now)", "pass",
        (f"{CNT}::test_udp_entry_timeout_restarts_at_the_reply",)),
    "resolver_retry_no_multiplier": Bug(
        NODE, "conn.t0 + conn.tries * conn.wl.retry_timeout_s", "conn.t0 + conn.wl.retry_timeout_s",
        (f"{CNT}::test_resolver_resends_at_multiples_of_its_timeout",)),
    "ticker_jitter_accumulates": Bug(
        WL, "at = self.phase_s + n * self.period_s + self.client.workload.jitter_s()",
        "self.phase_s += self.client.workload.jitter_s()\n        at = self.phase_s + n * self.period_s",
        (f"{ARR}::test_aligned_jittered_ticks_stay_within_one_jitter_of_k_periods_without_drift",)),
    "isn_clock_dropped": Bug(
        SETUP, "+ (int(now_s * 1e9) >> 6)", "+ 0",
        (f"{CNT}::test_isn_advances_with_a_64_ns_clock",)),
    "app_timeout_boundary_lt": Bug(
        NODE, "conn.t0 + timeout <= next_at", "conn.t0 + timeout < next_at",
        (f"{CNT}::test_app_timeout_exactly_at_the_retransmit_time_wins",)),
    # the reply tuple unique, i.e. the clash on the original tuple: the one C3+ condition (a
    # separate "clash was on orig" flag was redundant with it, an equivalent change, and is gone)
    "c3_nat_clash_condition_removed": Bug(
        "snatsim/kernel/confirm.py", "elif era >= _C3 and table.find(ct.reply, now_s) is None:",
        "elif era >= _C3:",
        (f"{CNT}::test_udp_orig_clash_whose_reply_is_also_taken_is_dropped",)),
    "p99_is_p95": Bug(
        RES, '"p99": 99.0', '"p99": 95.0',
        (f"{SUM}_stats.py::test_latency_percentiles_mean_and_max",)),
    "ci_90_percent": Bug(
        RES, "confidence_level=0.95", "confidence_level=0.90",
        (f"{SUM}_stats.py::test_delayed_counts_fractions_and_exact_binomial_intervals",)),
    "per_workload_delayed_at_2s": Bug(
        RD, "if latency_s >= 1.0:\n                wl.delayed_ge_1s",
        "if latency_s >= 2.0:\n                wl.delayed_ge_1s",
        (f"{SUM}_stats.py::test_connection_outcomes_and_per_workload_counts",)),
    # ---------------------------------------------------------------- more of the same kind
    "syn_ack_at_app_timeout_is_late": Bug(
        NODE, "now - conn.t0 > timeout", "now - conn.t0 >= timeout",
        (f"{CNT}::test_syn_ack_exactly_at_the_app_timeout_is_established",)),
    "random_steering_biased": Bug(
        NODE, "cpu = s.packet_draws.below(s.cpus)",
        "cpu = min(s.packet_draws.below(s.cpus + 1), s.cpus - 1)",
        ("tests/test_des_steering.py::test_flows_of_one_pod_spread_uniformly_over_the_cpus",)),
    "ticker_phases_over_half_a_period": Bug(
        WL, "else u.uniform() * cfg.period_s", "else u.uniform() * cfg.period_s / 2",
        (f"{ARR}::test_periodic_ticks_are_one_period_apart_from_uniform_random_phases",)),
    "burst_one_short": Bug(
        WL, "for _i in range(self.size):", "for _i in range(self.size - 1):",
        (f"{ARR}::test_burst_opens_burst_size_connections_per_interval_from_clients_in_turn",)),
    "poisson_gaps_uniform": Bug(
        WL, "gap = -math.log(1.0 - self.wl.uniform.uniform()) * self.mean_gap_s",
        "gap = 2 * self.wl.uniform.uniform() * self.mean_gap_s",
        (f"{ARR}::test_poisson_counts_per_workload_and_pod_are_within_4_se_of_rate_times_duration",)),
    "closed_loop_clients_start_together": Bug(
        WL, "node.at(u.uniform() * cycle_s,", "node.at(0.0 * u.uniform() * cycle_s,",
        ("tests/test_des_closed_loop.py::test_clients_start_at_uniform_phases_over_one_mean_cycle",)),
    "local_error_no_backoff": Bug(
        WL, "think = max(think, LOCAL_ERROR_BACKOFF_S)", "think = think",
        ("tests/test_des_closed_loop.py::"
         "test_a_local_error_is_retried_after_the_backoff_not_the_shorter_think_time",)),
    "early_drop_uncounted": Bug(
        "snatsim/kernel/conntrack.py", "self.stats.early_drop += 1", "pass",
        (f"{CNT}::test_full_table_early_drops_an_unassured_udp_entry_for_a_new_syn",)),
    "table_full_drop_uncounted": Bug(
        "snatsim/kernel/conntrack.py", "        self.stats.drop += 1\n        return False",
        "        return False",
        (f"{CNT}::test_full_table_of_assured_entries_drops_the_syn_without_early_drop",)),
    "delayed_strictly_above_threshold": Bug(
        RD, "if latency_s < threshold:", "if latency_s <= threshold:",
        (f"{SUM}_edges.py::test_a_connect_of_exactly_one_second_counts_as_delayed_ge_1s",)),
    "preserved_over_all_attempts": Bug(
        RD, "        if nat_port is not None:\n            self.nat_known += 1",
        "        if True:\n            self.nat_known += 1",
        (f"{SUM}_edges.py::test_preserved_fraction_counts_only_connections_that_reached_nat",)),
    "warmup_drops_counted": Bug(
        "snatsim/des/records.py", "        if now_s >= self.warmup_s:\n            self.lost[kind]",
        "        if True:\n            self.lost[kind]",
        (f"{SUM}_edges.py::test_warmup_counts_packets_drops_and_counters_by_when_they_happen",)),
    "warmup_boundary_exclusive": Bug(
        "snatsim/des/records.py", "        if now_s >= self.warmup_s:\n            self.lost[kind]",
        "        if now_s > self.warmup_s:\n            self.lost[kind]",
        (f"{SUM}_edges.py::test_warmup_counts_packets_drops_and_counters_by_when_they_happen",)),
    "first_drop_cause_overwritten": Bug(
        "snatsim/des/records.py",
        "        if conn.first_cause is None:\n            conn.first_cause = cause",
        "        conn.first_cause = cause",
        (f"{SUM}_edges.py::test_first_drop_cause_is_the_first_of_two_different_causes",)),
    "failed_connect_keeps_its_port": Bug(
        NODE, "        self.s.pods[conn.pod].release(conn.orig, now)\n        self.rec.finish(conn, now)"
        "\n\n    def _established", "        self.rec.finish(conn, now)\n\n    def _established",
        ("tests/test_des_pod_ports.py::test_a_fixed_port_is_free_again_after_the_app_gives_up",)),
    "answered_lookup_keeps_its_port": Bug(
        NODE, "        self.s.pods[conn.pod].release(conn.orig, now)\n        self.rec.finish(conn, now)"
        "\n\n    def _udp_retry", "        self.rec.finish(conn, now)\n\n    def _udp_retry",
        ("tests/test_des_pod_ports.py::"
         "test_udp_lookups_of_a_pod_never_share_an_open_port_and_reuse_closed_ones",)),
    "udp_port_drawn_while_open": Bug(
        SETUP, "if port not in self._udp:", "if True:",
        ("tests/test_des_pod_ports.py::"
         "test_udp_lookups_of_a_pod_never_share_an_open_port_and_reuse_closed_ones",)),
}

# Changes no test can catch because they do not change behaviour (the reason, one line each).
EQUIVALENT = {
    "fin_seq_not_bumped": "node.py `_close`: the FIN's +1 on seq_end decides an eviction only when "
    "a new ISN lands exactly one ahead of an old entry's end (odds ~2^-32 per check)",
    "udp_retry_after_an_answer": "node.py `_udp_retry`: its `conn.outcome is not None` guard is "
    "defensive: a try is answered only when both its queries passed, and a dropped query is what "
    "arms the retry, so no lookup is answered while its retry is pending",
}


def _copy_tree(dst: Path) -> None:
    for name in ("snatsim", "tests", "configs", "docs"):
        shutil.copytree(ROOT / name, dst / name,
                        ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dst / name)


def _pytest(work: Path, *tests: str) -> subprocess.CompletedProcess[str]:
    """Run ``tests`` against the copy in ``work`` (its snatsim shadows the installed one)."""
    env = {**os.environ, "PYTHONPATH": str(work), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "--tb=no", "-p", "no:cacheprovider", *tests],
        cwd=work, env=env, capture_output=True, text=True, check=False)


def check(name: str) -> tuple[str, str]:
    """Plant ``name`` in a copy of the tree; return (verdict, detail)."""
    bug = BUGS[name]
    with tempfile.TemporaryDirectory(prefix=f"planted-{name}-") as tmp:
        work = Path(tmp)
        _copy_tree(work)
        src = work / bug.path
        text = src.read_text()
        if text.count(bug.old) != 1:
            return "STALE", f"{bug.path}: the line to change occurs {text.count(bug.old)} times"
        src.write_text(text.replace(bug.old, bug.new))
        survivors = []
        for test in bug.tests:
            run = _pytest(work, test)
            if run.returncode == 0:
                survivors.append(test)
            elif run.returncode != 1:  # 1: tests failed; anything else: collection/usage error
                return "ERROR", run.stdout[-300:] + run.stderr[-300:]
        if survivors:
            return "SURVIVED", "passed: " + ", ".join(survivors)
        return "CAUGHT", ", ".join(t.split("::")[-1] for t in bug.tests)


def main(names: list[str]) -> int:
    unknown = [n for n in names if n not in BUGS]
    if unknown:
        print(f"unknown bug(s) {unknown}; choose from: {', '.join(BUGS)}", file=sys.stderr)
        return 2
    names = names or list(BUGS)
    with tempfile.TemporaryDirectory(prefix="planted-baseline-") as tmp:
        _copy_tree(Path(tmp))  # the named tests must pass before anything is planted
        baseline = _pytest(Path(tmp), *sorted({t for n in names for t in BUGS[n].tests}))
        if baseline.returncode != 0:
            print("the named tests fail without a planted bug:\n" + baseline.stdout[-2000:])
            return 1
    with ThreadPoolExecutor(max_workers=2) as pool:
        verdicts = list(pool.map(check, names))
    for name, (verdict, detail) in zip(names, verdicts, strict=True):
        print(f"{verdict:8} {name:36} {detail}")
    for name, why in EQUIVALENT.items():
        print(f"{'EQUIV':8} {name:36} {why}")
    caught = sum(v == "CAUGHT" for v, _ in verdicts)
    print(f"{caught} of {len(names)} planted bugs caught")
    return 0 if caught == len(names) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
