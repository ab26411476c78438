"""Kernel version -> behaviour eras (spec §2.1–§2.5).

:data:`PROFILES` holds the named versions of the quick-lookup table (spec §2.5). Any other mainline
version ``X.Y`` or ``X.Y.Z`` (a suffix such as ``-generic`` or ``+`` is ignored) resolves by the
*nearest rule*: each era family's version boundaries from spec §2.1–§2.4, plus the stable backports
the spec names. Vendor kernels backport features, so for them pass era overrides instead of trusting
the number (spec, introduction).

Nearest rule, per family:

* NAT (spec §2.1): A1 up to 4.20, except the Feb-2022 stable backports 4.9.300+ [U], 4.14.265+ and
  4.19.228+ which are A2; A2 5.0–6.4; A3 6.5–6.11; A4 6.12+.
* Confirm (spec §2.2): C0 ≤ 4.7; C1 4.8–4.18; C2 4.19–5.5; C3 5.6–5.14; C4 5.15–6.11; C5 6.12+.
  4.14.265+ is C2, because spec §2.5 lists 4.14.265 as C2 (4.14.y picked up the C2 UDP merge in early
  2020; the exact 4.14.y is not known, so the rule only applies it from the listed 4.14.265).
* Client (spec §2.3): P0 ≤ 4.1; P1 4.2–5.11; P2 5.12–5.17; P3 5.18–6.2; P4 6.3+. The May-2022 P3
  stable backports to 4.19.y/5.4.y/5.10.y/5.15.y are *not* applied (their exact patch versions are
  not in the spec): pass ``client_era="P3"`` for such kernels.
* SYN (spec §2.4): T0 < 3.1; T0' 3.1–3.6; T1 3.7–6.4; T2 6.5+.

Where spec §2.5 lists several eras for one kernel ("C3+C4+C5"), the profile carries the newest one:
the eras of a family are cumulative (see :mod:`snatsim.kernel.eras`). Where it lists a stable-series
change ("P1→P3 (stable)"), the profile is the mainline release and the note says how to override.
Versions 6.19–7.x (newer than the spec) resolve to the 6.18 eras, with a warning
(:func:`version_warnings`); 3.0 is the oldest and 8.0+ is refused, as are digits that are not ASCII
(``"６.１"``). A distribution string (``"5.15.0-91-generic"``, ``"4.18.0-513.el8.x86_64"``) resolves
as the mainline version it starts with, also with a warning: vendors backport, so set the eras.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from snatsim.errors import KernelVersionError
from snatsim.kernel.eras import ClientEra, ConfirmEra, NatEra, SynEra, _Era

__all__ = [
    "ERA_FIELDS",
    "PROFILES",
    "KernelProfile",
    "parse_version",
    "resolve_profile",
    "version_warnings",
]

Version = tuple[int, int, int]

# Highest minor release of each finished major series (a guard against typos such as "5.25").
_LAST_MINOR = {3: 19, 4: 20, 5: 19}
_OLDEST: Version = (3, 0, 0)
_NEWEST_MAJOR = 7  # 8.0 and later are refused; the spec covers kernels up to 6.18

_VERSION_RE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?([-+~_].*)?$", re.ASCII)


@dataclass(frozen=True)
class KernelProfile:
    """The behaviour eras of one kernel version (spec §2.5).

    Attributes
    ----------
    version:
        The version string as given (``"6.18"``, ``"5.4.0-generic"``).
    nat_era, confirm_era, client_era, syn_era:
        The era of each behaviour family (spec §2.1–§2.4).
    note:
        One short line on what the version is known for, or how it was resolved.
    """

    version: str
    nat_era: NatEra
    confirm_era: ConfirmEra
    client_era: ClientEra
    syn_era: SynEra
    note: str

    def to_dict(self) -> dict[str, str]:
        """Plain-JSON form; eras as the spec's names (``"A3"``, ``"T0'"``)."""
        return {
            "version": self.version,
            "nat_era": str(self.nat_era),
            "confirm_era": str(self.confirm_era),
            "client_era": str(self.client_era),
            "syn_era": str(self.syn_era),
            "note": self.note,
        }


def _p(version: str, nat: str, confirm: str, client: str, syn: str, note: str) -> KernelProfile:
    return KernelProfile(
        version,
        NatEra[nat],
        ConfirmEra[confirm],
        ClientEra[client],
        SynEra[syn],
        note,
    )


# spec §2.5, row by row (mainline numbering).
PROFILES: tuple[KernelProfile, ...] = (
    _p("3.10", "A1", "C0", "P0", "T1", "global sequential rover; every UDP clash drops"),
    _p("4.4", "A1", "C0", "P1", "T1", "global rover; even client ports first"),
    _p("4.9", "A1", "C1", "P1", "T1", "global sequential rover; XING-era Docker hosts"),
    _p("4.14", "A1", "C1", "P1", "T1", "early 4.14.y: rover, UDP merge only without NAT"),
    _p("4.19", "A1", "C2", "P1", "T1", "4.19.0-4.19.227: rover; identical UDP entries merge"),
    _p("4.19.228", "A2", "C2", "P1", "T1", "Feb-2022 backport: random offset, <= 248 probes"),
    _p("4.14.265", "A2", "C2", "P1", "T1", "Feb-2022 backport: random offset, <= 248 probes"),
    _p("5.4", "A2", "C2", "P1", "T1", "random offset, 248-probe cap; later 5.4.y has P3"),
    _p("5.10", "A2", "C3", "P1", "T1", "UDP loser inserted reply-only; later 5.10.y has P3"),
    _p("5.15", "A2", "C4", "P2", "T1", "chain-length limit; 256-entry perturb table (later P3)"),
    _p("6.1", "A2", "C4", "P3", "T1", "65,536-entry perturb table, secret re-mixed every 10 s"),
    _p("6.6", "A3", "C4", "P4", "T2", "TIME_WAIT/CLOSE eviction; linear SYN backoff"),
    _p("6.12", "A4", "C5", "P4", "T2", "reverse-clash aware; exact-reverse UDP entries merge"),
    _p("6.18", "A4", "C5", "P4", "T2", "newest era of every table (docs/kernel.md §1)"),
)

ERA_FIELDS = ("nat_era", "confirm_era", "client_era", "syn_era")


def _version_error(value: object, why: str) -> KernelVersionError:
    return KernelVersionError(
        "kernel.version",
        f"{value!r} {why}; give a version X.Y or X.Y.Z from 3.0 to 7.x in ASCII digits, e.g. "
        '"6.1" or "5.15.0-91-generic" (`snatsim kernels` lists the named profiles)',
    )


def parse_version(version: str) -> Version:
    """Parse ``"X.Y"`` / ``"X.Y.Z"`` (suffix ignored) into ``(X, Y, Z)``; spec §2.5 scope checks.

    Raises
    ------
    KernelVersionError
        On a malformed string (digits must be ASCII), a minor release that does not exist
        (``"5.25"``), a version below 3.0, or 8.0 and later. The field is ``kernel.version``.
    """
    if not isinstance(version, str):
        raise _version_error(version, "is not a version string")
    match = _VERSION_RE.match(version.strip())
    if match is None:
        raise _version_error(version, "is not a kernel version")
    major, minor = int(match.group(1)), int(match.group(2))
    patch = int(match.group(3)) if match.group(3) is not None else 0
    parsed = (major, minor, patch)
    if parsed < _OLDEST:
        raise _version_error(version, "is older than 3.0, the oldest kernel docs/kernel.md covers")
    if major > _NEWEST_MAJOR:
        raise _version_error(version, "is not a Linux release (the newest known is 6.18)")
    last = _LAST_MINOR.get(major)
    if last is not None and minor > last:
        why = f"does not exist (the {major}.x series ends at {major}.{last})"
        raise _version_error(version, why)
    return parsed


def _nat_era(v: Version) -> NatEra:
    """Spec §2.1, with the Feb-2022 stable backports (4.9.300 is [U] in the spec)."""
    if v < (5, 0, 0):
        backport = {(4, 9): 300, (4, 14): 265, (4, 19): 228}.get(v[:2])
        return NatEra.A2 if backport is not None and v[2] >= backport else NatEra.A1
    if v < (6, 5, 0):
        return NatEra.A2
    return NatEra.A3 if v < (6, 12, 0) else NatEra.A4


def _confirm_era(v: Version) -> ConfirmEra:
    """Spec §2.2; 4.14.265+ is C2 as listed in spec §2.5."""
    if v[:2] == (4, 14) and v[2] >= 265:
        return ConfirmEra.C2
    for bound, era in (
        ((4, 8, 0), ConfirmEra.C0),
        ((4, 19, 0), ConfirmEra.C1),
        ((5, 6, 0), ConfirmEra.C2),
        ((5, 15, 0), ConfirmEra.C3),
        ((6, 12, 0), ConfirmEra.C4),
    ):
        if v < bound:
            return era
    return ConfirmEra.C5


def _client_era(v: Version) -> ClientEra:
    """Spec §2.3 (mainline; stable P3 backports not applied)."""
    for bound, era in (
        ((4, 2, 0), ClientEra.P0),
        ((5, 12, 0), ClientEra.P1),
        ((5, 18, 0), ClientEra.P2),
        ((6, 3, 0), ClientEra.P3),
    ):
        if v < bound:
            return era
    return ClientEra.P4


def _syn_era(v: Version) -> SynEra:
    """Spec §2.4."""
    if v < (3, 1, 0):
        return SynEra.T0
    if v < (3, 7, 0):
        return SynEra.T0p
    return SynEra.T1 if v < (6, 5, 0) else SynEra.T2


_NAMED: dict[Version, KernelProfile] = {parse_version(p.version): p for p in PROFILES}

E = TypeVar("E", bound=_Era)

_FAMILY_LABEL = {
    "NatEra": "NAT allocator era (docs/kernel.md §2.1, §2.6)",
    "ConfirmEra": "confirm era (docs/kernel.md §2.2, §2.6)",
    "ClientEra": "client port era (docs/kernel.md §2.3, §2.6)",
    "SynEra": "SYN schedule era (docs/kernel.md §2.4, §2.6)",
}


def _era(value: E | str | None, family: type[E], field: str, default: E) -> E:
    """An era override: an enum member of ``family`` or its spec name (``"A3"``, ``"T0'"``)."""
    if value is None:
        return default
    if isinstance(value, family):
        return value
    if isinstance(value, str):
        try:
            parsed = family.parse(value)
        except ValueError:
            pass
        else:
            if isinstance(parsed, family):
                return parsed
    valid = ", ".join(str(m) for m in family)
    label = _FAMILY_LABEL.get(family.__name__, family.__name__)
    raise KernelVersionError(f"kernel.{field}", f"{value!r} is not a {label}; use one of {valid}")


def resolve_profile(
    version: str,
    *,
    nat_era: NatEra | str | None = None,
    confirm_era: ConfirmEra | str | None = None,
    client_era: ClientEra | str | None = None,
    syn_era: SynEra | str | None = None,
) -> KernelProfile:
    """The eras of ``version``: a named profile (spec §2.5) or the nearest rule (spec §2.1–§2.4).

    Parameters
    ----------
    version:
        ``"X.Y"`` or ``"X.Y.Z"``, optionally with a suffix (``"5.15.0-91-generic"``, ``"6.6+"``).
        ``X.Y.0`` is the same as ``X.Y``.
    nat_era, confirm_era, client_era, syn_era:
        Overrides (an era or its spec name) that replace the era the version implies, for vendor
        kernels with backports.

    Raises
    ------
    KernelVersionError
        For a bad version (field ``kernel.version``) or era name (``kernel.nat_era`` …).
    """
    parsed = parse_version(version)
    named = _NAMED.get(parsed)
    if named is not None:
        base = named
    else:
        nearest = max((v for v in _NAMED if v <= parsed), default=min(_NAMED))
        if parsed > max(_NAMED):
            note = "newer than 6.18, the newest kernel in docs/kernel.md: 6.18 eras assumed"
        else:
            closest = _NAMED[nearest].version
            note = f"by the nearest rule (docs/kernel.md §2.1–§2.4); closest named profile {closest}"
        base = KernelProfile(
            version,
            _nat_era(parsed),
            _confirm_era(parsed),
            _client_era(parsed),
            _syn_era(parsed),
            note,
        )
    profile = KernelProfile(
        version.strip(),
        _era(nat_era, NatEra, "nat_era", base.nat_era),
        _era(confirm_era, ConfirmEra, "confirm_era", base.confirm_era),
        _era(client_era, ClientEra, "client_era", base.client_era),
        _era(syn_era, SynEra, "syn_era", base.syn_era),
        base.note,
    )
    changed = [
        f"{name}={new}"
        for name, old, new in (
            ("nat_era", base.nat_era, profile.nat_era),
            ("confirm_era", base.confirm_era, profile.confirm_era),
            ("client_era", base.client_era, profile.client_era),
            ("syn_era", base.syn_era, profile.syn_era),
        )
        if new != old
    ]
    if changed:
        profile = KernelProfile(
            profile.version,
            profile.nat_era,
            profile.confirm_era,
            profile.client_era,
            profile.syn_era,
            f"{base.note}; overridden: {', '.join(changed)}",
        )
    return profile


def version_warnings(version: str, *, overridden: Iterable[str] = ()) -> list[str]:
    """What a user should know about how ``version`` was resolved (empty for a plain mainline one).

    A distribution string is resolved as the mainline version it starts with; a version newer than
    the newest profile gets that profile's eras. ``overridden`` names the era fields the user set
    (``"nat_era"`` …); when all four are set the version decides nothing and nothing is said.
    """
    rest = [f"kernel.{name}" for name in ERA_FIELDS if name not in set(overridden)]
    if not rest:
        return []
    match = _VERSION_RE.match(version.strip())
    parsed = parse_version(version)
    profile = resolve_profile(version)
    eras = " ".join(str(getattr(profile, name)) for name in ERA_FIELDS)
    fix = f"if yours differ, set {', '.join(rest)}"
    mainline = ".".join(str(n) for n in parsed)
    out = []
    if match is not None and match.group(4):
        out.append(
            f"kernel {version.strip()} is resolved as mainline {mainline} (eras {eras}); "
            f"distribution kernels backport changes, so {fix} (snatsim kernels explains the eras)"
        )
    newest = max(_NAMED)
    if parsed > newest:
        known = ".".join(str(n) for n in newest[:2])
        out.append(
            f"kernel {version.strip()} is newer than {known}, the newest kernel snatsim knows: "
            f"the {known} eras ({eras}) are assumed; {fix}"
        )
    return out
