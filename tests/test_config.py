"""The scenario schema: defaults, every validation rule, error messages, overrides, round trips."""

from __future__ import annotations

import json
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from snatsim.config import (
    KernelConfig,
    NatConfig,
    Scenario,
    ScenarioError,
    TcpConfig,
    WorkloadConfig,
    apply_overrides,
    load_scenario,
)
from snatsim.distributions import Exponential, Fixed, Lognormal
from snatsim.errors import ConfigError
from snatsim.kernel.eras import NatEra, SynEra

BASE = """
[[workload]]
pods = 3
arrival = "poisson"
rate_per_s = 10.0
destinations = ["203.0.113.10:443"]
"""


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def workload(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"pods": 1, "destinations": ["203.0.113.10:443"]}
    base.update(fields)
    return base


def errors_of(tmp_path: Path, text: str, overrides: tuple[str, ...] = ()) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, text), overrides)
    return info.value


# ------------------------------------------------------------------------------------- defaults
def test_defaults(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, BASE))
    assert (s.simulation.duration_s, s.simulation.warmup_s, s.simulation.seed) == (300, 60, None)
    assert s.kernel.version == "6.18" and s.kernel.nat_era is None
    n = s.nat
    assert (n.target, n.to_source, n.to_ports, n.port_range) == ("masquerade", (), None, None)
    assert not (n.random or n.random_fully or n.persistent)
    assert (s.node.ip, s.node.cpus, s.node.steering) == ("192.0.2.10", 4, "client")
    assert s.node.nat_to_confirm_us == Lognormal(mean=1.0, sigma=0.5)
    c = s.conntrack
    assert c.max == 262144
    assert (c.tcp_timeout_time_wait_s, c.tcp_timeout_close_s, c.tcp_timeout_syn_sent_s) == (
        120,
        10,
        120,
    )
    assert (c.tcp_timeout_established_s, c.udp_timeout_s, c.udp_timeout_stream_s) == (
        432000,
        30,
        120,
    )
    assert (s.tcp.syn_retries, s.tcp.syn_linear_timeouts) == (None, None)
    assert s.network.rtt_s == Fixed(value=0.002)
    w = s.workload[0]
    assert w.name == "workload-0" and w.clients_per_pod == 1 and w.protocol == "tcp"
    assert w.jitter_s == Fixed(value=0.0) and w.think_time_s == Fixed(value=0.0)
    assert w.align_phase is False
    assert w.hold_s == Fixed(value=0.1) and w.close == "fin"
    assert (w.requests_per_connection, w.connect_timeout_s, w.source_port) == (1, None, "ephemeral")
    assert (w.snat, w.retry_timeout_s, w.attempts) == (True, 5.0, 2)
    assert w.destinations[0].address == "203.0.113.10:443" and w.destinations[0].weight == 1.0


def test_numbers_and_tables_for_time_parameters(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            BASE
            + """
            hold_s = 0.5
            [node]
            nat_to_confirm_us = {distribution = "exponential", mean = 2.0}
            """,
        )
    )
    assert s.workload[0].hold_s == Fixed(value=0.5)
    assert s.node.nat_to_confirm_us == Exponential(mean=2.0)


def test_kernel_profile_and_era_overrides() -> None:
    assert KernelConfig().profile().nat_era is NatEra.A4
    k = KernelConfig(version="6.1", nat_era="a1", syn_era="t0'")
    assert (k.nat_era, k.syn_era) == ("A1", "T0'")
    p = k.profile()
    assert p.nat_era is NatEra.A1 and p.syn_era is SynEra.T0p
    assert KernelConfig(version="4.14").profile().nat_era is NatEra.A1


def test_syn_linear_timeouts_follow_the_era() -> None:
    assert TcpConfig().linear_timeouts(SynEra.T2) == 4
    assert TcpConfig().linear_timeouts(SynEra.T1) == 0
    assert TcpConfig(syn_linear_timeouts=2).linear_timeouts(SynEra.T2) == 2


def test_port_range_and_destinations() -> None:
    assert NatConfig(to_ports="20000-20255").port_range == (20000, 20255)
    assert NatConfig(to_ports="1234").port_range == (1234, 1234)
    assert NatConfig.model_validate({"to_ports": 1234}).to_ports == "1234"
    w = WorkloadConfig.model_validate(
        workload(
            arrival="poisson",
            rate_per_s=1.0,
            destinations=["203.0.113.10:443", {"address": "198.51.100.53:53", "weight": 3.0}],
        )
    )
    d0, d1 = w.destinations
    assert (d0.ip, d0.port, d1.ip, d1.port) == ("203.0.113.10", 443, "198.51.100.53", 53)
    assert w.destination_probabilities() == (0.25, 0.75)


@pytest.mark.parametrize(
    ("fields", "clients", "rate"),
    [
        ({"arrival": "poisson", "rate_per_s": 40.0}, 6, 40.0),
        ({"arrival": "periodic", "period_s": 3.0}, 6, 2.0),
        ({"arrival": "burst", "burst_size": 30, "burst_interval_s": 10.0}, 6, 3.0),
        ({"arrival": "closed-loop"}, 6, None),
    ],
)
def test_clients_and_mean_rate(fields: dict[str, Any], clients: int, rate: float | None) -> None:
    w = WorkloadConfig.model_validate(workload(pods=3, clients_per_pod=2, **fields))
    assert w.clients == clients
    assert w.mean_rate_per_s() == rate


def test_default_names_and_explicit_names() -> None:
    s = Scenario.from_dict(
        {
            "workload": [
                workload(arrival="closed-loop"),
                workload(arrival="closed-loop", name="b"),
                workload(arrival="closed-loop"),
            ]
        }
    )
    assert [w.name for w in s.workload] == ["workload-0", "b", "workload-2"]


def test_models_are_frozen(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, BASE))
    with pytest.raises(ValidationError):
        s.node.cpus = 8


# ------------------------------------------------------------------------------ validation rules
W = "workload.0."
RULES: list[tuple[list[str], str, str]] = [
    # (overrides on BASE, dotted field named in the message, text in the message)
    (["simulation.duration_s=0"], "simulation.duration_s", "greater than 0"),
    (["simulation.warmup_s=-1"], "simulation.warmup_s", "greater than or equal to 0"),
    (["simulation.warmup_s=300"], "simulation.warmup_s", "less than duration_s"),
    (["simulation.seed=-1"], "simulation.seed", "greater than or equal to 0"),
    (["kernel.version=9.9"], "kernel.version", "9.9"),
    (["kernel.version=banana"], "kernel.version", "not a kernel version"),
    (["kernel.nat_era=A9"], "kernel.nat_era", "A1, A2, A3, A4"),
    (["kernel.syn_era=T3"], "kernel.syn_era", "T0'"),
    (["nat.target=dnat"], "nat.target", "'masquerade' or 'snat'"),
    (["nat.target=snat"], "nat.to_source", 'required with target = "snat"'),
    (['nat.to_source=["198.51.100.1"]'], "nat.to_source", "only used with target = 'snat'"),
    (["nat.target=snat", 'nat.to_source=["198.51.100.300"]'], "nat.to_source", "IPv4"),
    (["nat.to_ports=0-10"], "nat.to_ports", "1-65535"),
    (["nat.to_ports=300-200"], "nat.to_ports", "'200-300'"),
    (["nat.to_ports=abc"], "nat.to_ports", "port range"),
    (["nat.to_ports=70000"], "nat.to_ports", "1-65535"),
    (["nat.random_fully=yes"], "nat.random_fully", "valid boolean"),
    (["node.ip=::1"], "node.ip", "IPv4"),
    (["node.cpus=0"], "node.cpus", "greater than or equal to 1"),
    (["node.steering=rss"], "node.steering", "'flow-hash', 'random' or 'client'"),
    (["node.nat_to_confirm_us=-1"], "node.nat_to_confirm_us.value", "greater than or equal"),
    (["conntrack.max=0"], "conntrack.max", "greater than or equal to 1"),
    (["conntrack.tcp_timeout_time_wait_s=0"], "conntrack.tcp_timeout_time_wait_s", "greater"),
    (["conntrack.tcp_timeout_close_s=0"], "conntrack.tcp_timeout_close_s", "greater"),
    (["conntrack.tcp_timeout_syn_sent_s=0"], "conntrack.tcp_timeout_syn_sent_s", "greater"),
    (["conntrack.tcp_timeout_established_s=0"], "conntrack.tcp_timeout_established_s", "greater"),
    (["conntrack.udp_timeout_s=0"], "conntrack.udp_timeout_s", "greater"),
    (["conntrack.udp_timeout_stream_s=-5"], "conntrack.udp_timeout_stream_s", "greater"),
    (["tcp.syn_retries=0"], "tcp.syn_retries", "greater than or equal to 1"),
    (["tcp.syn_linear_timeouts=-1"], "tcp.syn_linear_timeouts", "greater than or equal to 0"),
    (
        ["kernel.version=4.19", "tcp.syn_linear_timeouts=3"],
        "tcp.syn_linear_timeouts",
        "3 is set but kernels before 6.5",
    ),
    (['network.rtt_s={distribution="gamma"}'], "network.rtt_s", "'gamma'"),
    ([W + "pods=0"], W + "pods", "greater than or equal to 1"),
    ([W + "pods=64001"], W + "pods", "the node's pod network 10.244.0.0/16 holds 64,000 pods"),
    (["simulation.duration_s=1e308"], "simulation.duration_s", "less than or equal to 604800"),
    (
        ["simulation.duration_s=600000", W + "rate_per_s=100"],
        "workload",
        "~60,000,000 connections expected over simulation.duration_s = 600000",
    ),
    ([W + "clients_per_pod=0"], W + "clients_per_pod", "greater than or equal to 1"),
    ([W + "arrival=posson"], W + "arrival", "did you mean 'poisson'?"),
    ([W + "rate_per_s=0"], W + "rate_per_s", "greater than 0"),
    ([W + "arrival=periodic"], W + "period_s", "required with arrival = 'periodic'"),
    ([W + "arrival=burst"], W + "burst_size", "required with arrival = 'burst'"),
    ([W + "arrival=burst", W + "burst_size=5"], W + "burst_interval_s", "required"),
    ([W + "period_s=0.5"], W + "period_s", "only used with arrival = 'periodic'"),
    ([W + "align_phase=true"], W + "align_phase", "only used with arrival = 'periodic'"),
    ([W + "jitter_s=0.1"], W + "jitter_s", "only used with arrival = 'periodic'"),
    ([W + "think_time_s=1"], W + "think_time_s", "only used with arrival = 'closed-loop'"),
    ([W + "burst_size=3"], W + "burst_size", "only used with arrival = 'burst'"),
    ([W + "burst_interval_s=3"], W + "burst_interval_s", "only used with arrival = 'burst'"),
    ([W + "destinations=[]"], W + "destinations", "must not be empty"),
    ([W + 'destinations=["203.0.113.10"]'], W + "destinations.0.address", "IPv4:port"),
    ([W + 'destinations=["203.0.113.10:0"]'], W + "destinations.0.address", "1-65535"),
    ([W + 'destinations=["203.0.113.10:70000"]'], W + "destinations.0.address", "1-65535"),
    ([W + 'destinations=["example.com:443"]'], W + "destinations.0.address", "IPv4"),
    (
        [W + 'destinations=[{address="203.0.113.10:443", weight=0}]'],
        W + "destinations.0.weight",
        "greater than 0",
    ),
    ([W + "protocol=sctp"], W + "protocol", "'tcp' or 'udp'"),
    ([W + "hold_s=-0.1"], W + "hold_s.value", "greater than or equal to 0"),
    ([W + "close=reset"], W + "close", "'fin' or 'rst'"),
    ([W + "protocol=udp", W + "close=rst"], W + "close", "only used with protocol = 'tcp'"),
    ([W + "protocol=udp", W + "connect_timeout_s=1"], W + "connect_timeout_s", "'tcp'"),
    ([W + "attempts=3"], W + "attempts", "only used with protocol = 'udp'"),
    ([W + "retry_timeout_s=1"], W + "retry_timeout_s", "only used with protocol = 'udp'"),
    ([W + "protocol=udp", W + "retry_timeout_s=0"], W + "retry_timeout_s", "greater than 0"),
    ([W + "protocol=udp", W + "attempts=0"], W + "attempts", "greater than or equal to 1"),
    ([W + "requests_per_connection=0"], W + "requests_per_connection", "greater than or equal"),
    ([W + "connect_timeout_s=0"], W + "connect_timeout_s", "greater than 0"),
    ([W + "source_port=0"], W + "source_port", "1-65535"),
    ([W + "source_port=random"], W + "source_port", '"ephemeral"'),
    ([W + "snat=maybe"], W + "snat", "valid boolean"),
    ([W + "name=''"], W + "name", "at least 1 character"),
]


@pytest.mark.parametrize(("overrides", "field", "text"), RULES, ids=lambda v: str(v))
def test_each_rule_names_the_field(
    tmp_path: Path, overrides: list[str], field: str, text: str
) -> None:
    err = errors_of(tmp_path, BASE, tuple(overrides))
    assert field in [f for f, _ in err.problems], err.problems
    line = next(line for line in str(err).splitlines() if field + ":" in line)
    assert text in line, line


def test_cross_field_message_reads_well(tmp_path: Path) -> None:
    err = errors_of(tmp_path, BASE + "period_s = 30\n")
    assert (
        "workload.0.period_s: only used with arrival = 'periodic' (got arrival = 'poisson'); "
        "remove it (value: 30)"
    ) in str(err)


def test_valid_arrival_specific_fields_pass(tmp_path: Path) -> None:
    text = """
    [[workload]]
    pods = 2
    arrival = "periodic"
    period_s = 60
    align_phase = true
    jitter_s = {distribution = "uniform", low = 0.0, high = 0.001}
    destinations = ["203.0.113.10:443"]
    [[workload]]
    name = "dns"
    pods = 2
    arrival = "burst"
    burst_size = 20
    burst_interval_s = 5
    protocol = "udp"
    attempts = 3
    source_port = 5353
    destinations = ["198.51.100.53:53"]
    """
    s = load_scenario(write(tmp_path, text))
    assert s.workload[0].align_phase and s.workload[1].attempts == 3
    assert s.workload[1].source_port == 5353


def test_unquoted_version_in_file_explains_the_fix(tmp_path: Path) -> None:
    err = errors_of(tmp_path, BASE + "[kernel]\nversion = 6.1\n")
    assert 'quoted string, e.g. version = "6.1"' in str(err)


def test_duplicate_workload_names(tmp_path: Path) -> None:
    text = BASE + 'name = "api"\n' + BASE + 'name = "api"\n'
    err = errors_of(tmp_path, text)
    assert "workload.1.name 'api' is already used by workload.0" in str(err)


def test_no_workload(tmp_path: Path) -> None:
    err = errors_of(tmp_path, "[node]\ncpus = 2\n")
    assert "workload: missing; add at least one [[workload]] table" in str(err)


def test_all_problems_reported_at_once_one_line_each(tmp_path: Path) -> None:
    err = errors_of(tmp_path, BASE, ("node.cpus=0", "workload.0.pods=0", "nat.target=x"))
    assert str(err).startswith(f"{tmp_path / 's.toml'}: 3 invalid settings:")
    assert {f for f, _ in err.problems} == {"node.cpus", "workload.0.pods", "nat.target"}
    assert len(str(err).splitlines()) == 4
    assert "(value: 0)" in str(err)


def test_single_problem_without_source_uses_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        Scenario.from_dict({"workload": [workload(arrival="closed-loop", pods=0)]})
    assert info.value.field == "workload.0.pods"
    assert str(info.value).startswith("workload.0.pods: input should be greater than or equal")


# --------------------------------------------------------------------------------- did you mean
@pytest.mark.parametrize(
    ("text", "field", "hint"),
    [
        (BASE + "[nat]\nrandom_fuly = true\n", "nat.random_fuly", "did you mean 'random_fully'?"),
        (BASE + "[simulaton]\nseed = 1\n", "simulaton", "did you mean 'simulation'?"),
        (BASE + "pod = 3\n", "workload.0.pod", "did you mean 'pods'?"),
        (
            BASE + 'hold_s = {distribution = "lognormal", mean = 1, sigmaa = 0.2}\n',
            "workload.0.hold_s.sigmaa",
            "did you mean 'sigma'?",
        ),
        (
            BASE.replace('"203.0.113.10:443"', '{address = "203.0.113.10:443", wieght = 2}'),
            "workload.0.destinations.0.wieght",
            "did you mean 'weight'?",
        ),
        (BASE + "[tcp]\nzzz = 1\n", "tcp.zzz", "valid keys: syn_retries, syn_linear_timeouts"),
    ],
)
def test_unknown_keys_suggest_the_valid_one(
    tmp_path: Path, text: str, field: str, hint: str
) -> None:
    err = errors_of(tmp_path, text)
    line = next(line for line in str(err).splitlines() if f"{field}:" in line)
    assert "unknown key" in line and hint in line


# ------------------------------------------------------------------------------------ overrides
def test_overrides_bool_int_index_and_inline_table(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    s = load_scenario(
        path,
        [
            "nat.random_fully=true",
            "workload.0.pods=8",
            "workload.0.destinations.0=198.51.100.7:80",
            'node.nat_to_confirm_us={distribution="fixed", value=2.0}',
            "kernel.version=6.10",
            "simulation.seed = 42",
        ],
    )
    assert s.nat.random_fully is True
    assert s.workload[0].pods == 8
    assert s.workload[0].destinations[0].address == "198.51.100.7:80"
    assert s.node.nat_to_confirm_us == Fixed(value=2.0)
    assert s.kernel.version == "6.10"  # kept as text, not the float 6.1
    assert s.simulation.seed == 42


def test_apply_overrides_copies_and_creates_tables() -> None:
    raw = tomllib.loads(BASE)
    out = apply_overrides(raw, ["nat.to_ports=20000-20255", "workload.0.name=api"])
    assert out["nat"] == {"to_ports": "20000-20255"}
    assert out["workload"][0]["name"] == "api"
    assert "nat" not in raw and "name" not in raw["workload"][0]
    assert apply_overrides(raw, ["nat.to_ports=1024"])["nat"]["to_ports"] == "1024"
    assert apply_overrides(raw, ['nat.target="snat"'])["nat"]["target"] == "snat"


def test_null_override_removes_a_key_or_a_list_entry() -> None:
    raw = {"workload": [{"name": "a", "rate_per_s": 5.0}, {"name": "b"}], "nat": {"random": True}}
    out = apply_overrides(raw, ["workload.0.rate_per_s=null", "nat.random = null"])
    assert out["workload"][0] == {"name": "a"} and out["nat"] == {}
    assert apply_overrides(raw, ["workload.1=null"])["workload"] == [raw["workload"][0]]
    # removing what is not there is a no-op, and creates no empty tables on the way
    assert apply_overrides(raw, ["node.cpus=null", "nat.to_ports=null"]) == raw
    assert raw["workload"][0]["rate_per_s"] == 5.0  # the input is not modified


def test_switching_arrival_by_override_needs_the_old_rate_removed() -> None:
    closed = ["workload.0.arrival=closed-loop"]
    with pytest.raises(ConfigError, match="rate_per_s: only used with arrival = 'poisson'"):
        load_scenario("configs/default.toml", closed)
    s = load_scenario("configs/default.toml", [*closed, "workload.0.rate_per_s=null"])
    assert s.workload[0].arrival == "closed-loop" and s.workload[0].rate_per_s is None


def test_unknown_key_by_override_names_the_override(tmp_path: Path) -> None:
    err = errors_of(tmp_path, BASE, ("nat.random_fuly=true",))
    assert "nat.random_fuly: unknown key; did you mean 'random_fully'?" in str(err)
    assert "set by override 'nat.random_fuly=true'" in str(err)


@pytest.mark.parametrize(
    ("override", "text"),
    [
        ("workload.1.pods=2", "index 1 is out of range: workload has 1 entries"),
        ("workload.0.destinations.5=203.0.113.1:1", "index 5 is out of range"),
        ("nat.random_fully", "expected section.key=value"),
        ("nat..random=1", "expected section.key=value"),
        ("workload.pods=2", "workload is a list; address an entry by index"),
        ("workload.0.pods.x=1", "workload.0.pods is a value, not a table"),
    ],
)
def test_bad_overrides(tmp_path: Path, override: str, text: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_scenario(write(tmp_path, BASE), [override])
    assert info.value.field == f"override {override!r}"
    assert text in str(info.value)


# ------------------------------------------------------------------------------ files and round trip
def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[simulation]\nduration_s = 10\nseed = = 3\n")
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert info.value.field == str(path)
    assert "invalid TOML at line 3" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_scenario(tmp_path / "nope.toml")
    assert str(tmp_path / "nope.toml") in str(info.value) and "no such file" in str(info.value)


def test_directory_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_scenario(tmp_path)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"# caf\xe9\n")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_scenario(bad)


def test_round_trip(tmp_path: Path) -> None:
    text = (
        BASE
        + """
    hold_s = {distribution = "lognormal", mean = 0.2, sigma = 0.8}
    [kernel]
    version = "5.4"
    client_era = "P3"
    [nat]
    target = "snat"
    to_source = ["198.51.100.1", "198.51.100.2"]
    to_ports = "1024-2047"
    persistent = true
    [tcp]
    syn_linear_timeouts = 0
    """
    )
    s = load_scenario(write(tmp_path, text))
    d = s.to_dict()
    json.dumps(d)  # plain JSON-able
    assert d["conntrack"]["max"] == 262144  # defaults included
    assert d["workload"][0]["hold_s"] == {"distribution": "lognormal", "mean": 0.2, "sigma": 0.8}
    assert Scenario.from_dict(d) == s
    again = load_scenario(write(tmp_path, s.to_toml(), "again.toml"))
    assert again == s and again.to_dict() == d


def test_absurd_expected_counts_are_written_short(tmp_path: Path) -> None:
    from snatsim.analytic.window_load import window_warnings

    hold = 'workload.0.hold_s={distribution="lognormal", mean=1e300, sigma=1}'
    (warning,) = window_warnings(load_scenario(write(tmp_path, BASE), [hold]))
    # written out, the count alone would be 302 characters long
    assert "needs ~1e+301 ports" in warning and len(warning) < 400
    error = errors_of(tmp_path, BASE, ("workload.0.rate_per_s=1e300",))
    assert "~3e+302 connections expected" in str(error) and len(str(error)) < 400


def test_a_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + textwrap.dedent(BASE).encode())
    assert load_scenario(path).workload[0].pods == 3
