"""Distributions for time-like workload parameters (hold time, think time, RTT, jitter, δ).

Every such parameter accepts a bare number (meaning :class:`Fixed`) or a TOML table selected by its
``distribution`` key::

    hold_s = 0.2
    hold_s = {distribution = "fixed", value = 0.2}
    hold_s = {distribution = "exponential", mean = 0.2}
    hold_s = {distribution = "uniform", low = 0.1, high = 0.3}
    hold_s = {distribution = "lognormal", mean = 0.2, sigma = 0.8}

Each model knows its exact ``mean`` and ``variance`` (Ciw style) so tests compare samples to theory.
Values are times, so every distribution is supported on [0, inf).

Random-number order: ``sample(rng, n)`` makes exactly one vectorized numpy call
(``rng.exponential``, ``rng.uniform`` or ``rng.lognormal``); :class:`Fixed` draws nothing.
``sampler(rng, block)`` hands out the values of successive ``sample(rng, block)`` calls in order.
numpy draws these element by element, so the first ``n`` values of a sampler equal
``sample(rng, n)`` on an identically seeded Generator, whatever ``block`` is (tested).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, TypeAlias, Union, get_args, get_origin

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "Distribution",
    "DistributionLike",
    "Exponential",
    "Fixed",
    "Lognormal",
    "Uniform",
    "as_distribution",
    "number_not_text",
]


def _is_number_type(annotation: Any) -> bool:
    """True for ``int``, ``float`` and their Optional forms."""
    if get_origin(annotation) in (Union, UnionType):
        members = [a for a in get_args(annotation) if a is not NoneType]
        return bool(members) and all(m in (int, float) for m in members)
    return annotation in (int, float)


def number_not_text(model: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
    """Refuse a boolean or a string given for a number field of ``model``.

    pydantic's lax mode would read ``pods = true`` as 1 and ``duration_s = "600"`` as 600; a config
    that says ``true`` or quotes a number is a mistake worth naming.
    """
    field = model.model_fields.get(str(info.field_name))
    if field is None or not _is_number_type(field.annotation):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    if isinstance(value, str):
        raise ValueError("expected a number, not text; write it without quotes")
    return value


def _num(x: float) -> str:
    return f"{x:g}"


class _Base(BaseModel):
    """Shared behaviour: vectorized ``sample`` and the buffered scalar ``sampler``."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @field_validator("value", "mean", "low", "high", "sigma", mode="before", check_fields=False)
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        return number_not_text(cls, value, info)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Return ``size`` independent draws as a float64 array (one numpy call, see module doc)."""
        raise NotImplementedError

    def sampler(
        self, rng: np.random.Generator, block: int = 1024, *, scale: float = 1.0
    ) -> Callable[[], float]:
        """Return a zero-argument function giving one draw per call (times ``scale``).

        Values come from pre-drawn blocks of ``sample(rng, block)``, refilled when used up, so the
        sequence is a deterministic function of ``rng`` and equals ``sample(rng, n)`` (module doc).
        ``scale`` converts units (e.g. 1e-6 for µs -> s) as ``value * scale`` would.
        """
        if block < 1:
            raise ValueError(f"block must be >= 1, got {block}")
        buf: list[float] = []
        i = block  # every refill holds exactly ``block`` values; start "used up"

        def draw() -> float:
            nonlocal buf, i
            if i >= block:
                values = self.sample(rng, block)
                buf = (values * scale if scale != 1.0 else values).tolist()
                i = 0
            value = buf[i]
            i += 1
            return value

        return draw

    def describe(self) -> str:
        """Short human-readable form, e.g. ``lognormal(mean=1, sigma=0.5)``."""
        raise NotImplementedError


class Fixed(_Base):
    """A constant; a bare number in a config means this. Draws no random numbers."""

    distribution: Literal["fixed"] = "fixed"
    value: float = Field(ge=0, description="the constant value")

    @property
    def mean(self) -> float:
        """Exact mean (the value)."""
        return self.value

    @property
    def variance(self) -> float:
        """Exact variance (0)."""
        return 0.0

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Return ``size`` copies of the value; ``rng`` is not used."""
        return np.full(size, self.value, dtype=np.float64)

    def sampler(
        self, rng: np.random.Generator, block: int = 1024, *, scale: float = 1.0
    ) -> Callable[[], float]:
        """Return a function that always gives the value times ``scale`` (no draws)."""
        value = self.value * scale
        return lambda: value

    def describe(self) -> str:
        """E.g. ``fixed(2)``."""
        return f"fixed({_num(self.value)})"


class Exponential(_Base):
    """Exponential with the given mean (``rng.exponential(mean)``)."""

    distribution: Literal["exponential"] = "exponential"
    mean: float = Field(gt=0, description="mean (= standard deviation)")

    @property
    def variance(self) -> float:
        """Exact variance, ``mean**2``."""
        return self.mean**2

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """One ``rng.exponential(mean, size)`` call."""
        return rng.exponential(self.mean, size)

    def describe(self) -> str:
        """E.g. ``exponential(mean=1)``."""
        return f"exponential(mean={_num(self.mean)})"


class Uniform(_Base):
    """Uniform on [low, high) (``rng.uniform(low, high)``); ``low == high`` is a constant."""

    distribution: Literal["uniform"] = "uniform"
    low: float = Field(ge=0, description="lower bound")
    high: float = Field(ge=0, description="upper bound, >= low")

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.low > self.high:
            raise ValueError(
                f"low ({_num(self.low)}) must not exceed high ({_num(self.high)}); swap them"
            )
        return self

    @property
    def mean(self) -> float:
        """Exact mean, ``(low + high) / 2``."""
        return (self.low + self.high) / 2

    @property
    def variance(self) -> float:
        """Exact variance, ``(high - low)**2 / 12``."""
        return (self.high - self.low) ** 2 / 12

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """One ``rng.uniform(low, high, size)`` call."""
        return rng.uniform(self.low, self.high, size)

    def describe(self) -> str:
        """E.g. ``uniform(low=0, high=1)``."""
        return f"uniform(low={_num(self.low)}, high={_num(self.high)})"


class Lognormal(_Base):
    """Lognormal given by its arithmetic ``mean`` and ``sigma``, the standard deviation of log(X).

    The underlying normal has ``mu = ln(mean) - sigma**2 / 2``, so E[X] is exactly ``mean``.
    """

    distribution: Literal["lognormal"] = "lognormal"
    mean: float = Field(gt=0, description="arithmetic mean of X (not of log X)")
    sigma: float = Field(ge=0, description="standard deviation of log(X)")

    @property
    def mu(self) -> float:
        """Mean of log(X): ``ln(mean) - sigma**2 / 2``."""
        return math.log(self.mean) - self.sigma**2 / 2

    @property
    def variance(self) -> float:
        """Exact variance, ``(exp(sigma**2) - 1) * mean**2``."""
        return math.expm1(self.sigma**2) * self.mean**2

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """One ``rng.lognormal(mu, sigma, size)`` call."""
        return rng.lognormal(self.mu, self.sigma, size)

    def describe(self) -> str:
        """E.g. ``lognormal(mean=1, sigma=0.5)``."""
        return f"lognormal(mean={_num(self.mean)}, sigma={_num(self.sigma)})"


Distribution: TypeAlias = Fixed | Exponential | Uniform | Lognormal


def _number_means_fixed(value: Any) -> Any:
    """Turn a bare int/float (not a bool) into a ``fixed`` table; leave everything else alone."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"distribution": "fixed", "value": value}
    if isinstance(value, _Base):
        return value
    if not isinstance(value, dict):
        raise ValueError(f"expected a number or a distribution table; {_HINT}")
    if "distribution" not in value:
        raise ValueError(f"the table needs a 'distribution' key; {_HINT}")
    if value["distribution"] not in _KINDS:
        raise ValueError(
            f"unknown distribution {value['distribution']!r}; use one of {', '.join(_KINDS)}"
        )
    return value


_KINDS = ("fixed", "exponential", "uniform", "lognormal")


_HINT = (
    'write e.g. 0.2, {distribution = "exponential", mean = 0.2} or '
    '{distribution = "lognormal", mean = 0.2, sigma = 0.8} '
    f"(distributions: {', '.join(_KINDS)})"
)


DistributionLike: TypeAlias = Annotated[
    Distribution,
    Field(discriminator="distribution"),
    BeforeValidator(_number_means_fixed),
]
"""Field type for a time-like parameter: a number (fixed) or a distribution table."""


@cache
def _adapter() -> TypeAdapter[Distribution]:
    return TypeAdapter(DistributionLike)


def as_distribution(value: Any) -> Distribution:
    """Validate ``value`` (number, table or model) as a distribution; raises pydantic ValidationError."""
    return _adapter().validate_python(value)
