"""The ``[[workload]]`` part of the scenario schema; import it from :mod:`snatsim.config`.

Also holds the small building blocks :mod:`snatsim.config` uses: the :class:`Section` base, the IPv4
check, and the schema walk that turns a pydantic error location into a dotted field name.

A workload is a group of identical clients (``pods`` × ``clients_per_pod``) that open connections to
weighted destinations through the node's SNAT. Which fields apply depends on ``arrival`` and
``protocol``; a field that does not apply is an error unless left at its default, so a config never
silently carries a setting the simulator ignores.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    ValidationInfo,
    field_validator,
)

from snatsim.config_limits import (
    MAX_BURST_SIZE,
    MAX_CLIENTS,
    MAX_PODS,
    MAX_REQUESTS_PER_CONNECTION,
    MAX_RESOLVER_ATTEMPTS,
    MAX_WEIGHT,
)
from snatsim.distributions import DistributionLike, Fixed, number_not_text

__all__ = [
    "ARRIVALS",
    "Arrival",
    "Destination",
    "Section",
    "WorkloadConfig",
    "field_condition",
    "ipv4",
    "is_string_field",
    "show_value",
    "unwrap_type",
    "walk_schema",
]

Arrival = Literal["poisson", "periodic", "closed-loop", "burst"]

# arrival -> what it means (the ``arrival`` field's description and docs/config.md use this)
ARRIVALS: dict[Arrival, str] = {
    "poisson": "one Poisson process for the whole group, rate_per_s new connections/s",
    "periodic": "one ticker per client, every period_s (cron jobs, health checks, pollers)",
    "closed-loop": "each client reconnects think_time_s after its previous connection ended",
    "burst": "the group opens burst_size connections at once every burst_interval_s",
}


class Section(BaseModel):
    """Base of every config model: frozen, unknown keys forbidden, no inf/nan."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        return number_not_text(cls, value, info)


def ipv4(value: Any, what: str = "address") -> str:
    """Return the canonical form of an IPv4 address string, or raise ValueError with the fix."""
    if not isinstance(value, str):
        raise ValueError(f'expected an IPv4 {what} as a string, e.g. "203.0.113.10"')
    try:
        return str(ipaddress.IPv4Address(value.strip()))
    except ValueError:
        raise ValueError(
            f'not an IPv4 {what}; write a dotted quad such as "203.0.113.10" (IPv4 only)'
        ) from None


def _bare_address(value: Any) -> Any:
    return {"address": value} if isinstance(value, str) else value


class Destination(Section):
    """One destination ``ip:port`` and its relative weight (a bare ``"ip:port"`` string also works)."""

    address: str = Field(
        json_schema_extra={"allowed": "IPv4:port, port 1-65535"},
        description="the server, e.g. '203.0.113.10:443'",
    )
    weight: float = Field(
        default=1.0, gt=0, le=MAX_WEIGHT, description="relative share of this group's connections"
    )

    @field_validator("address")
    @classmethod
    def _ip_port(cls, value: str) -> str:
        ip, sep, port = value.strip().rpartition(":")
        if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError("expected IPv4:port with a port in 1-65535, e.g. '203.0.113.10:443'")
        return f"{ipv4(ip, 'destination address')}:{int(port)}"

    @property
    def ip(self) -> str:
        """The destination IPv4 address."""
        return self.address.rpartition(":")[0]

    @property
    def port(self) -> int:
        """The destination port."""
        return int(self.address.rpartition(":")[2])


def _source_port(value: Any) -> Literal["ephemeral"] | int:
    if value == "ephemeral":
        return "ephemeral"
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return value
    raise ValueError('expected "ephemeral" or a fixed port number 1-65535')


SourcePort = Annotated[Literal["ephemeral"] | int, PlainValidator(_source_port)]

# field -> the arrival it belongs to; the first group is required for that arrival
_ARRIVAL_FIELDS: dict[str, Arrival] = {
    "rate_per_s": "poisson",
    "period_s": "periodic",
    "jitter_s": "periodic",
    "align_phase": "periodic",
    "think_time_s": "closed-loop",
    "burst_size": "burst",
    "burst_interval_s": "burst",
}
_REQUIRED_HINT = {
    "rate_per_s": "(new connections/s of the whole group), e.g. rate_per_s = 100",
    "period_s": "(each client's ticker period), e.g. period_s = 60",
    "burst_size": "(connections the group opens per burst), e.g. burst_size = 50",
    "burst_interval_s": "(seconds between bursts), e.g. burst_interval_s = 10",
}
_PROTOCOL_FIELDS: dict[str, Literal["tcp", "udp"]] = {
    "hold_s": "tcp",  # a UDP lookup's socket lives until its answers arrive
    "requests_per_connection": "tcp",
    "close": "tcp",
    "connect_timeout_s": "tcp",
    "retry_timeout_s": "udp",
    "attempts": "udp",
}


def field_condition(name: str) -> str | None:
    """When a workload field applies, e.g. ``'arrival = "periodic"'``; None if it always applies."""
    if name in _ARRIVAL_FIELDS:
        return f'arrival = "{_ARRIVAL_FIELDS[name]}"'
    if name in _PROTOCOL_FIELDS:
        return f'protocol = "{_PROTOCOL_FIELDS[name]}"'
    return None


def _check_applies(
    name: str, value: Any, default: Any, chooser: str, chosen: Any, wanted: str
) -> None:
    """Raise if ``name`` is set (to a non-default value) while ``chooser`` selects something else."""
    if chosen is None or chosen == wanted:
        return
    if value is not None and value != default:
        raise ValueError(
            f"only used with {chooser} = {wanted!r} (got {chooser} = {chosen!r}); remove it"
        )


class WorkloadConfig(Section):
    """One ``[[workload]]`` table: a group of clients, how they arrive, and what they connect to."""

    name: str = Field(
        default="workload", min_length=1, json_schema_extra={"shown_default": "workload-<index>"},
        description="unique name used in the output; absent: workload-<index>"
    )
    pods: int = Field(
        ge=1, le=MAX_PODS, description="pods in the group (each pod has its own IP and netns)"
    )
    clients_per_pod: int = Field(
        default=1, ge=1, le=MAX_CLIENTS, description="concurrent client processes per pod"
    )
    arrival: Arrival = Field(
        description="how the group's connections start; "
        + "; ".join(f"{kind}: {meaning}" for kind, meaning in ARRIVALS.items())
    )
    protocol: Literal["tcp", "udp"] = Field(
        default="tcp",
        description="tcp: connect() with SYN retransmits; udp: DNS-like queries on one socket",
    )
    rate_per_s: float | None = Field(
        default=None, gt=0, validate_default=True, description="poisson: total new connections/s"
    )
    period_s: float | None = Field(
        default=None, gt=0, validate_default=True, description="periodic: per-client ticker period"
    )
    jitter_s: DistributionLike = Field(
        default=Fixed(value=0.0),
        validate_default=True,
        description="periodic: delay added to each tick, drawn per tick (it does not accumulate)",
    )
    align_phase: StrictBool = Field(
        default=False,
        validate_default=True,
        description="periodic: false = clients start at uniformly random phases; true = all "
        "tickers fire together (the cron-job case)",
    )
    think_time_s: DistributionLike = Field(
        default=Fixed(value=0.0),
        validate_default=True,
        description="closed-loop: pause after a connection ends before the client connects again",
    )
    burst_size: int | None = Field(
        default=None,
        ge=1,
        le=MAX_BURST_SIZE,
        validate_default=True,
        description="burst: connections per burst (group)",
    )
    burst_interval_s: float | None = Field(
        default=None, gt=0, validate_default=True, description="burst: seconds between bursts"
    )
    destinations: tuple[Annotated[Destination, BeforeValidator(_bare_address)], ...] = Field(
        min_length=1, description="tables {address = 'ip:port', weight = 1.0} or 'ip:port'"
    )
    hold_s: DistributionLike = Field(
        default=Fixed(value=0.1),
        description="time a connection stays open after it is established, per request",
    )
    close: Literal["fin", "rst"] = Field(
        default="fin",
        validate_default=True,
        description="tcp: fin -> TIME_WAIT (120 s), rst -> CLOSE (10 s)",
    )
    requests_per_connection: int = Field(
        default=1, ge=1, le=MAX_REQUESTS_PER_CONNECTION,
        description="requests sent over one connection, each holding it hold_s; > 1 models "
        "keep-alive reuse",
    )
    connect_timeout_s: float | None = Field(
        default=None, gt=0, validate_default=True, description="tcp: the application's dial timeout"
    )
    source_port: SourcePort = Field(
        default="ephemeral",
        json_schema_extra={"allowed": '"ephemeral" or 1-65535'},
        description="'ephemeral' (kernel's connect() choice) or a fixed bind() port",
    )
    snat: StrictBool = Field(
        default=True,
        description="false: the group's traffic is excluded from masquerade (a null NAT binding, "
        "no port change)"
    )
    retry_timeout_s: float = Field(
        default=5.0,
        gt=0,
        validate_default=True,
        description="udp: resend timeout (glibc resolver: 5 s)",
    )
    attempts: int = Field(
        default=2,
        ge=1,
        le=MAX_RESOLVER_ATTEMPTS,
        validate_default=True,
        description="udp: tries in all (glibc resolver: 2)",
    )

    @field_validator(*_ARRIVAL_FIELDS)
    @classmethod
    def _arrival_fields(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name
        assert name is not None
        wanted = _ARRIVAL_FIELDS[name]
        arrival = info.data.get("arrival")
        if arrival == wanted and value is None:
            raise ValueError(
                f"required with arrival = {wanted!r}; add {name} {_REQUIRED_HINT[name]}"
            )
        default = cls.model_fields[name].default
        _check_applies(name, value, default, "arrival", arrival, wanted)
        return value

    @field_validator(*_PROTOCOL_FIELDS)
    @classmethod
    def _protocol_fields(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name
        assert name is not None
        default = cls.model_fields[name].default
        protocol = info.data.get("protocol")
        _check_applies(name, value, default, "protocol", protocol, _PROTOCOL_FIELDS[name])
        return value

    @property
    def clients(self) -> int:
        """Number of clients in the group: ``pods * clients_per_pod``."""
        return self.pods * self.clients_per_pod

    def mean_rate_per_s(self) -> float | None:
        """Long-run new-connection rate of the group, where it is known without simulating.

        poisson: ``rate_per_s``; periodic: ``clients / period_s``; burst:
        ``burst_size / burst_interval_s``; closed-loop: ``None`` (depends on connect latency).
        Connections, not requests: each carries ``requests_per_connection`` requests.
        """
        if self.arrival == "poisson":
            return self.rate_per_s
        if self.arrival == "periodic":
            assert self.period_s is not None
            return self.clients / self.period_s
        if self.arrival == "burst":
            assert self.burst_size is not None and self.burst_interval_s is not None
            return self.burst_size / self.burst_interval_s
        return None

    def destination_probabilities(self) -> tuple[float, ...]:
        """Each destination's share of connections (weights normalised to sum to 1)."""
        total = sum(d.weight for d in self.destinations)
        return tuple(d.weight / total for d in self.destinations)


# ------------------------------------------------------------------ schema walking (for messages)
def unwrap_type(tp: Any) -> Any:
    """Strip Annotated and Optional; return the core type."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        if get_origin(tp) in (Union, UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp


def _tags(tp: Any) -> dict[str, type[BaseModel]]:
    """Tag -> model for a discriminated union of distributions (empty for anything else)."""
    if get_origin(tp) not in (Union, UnionType):
        return {}
    found: dict[str, type[BaseModel]] = {}
    for member in get_args(tp):
        field = getattr(member, "model_fields", {}).get("distribution")
        if field is not None:
            found[field.default] = member
    return found


def walk_schema(
    root: type[BaseModel], loc: Sequence[str | int]
) -> tuple[tuple[str | int, ...], Any]:
    """Follow a pydantic error location (or an override path) through the schema from ``root``.

    Returns the location without union tags and the type found at its end (None if unknown).
    """
    tp: Any = root
    clean: list[str | int] = []
    for part in loc:
        tp = unwrap_type(tp)
        tags = _tags(tp)
        if isinstance(part, str) and part in tags:
            tp = tags[part]
            continue
        clean.append(part)
        if isinstance(part, int) and get_origin(tp) in (list, tuple):
            tp = get_args(tp)[0]
        elif isinstance(tp, type) and issubclass(tp, BaseModel) and part in tp.model_fields:
            tp = tp.model_fields[str(part)].annotation
        else:
            tp = None
    return tuple(clean), tp


def is_string_field(tp: Any) -> bool:
    """True for a ``str`` field or a Literal of strings (an override keeps its text for these)."""
    tp = unwrap_type(tp)
    if tp is str:
        return True
    return get_origin(tp) is Literal and all(isinstance(a, str) for a in get_args(tp))


def show_value(value: Any) -> str:
    """A bad value as TOML would show it (``true``, ``"text"``, ``3``), cut at 60 characters."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
