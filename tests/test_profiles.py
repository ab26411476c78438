"""Kernel version -> eras (spec §2.1–§2.5)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snatsim.errors import ConfigError, KernelVersionError
from snatsim.kernel.eras import ClientEra, ConfirmEra, NatEra, SynEra
from snatsim.kernel.profiles import (
    ERA_FIELDS,
    PROFILES,
    KernelProfile,
    parse_version,
    resolve_profile,
    version_warnings,
)

# spec §2.5, row by row: version -> (NAT, confirm, client, SYN)
TABLE = {
    "3.10": ("A1", "C0", "P0", "T1"),
    "4.4": ("A1", "C0", "P1", "T1"),
    "4.9": ("A1", "C1", "P1", "T1"),
    "4.14": ("A1", "C1", "P1", "T1"),
    "4.19": ("A1", "C2", "P1", "T1"),
    "4.19.228": ("A2", "C2", "P1", "T1"),
    "4.14.265": ("A2", "C2", "P1", "T1"),
    "5.4": ("A2", "C2", "P1", "T1"),
    "5.10": ("A2", "C3", "P1", "T1"),
    "5.15": ("A2", "C4", "P2", "T1"),
    "6.1": ("A2", "C4", "P3", "T1"),
    "6.6": ("A3", "C4", "P4", "T2"),
    "6.12": ("A4", "C5", "P4", "T2"),
    "6.18": ("A4", "C5", "P4", "T2"),
}


def eras(p: KernelProfile) -> tuple[str, str, str, str]:
    return (str(p.nat_era), str(p.confirm_era), str(p.client_era), str(p.syn_era))


def test_named_profiles_follow_the_quick_lookup_table() -> None:
    assert [p.version for p in PROFILES] == list(TABLE)
    for p in PROFILES:
        assert eras(p) == TABLE[p.version]
        assert p.note and len(p.note) <= 80
        assert resolve_profile(p.version) == p


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("3.0", ("A1", "C0", "P0", "T0")),
        ("3.2", ("A1", "C0", "P0", "T0'")),
        ("3.6", ("A1", "C0", "P0", "T0'")),
        ("3.7", ("A1", "C0", "P0", "T1")),
        ("4.1", ("A1", "C0", "P0", "T1")),
        ("4.2", ("A1", "C0", "P1", "T1")),
        ("4.7", ("A1", "C0", "P1", "T1")),
        ("4.8", ("A1", "C1", "P1", "T1")),
        ("4.9.299", ("A1", "C1", "P1", "T1")),
        ("4.9.300", ("A2", "C1", "P1", "T1")),
        ("4.14.264", ("A1", "C1", "P1", "T1")),
        ("4.14.290", ("A2", "C2", "P1", "T1")),
        ("4.18", ("A1", "C1", "P1", "T1")),
        ("4.19.227", ("A1", "C2", "P1", "T1")),
        ("4.19.300", ("A2", "C2", "P1", "T1")),
        ("4.20", ("A1", "C2", "P1", "T1")),
        ("5.0", ("A2", "C2", "P1", "T1")),
        ("5.5", ("A2", "C2", "P1", "T1")),
        ("5.6", ("A2", "C3", "P1", "T1")),
        ("5.11", ("A2", "C3", "P1", "T1")),
        ("5.12", ("A2", "C3", "P2", "T1")),
        ("5.14", ("A2", "C3", "P2", "T1")),
        ("5.17", ("A2", "C4", "P2", "T1")),
        ("5.18", ("A2", "C4", "P3", "T1")),
        ("6.2", ("A2", "C4", "P3", "T1")),
        ("6.3", ("A2", "C4", "P4", "T1")),
        ("6.4", ("A2", "C4", "P4", "T1")),
        ("6.5", ("A3", "C4", "P4", "T2")),
        ("6.11", ("A3", "C4", "P4", "T2")),
        ("6.12.40", ("A4", "C5", "P4", "T2")),
        ("6.19", ("A4", "C5", "P4", "T2")),
    ],
)
def test_nearest_rule(version: str, expected: tuple[str, str, str, str]) -> None:
    assert eras(resolve_profile(version)) == expected


@pytest.mark.parametrize(
    ("version", "named"),
    [("5.4.0-generic", "5.4"), ("6.6+", "6.6"), ("5.15.0", "5.15"), (" 6.18 ", "6.18")],
)
def test_suffixes_and_zero_patch_hit_named_profiles(version: str, named: str) -> None:
    p = resolve_profile(version)
    n = resolve_profile(named)
    assert eras(p) == eras(n) and p.note == n.note
    assert p.version == version.strip()


def test_suffix_on_an_unnamed_version() -> None:
    p = resolve_profile("5.15.0-91-generic")
    assert eras(p) == TABLE["5.15"]
    p = resolve_profile("4.19.228-foo")
    assert eras(p) == TABLE["4.19.228"]


@pytest.mark.parametrize(
    "bad", ["six", "6.x", "", "6", "2.6.32", "1.0", "8.0", "8.1.2", "5.25", "６.１", "6.１", "٦.1"]
)
def test_bad_versions(bad: str) -> None:
    with pytest.raises(KernelVersionError) as info:
        resolve_profile(bad)
    err = info.value
    assert isinstance(err, ConfigError)
    assert err.field == "kernel.version"
    assert repr(bad) in str(err)
    assert '"6.1"' in err.message and "snatsim kernels" in err.message  # the fix


def test_overrides_accept_enums_and_names() -> None:
    p = resolve_profile("5.10", nat_era=NatEra.A3, confirm_era="c5", client_era="P3", syn_era="T0'")
    assert (p.nat_era, p.confirm_era, p.client_era, p.syn_era) == (
        NatEra.A3,
        ConfirmEra.C5,
        ClientEra.P3,
        SynEra.T0p,
    )
    assert "overridden" in p.note and "client_era=P3" in p.note
    assert resolve_profile("5.10", client_era="P1") == resolve_profile("5.10")


@pytest.mark.parametrize(
    ("field", "value"),
    [("nat_era", "A9"), ("confirm_era", "A1"), ("client_era", ""), ("syn_era", "T3")],
)
def test_bad_era_names(field: str, value: str) -> None:
    with pytest.raises(KernelVersionError) as info:
        resolve_profile("6.18", **{field: value})
    assert info.value.field == f"kernel.{field}"
    assert repr(value) in str(info.value)


def test_era_of_the_wrong_family_is_refused() -> None:
    with pytest.raises(KernelVersionError, match=r"kernel\.nat_era"):
        resolve_profile("6.18", nat_era=ConfirmEra.C3)  # type: ignore[arg-type]


def test_to_dict() -> None:
    assert resolve_profile("3.2").to_dict() == {
        "version": "3.2",
        "nat_era": "A1",
        "confirm_era": "C0",
        "client_era": "P0",
        "syn_era": "T0'",
        "note": resolve_profile("3.2").note,
    }


_LAST = {3: 19, 4: 20, 5: 19, 6: 40}
mainline = st.integers(3, 6).flatmap(
    lambda major: st.tuples(st.just(major), st.integers(0, _LAST[major]))
)


@given(a=mainline, b=mainline)
def test_eras_never_go_backwards_on_mainline(a: tuple[int, int], b: tuple[int, int]) -> None:
    """Each era family is ordered: a later mainline release is never in an earlier era."""
    lo, hi = sorted([a, b])
    pa = resolve_profile(f"{lo[0]}.{lo[1]}")
    pb = resolve_profile(f"{hi[0]}.{hi[1]}")
    assert pa.nat_era <= pb.nat_era and pa.confirm_era <= pb.confirm_era
    assert pa.client_era <= pb.client_era and pa.syn_era <= pb.syn_era
    assert parse_version(pa.version) <= parse_version(pb.version)


@pytest.mark.parametrize(
    ("version", "texts"),
    [
        ("5.15.0-91-generic", ["resolved as mainline 5.15.0", "A2 C4 P2 T1"]),
        ("4.18.0-513.el8.x86_64", ["resolved as mainline 4.18.0", "A1 C1 P1 T1"]),
        ("6.99", ["newer than 6.18", "6.18 eras (A4 C5 P4 T2)"]),
        ("7.1", ["newer than 6.18"]),
    ],
)
def test_version_warnings_say_how_the_version_was_resolved(version: str, texts: list[str]) -> None:
    (warning,) = version_warnings(version)
    assert all(text in warning for text in texts), warning
    assert "kernel.nat_era, kernel.confirm_era, kernel.client_era, kernel.syn_era" in warning
    assert resolve_profile(version).nat_era == resolve_profile(version.split("-")[0]).nat_era


def test_version_warnings_name_only_the_eras_left_to_the_version() -> None:
    assert version_warnings("6.1") == version_warnings("5.4.0") == []
    (partial,) = version_warnings("6.99", overridden=["nat_era", "syn_era"])
    assert "kernel.confirm_era, kernel.client_era" in partial and "kernel.nat_era" not in partial
    assert version_warnings("5.15.0-91-generic", overridden=ERA_FIELDS) == []
