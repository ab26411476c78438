"""The validated scenario schema (pydantic, frozen) and TOML load/dump.

A scenario file has the sections ``[simulation]``, ``[kernel]``, ``[nat]``, ``[node]``,
``[conntrack]``, ``[tcp]``, ``[network]`` (all optional, with the defaults below) and at least one
``[[workload]]``. Defaults live here and nowhere else. Every problem in a file is reported at once, as
one :class:`ScenarioError` with one line per bad field:
``dotted.path: what is wrong; the fix (value: the bad value)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from snatsim import config_files
from snatsim.config_files import ScenarioError, read_scenario_file
from snatsim.config_limits import (
    LIMIT_HINTS,
    MAX_CONNTRACK,
    MAX_CPUS,
    MAX_DURATION_S,
    MAX_EXPECTED_CONNECTIONS,
    MAX_NAT_TO_CONFIRM_US,
    MAX_PODS,
    check_totals,
)
from snatsim.config_workload import (
    Arrival,
    Destination,
    Section,
    WorkloadConfig,
    ipv4,
)
from snatsim.distributions import DistributionLike, Fixed, Lognormal
from snatsim.errors import ConfigError
from snatsim.kernel.eras import ClientEra, ConfirmEra, NatEra, SynEra

if TYPE_CHECKING:
    from snatsim.kernel.profiles import KernelProfile

__all__ = [
    "LIMIT_HINTS",
    "MAX_DURATION_S",
    "MAX_EXPECTED_CONNECTIONS",
    "MAX_PODS",
    "Arrival",
    "ConntrackConfig",
    "Destination",
    "KernelConfig",
    "NatConfig",
    "NetworkConfig",
    "NodeConfig",
    "Scenario",
    "ScenarioError",
    "SimulationConfig",
    "TcpConfig",
    "WorkloadConfig",
    "apply_overrides",
    "load_scenario",
]


# ----------------------------------------------------------------------------------------- sections
class SimulationConfig(Section):
    """``[simulation]``: run length, warm-up and seed."""

    duration_s: float = Field(
        default=300.0, gt=0, le=MAX_DURATION_S,
        description="simulated time, warm-up included (at most 7 days)",
    )
    warmup_s: float = Field(
        default=60.0,
        ge=0,
        description="seconds at the start left out of the summary; TIME_WAIT takes 120 s to fill",
    )
    seed: int | None = Field(
        default=None, ge=0,
        description="same seed and config give identical results; absent: fresh entropy, printed "
        "and recorded in the results so the run can be repeated"
    )
    drain: bool = Field(
        default=True,
        description="after duration_s, stop new arrivals and follow every started connect to "
        "its end (established, failed or timed out) so that none is left in flight",
    )

    @field_validator("warmup_s")
    @classmethod
    def _warmup_inside(cls, value: float, info: ValidationInfo) -> float:
        duration = info.data.get("duration_s")
        if duration is not None and value >= duration:
            raise ValueError(
                f"must be less than duration_s ({duration:g}); shorten the warm-up or run longer"
            )
        return value


def _era_names(family: type[NatEra | ConfirmEra | ClientEra | SynEra]) -> dict[str, Any]:
    """The ``allowed`` note of an era field for docs/config.md (``snatsim.config_reference``)."""
    return {"allowed": ", ".join(f'"{era}"' for era in family)}


def _version_string(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError('write the version as a quoted string, e.g. version = "6.1"')
    return value


class KernelConfig(Section):
    """``[kernel]``: the version decides the behaviour eras (spec §2.5); eras may be overridden."""

    version: Annotated[str, BeforeValidator(_version_string)] = Field(
        default="6.18",
        json_schema_extra={"allowed": "mainline X.Y or X.Y.Z from 3.0 to 6.x, as a string"},
        description="kernel version; it decides the eras (§2.5); vendor "
        "kernels backport features, so for them also set the eras",
    )
    nat_era: str | None = Field(
        default=None, json_schema_extra=_era_names(NatEra),
        description="NAT port allocator era (§2.1, codes in §2.6); absent: the version's",
    )
    confirm_era: str | None = Field(
        default=None, json_schema_extra=_era_names(ConfirmEra),
        description="confirm and clash-resolution era (§2.2, codes in §2.6); absent: the version's",
    )
    client_era: str | None = Field(
        default=None, json_schema_extra=_era_names(ClientEra),
        description="pod connect() port era (§2.3, codes in §2.6); absent: the version's",
    )
    syn_era: str | None = Field(
        default=None, json_schema_extra=_era_names(SynEra),
        description="SYN retransmit schedule era (§2.4, codes in §2.6); absent: the version's",
    )

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: str) -> str:
        from snatsim.kernel.profiles import resolve_profile

        try:
            resolve_profile(value)
        except ConfigError as exc:
            raise ValueError(exc.message) from None
        return value.strip()

    @field_validator("nat_era", "confirm_era", "client_era", "syn_era")
    @classmethod
    def _era_name(cls, value: str | None, info: ValidationInfo) -> str | None:
        families = {"nat_era": NatEra, "confirm_era": ConfirmEra, "client_era": ClientEra}
        family = families.get(str(info.field_name), SynEra)
        return None if value is None else str(family.parse(value))

    @model_validator(mode="after")
    def _resolves(self) -> KernelConfig:
        try:
            self.profile()
        except ConfigError as exc:
            raise ValueError(f"{exc.field}: {exc.message}") from None
        return self

    def warnings(self) -> list[str]:
        """How the version was resolved, where a user should know: a distribution string taken as
        mainline, a version newer than the newest known (see
        :func:`~snatsim.kernel.profiles.version_warnings`)."""
        from snatsim.kernel.profiles import ERA_FIELDS, version_warnings

        overridden = [name for name in ERA_FIELDS if getattr(self, name) is not None]
        return version_warnings(self.version, overridden=overridden)

    def profile(self) -> KernelProfile:
        """The resolved eras: ``resolve_profile(version, nat_era=..., ...)`` (spec §2.5)."""
        from snatsim.kernel.profiles import resolve_profile

        return resolve_profile(
            self.version,
            nat_era=self.nat_era,
            confirm_era=self.confirm_era,
            client_era=self.client_era,
            syn_era=self.syn_era,
        )


def _port_range_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class NatConfig(Section):
    """``[nat]``: the POSTROUTING rule (spec §4.1)."""

    target: Literal["masquerade", "snat"] = Field(
        default="masquerade",
        description="masquerade: NAT to node.ip; snat: NAT to the addresses in to_source",
    )
    to_source: tuple[str, ...] = Field(
        default=(),
        validate_default=True,
        json_schema_extra={"allowed": 'IPv4 addresses; required with target = "snat"'},
        description="snat only: NAT IPs (masquerade uses node.ip)",
    )
    to_ports: Annotated[str | None, BeforeValidator(_port_range_text)] = Field(
        default=None,
        json_schema_extra={"allowed": '"A-B" or "A", ports 1-65535'},
        description="--to-ports: the NAT port window; absent: 1-511, 600-1023 or 1024-65535 "
        "by the original port (§4.4)",
    )
    random: StrictBool = Field(
        default=False,
        description="--random: on A1 the search starts at a hash of the destination; from A2 on "
        "it is the same as random_fully (§2.1)"
    )
    random_fully: StrictBool = Field(
        default=False,
        description="--random-fully: every search starts at a random offset and the pod's port is "
        "never kept (§4.2, §4.4)"
    )
    persistent: StrictBool = Field(
        default=False,
        description="--persistent: with several to_source addresses, the NAT IP depends on the "
        "pod address only, not on the destination (§4.3)"
    )

    @field_validator("to_source")
    @classmethod
    def _sources(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        target = info.data.get("target")
        if target == "snat" and not value:
            raise ValueError('required with target = "snat"; add to_source = ["198.51.100.1"]')
        if target == "masquerade" and value:
            raise ValueError("only used with target = 'snat' (masquerade uses node.ip); remove it")
        return tuple(ipv4(ip, "NAT address") for ip in value)

    @field_validator("to_ports")
    @classmethod
    def _ports(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from snatsim.kernel.window import parse_port_range

        try:
            lo, hi = parse_port_range(value)
        except ConfigError as exc:
            raise ValueError(exc.message) from None
        return f"{lo}-{hi}" if lo != hi else str(lo)

    @property
    def port_range(self) -> tuple[int, int] | None:
        """``(A, B)`` from ``to_ports``, or None for the default windows."""
        if self.to_ports is None:
            return None
        from snatsim.kernel.window import parse_port_range

        return parse_port_range(self.to_ports)


class NodeConfig(Section):
    """``[node]``: the NAT node."""

    ip: str = Field(
        default="192.0.2.10", json_schema_extra={"allowed": "IPv4 address"},
        description="node address; the MASQUERADE source",
    )
    cpus: int = Field(
        default=4, ge=1, le=MAX_CPUS, description="CPUs processing forwarded packets in parallel"
    )
    steering: Literal["flow-hash", "random", "client"] = Field(
        default="client",
        description="which CPU runs a flow's NAT + confirm: flow-hash (RSS/RPS on the tuple), "
        "random, or client (the CPU the client process runs on; veth pods, §16.5)",
    )
    nat_to_confirm_us: DistributionLike = Field(
        default=Lognormal(mean=1.0, sigma=0.5),
        description="race window δ in microseconds: softirq time from the SNAT hook "
        "(POSTROUTING prio 100) to confirm (prio INT_MAX) is sub-µs to a few µs; XING measured "
        "clashing connects starting within 0–2 µs (§3.2)",
    )

    @field_validator("ip", mode="before")
    @classmethod
    def _ip(cls, value: Any) -> str:
        return ipv4(value, "node address")

    @field_validator("nat_to_confirm_us")
    @classmethod
    def _microseconds(cls, value: DistributionLike) -> DistributionLike:
        if value.mean > MAX_NAT_TO_CONFIRM_US:
            raise ValueError(
                f"a mean of {value.mean:g} µs is more than 1 s; the NAT-to-confirm window is in "
                "microseconds (sub-µs to a few µs, docs/kernel.md §3.2): give it in µs"
            )
        return value


class ConntrackConfig(Section):
    """``[conntrack]``: table size and timeouts (spec §10)."""

    max: int = Field(
        default=262144, ge=1, le=MAX_CONNTRACK,
        description="nf_conntrack_max: when the table is full a new flow early-drops an entry "
        "or is dropped (§10)",
    )
    gc_interval_s: float = Field(
        default=1.0, ge=0.01, le=60.0,
        description="seconds between conntrack GC passes; expired entries count towards max "
        "until collected (approximation: the kernel's gc_worker paces itself, see docs/model.md)",
    )
    tcp_timeout_time_wait_s: float = Field(
        default=120.0, gt=0,
        description="a cleanly closed (FIN) connection's entry holds its NAT port this long",
    )
    tcp_timeout_close_s: float = Field(
        default=10.0, gt=0, description="an entry closed by RST holds its NAT port this long"
    )
    tcp_timeout_syn_sent_s: float = Field(
        default=120.0, gt=0, description="an entry whose SYN got no answer yet"
    )
    tcp_timeout_established_s: float = Field(
        default=432000.0, gt=0, description="an established connection's entry (5 days)"
    )
    udp_timeout_s: float = Field(
        default=30.0, gt=0, description="a UDP entry that has seen no reply"
    )
    udp_timeout_stream_s: float = Field(
        default=120.0, gt=0, description="a replied UDP entry (180 s on old kernels)"
    )


class TcpConfig(Section):
    """``[tcp]``: the pods' SYN retransmission sysctls (spec §2.4, §9)."""

    syn_retries: int | None = Field(
        default=None, ge=1, le=127,
        description="tcp_syn_retries; absent: per the SYN era (6 from 3.7, 5 before)",
    )
    syn_linear_timeouts: int | None = Field(
        default=None, ge=0, le=127,
        description="tcp_syn_linear_timeouts: retransmits before the backoff doubles; absent: "
        "per the SYN era (4 on T2, 0 before)",
    )

    def linear_timeouts(self, syn_era: SynEra) -> int:
        """``syn_linear_timeouts``, or the era's default when absent (4 on T2, else 0)."""
        if self.syn_linear_timeouts is not None:
            return self.syn_linear_timeouts
        return 4 if syn_era >= SynEra.T2 else 0


class NetworkConfig(Section):
    """``[network]``: the path beyond the node."""

    rtt_s: DistributionLike = Field(
        default=Fixed(value=0.002),
        description="round-trip time between the node and the servers, drawn for each handshake or query"
    )


class Scenario(Section):
    """A whole scenario: every section resolved, defaults filled in."""

    simulation: SimulationConfig = Field(
        default_factory=SimulationConfig, description="run length, warm-up, seed and drain"
    )
    kernel: KernelConfig = Field(
        default_factory=KernelConfig, description="the kernel version and its behaviour eras"
    )
    nat: NatConfig = Field(
        default_factory=NatConfig, description="the SNAT/MASQUERADE rule in POSTROUTING"
    )
    node: NodeConfig = Field(
        default_factory=NodeConfig, description="the NAT node: address, CPUs, packet steering"
    )
    conntrack: ConntrackConfig = Field(
        default_factory=ConntrackConfig, description="conntrack table size, GC and timeouts"
    )
    tcp: TcpConfig = Field(
        default_factory=TcpConfig, description="the pods' SYN retransmission sysctls"
    )
    network: NetworkConfig = Field(
        default_factory=NetworkConfig, description="the path beyond the node"
    )
    workload: tuple[WorkloadConfig, ...] = Field(
        min_length=1, description="groups of clients and what they connect to (at least one)"
    )

    @field_validator("tcp")
    @classmethod
    def _syn_schedule_resolves(cls, value: TcpConfig, info: ValidationInfo) -> TcpConfig:
        """Build the SYN schedule now (spec §2.4), so a bad sysctl fails here, not in simulate()."""
        from snatsim.kernel.tcp import syn_schedule

        kernel = info.data.get("kernel")
        if kernel is None:
            return value  # [kernel] is invalid: its own errors say why
        try:
            syn_schedule(
                kernel.profile().syn_era,
                syn_retries=value.syn_retries,
                linear_timeouts=value.syn_linear_timeouts,
            )
        except ConfigError as exc:
            raise ValueError(f"{exc.field.removeprefix('tcp.')}: {exc.message}") from None
        return value

    @field_validator("workload")
    @classmethod
    def _named(
        cls, value: tuple[WorkloadConfig, ...], info: ValidationInfo
    ) -> tuple[WorkloadConfig, ...]:
        named = tuple(
            w if "name" in w.model_fields_set else w.model_copy(update={"name": f"workload-{i}"})
            for i, w in enumerate(value)
        )
        simulation = info.data.get("simulation")
        check_totals(named, None if simulation is None else simulation.duration_s)
        first: dict[str, int] = {}
        for i, w in enumerate(named):
            if w.name in first:
                raise ValueError(
                    f"workload.{i}.name {w.name!r} is already used by workload.{first[w.name]}; "
                    "give each workload a unique name"
                )
            first[w.name] = i
        return named

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every field, defaults included (absent values are None)."""
        return self.model_dump(mode="json")

    def to_toml(self) -> str:
        """TOML text that :func:`load_scenario` reads back to an equal Scenario."""
        import tomli_w

        return tomli_w.dumps(_drop_none(self.to_dict()))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> Scenario:
        """Validate a raw dict (as read from TOML); raises :class:`ScenarioError` on any problem."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise _scenario_error(exc, source) from None


def _drop_none(value: Any) -> Any:
    """Drop None (TOML has no null) and write fixed distributions as bare numbers."""
    if isinstance(value, dict):
        if value.keys() == {"distribution", "value"} and value["distribution"] == "fixed":
            return value["value"]
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


# ----------------------------------------------------------------------------- loading + overrides
def load_scenario(path: str | Path, overrides: Sequence[str] | str = ()) -> Scenario:
    """Read, override and validate a scenario file.

    Parameters
    ----------
    path:
        A TOML file (a regular file of at most 1 MiB, UTF-8).
    overrides:
        ``"section.key=value"`` strings applied after reading (see :func:`apply_overrides`); a
        single string is taken as one override. Anything else is a TypeError.

    Raises
    ------
    ConfigError
        Missing, unreadable or oversized file, TOML syntax error (with the line), bad override, or
        :class:`ScenarioError` listing every invalid field.
    """
    if isinstance(overrides, str):
        overrides = (overrides,)  # one "key=value" given on its own
    wrong = [o for o in overrides if not isinstance(o, str)]
    if wrong:
        raise TypeError(
            f"overrides are 'section.key=value' strings, e.g. ['kernel.version=5.4'], "
            f"not {wrong[0]!r}"
        )
    raw = apply_overrides(read_scenario_file(path), overrides)
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise _scenario_error(exc, str(path), overrides) from None


def apply_overrides(raw: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with ``"dotted.key=value"`` overrides applied, in order.

    The value is parsed as a TOML value (``true``, ``8``, ``[1, 2]``, ``{distribution = "fixed",
    value = 2.0}``), falling back to the bare text; for a string field (``kernel.version=6.10``) the
    text is kept as written. List elements are addressed by index (``workload.0.pods=8``); missing
    tables are created. Unknown keys are left for validation to report with a did-you-mean hint.
    The value ``null`` removes the key, so the field falls back to its default (as Helm's
    ``--set key=null``): e.g. ``workload.0.rate_per_s=null`` with ``workload.0.arrival=closed-loop``;
    ``workload.1=null`` removes a whole list entry.
    """
    return config_files.apply_overrides(raw, overrides, Scenario)


def _scenario_error(
    exc: ValidationError, source: str | None, overrides: Sequence[str] = ()
) -> ScenarioError:
    return config_files.scenario_error(exc, source, overrides, Scenario, LIMIT_HINTS)
