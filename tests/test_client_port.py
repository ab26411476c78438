"""The pod's connect() ephemeral port choice (spec §8, §2.3)."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import pytest

from snatsim.errors import ConfigError, SnatsimError
from snatsim.kernel.client_port import ConnectPortChooser, PortExhaustedError, default_port_range
from snatsim.kernel.eras import ClientEra
from snatsim.rng import Draws, make_rng

LO, HI = 100, 109  # a tiny range: 5 even ports (100..108) and 5 odd ones (101..109)
PARITY_ERAS = (ClientEra.P1, ClientEra.P2, ClientEra.P3, ClientEra.P4)


def free(_port: int) -> bool:
    return False


def scan_order(first: int, lo: int = LO, n: int = HI + 1 - LO) -> list[int]:
    """Spec §8 with step 2: the parity of ``first`` cyclically from it, then the other parity."""
    evens = [lo + (first - lo + k) % n for k in range(0, n, 2)]
    odds = [lo + (first + 1 - lo + k) % n for k in range(0, n, 2)]
    return evens + odds


@pytest.mark.parametrize("era", PARITY_ERAS)
def test_every_used_set_on_a_tiny_range(era: ClientEra) -> None:
    """Exhaustive over all 1,024 used-port sets: first free port in the spec §8 scan order."""
    chooser = ConnectPortChooser(era, secret=11, lo=LO, hi=HI)
    draws = Draws(make_rng(1))
    for k, mask in enumerate(range(1 << 10)):
        used = {LO + b for b in range(10) if mask >> b & 1}
        saddr = f"10.0.{k // 256}.{k % 256}"
        first = chooser.first_probe(saddr, "192.0.2.1", 80, now_s=0.0)
        assert LO <= first <= HI and first % 2 == 0
        if len(used) == 10:
            with pytest.raises(PortExhaustedError):
                chooser.choose(saddr, "192.0.2.1", 80, 0.0, used.__contains__, draws)
            continue
        port = chooser.choose(saddr, "192.0.2.1", 80, 0.0, used.__contains__, draws)
        assert port == next(p for p in scan_order(first) if p not in used)
        evens_free = any(p % 2 == 0 and p not in used for p in range(LO, HI + 1))
        assert (port % 2 == 0) == evens_free  # odd only when every even port is taken


def test_p0_scans_every_port_in_steps_of_one() -> None:
    """P0 approximation: one pass, step 1, no parity split (module docstring, [U])."""
    chooser = ConnectPortChooser(ClientEra.P0, secret=5, lo=LO, hi=HI)
    draws = Draws(make_rng(2))
    for mask in range((1 << 10) - 1):
        used = {LO + b for b in range(10) if mask >> b & 1}
        first = chooser.first_probe("10.0.0.1", "192.0.2.1", 80, now_s=0.0)
        order = [LO + (first - LO + k) % 10 for k in range(10)]
        port = chooser.choose("10.0.0.1", "192.0.2.1", 80, 0.0, used.__contains__, draws)
        assert port == next(p for p in order if p not in used)
    assert default_port_range(ClientEra.P0) == (32768, 61000)
    assert default_port_range(ClientEra.P1) == (32768, 60999)


def test_skips_ports_in_use() -> None:
    chooser = ConnectPortChooser(ClientEra.P3, secret=3)
    first = chooser.first_probe("10.1.0.1", "192.0.2.1", 443, now_s=0.0)
    busy = {first, first + 2 if first + 2 <= 60998 else 32768}
    port = chooser.choose("10.1.0.1", "192.0.2.1", 443, 0.0, busy.__contains__, Draws(make_rng(0)))
    assert port not in busy and port % 2 == 0
    assert port == scan_order(first, 32768, 28232)[2]


@pytest.mark.parametrize("era", list(ClientEra))
def test_exhaustion_raises_eaddrnotavail(era: ClientEra) -> None:
    chooser = ConnectPortChooser(era, secret=9, lo=LO, hi=HI)
    probed: list[int] = []

    def busy(port: int) -> bool:
        probed.append(port)
        return True

    with pytest.raises(PortExhaustedError, match="EADDRNOTAVAIL") as info:
        chooser.choose("10.0.0.1", "192.0.2.1", 53, 0.0, busy, Draws(make_rng(0)))
    assert isinstance(info.value, SnatsimError)
    assert sorted(probed) == list(range(LO, HI + 1))  # every port probed exactly once


def test_p1_hint_advances_by_probes_plus_two() -> None:
    """P1: ``hint += i + 2`` on success (spec §8, [U]); the next start moves with it."""
    chooser = ConnectPortChooser(ClientEra.P1, secret=21)
    draws = Draws(make_rng(0))
    first = chooser.first_probe("10.2.0.1", "192.0.2.7", 80, now_s=0.0)
    busy = set(scan_order(first, 32768, 28232)[:3])  # the first three probes are taken
    port = chooser.choose("10.2.0.1", "192.0.2.7", 80, 0.0, busy.__contains__, draws)
    assert port == scan_order(first, 32768, 28232)[3]
    assert chooser.hint == 3 * 2 + 2  # i = 6 (fourth probe, step 2), plus 2
    nxt = chooser.first_probe("10.2.0.1", "192.0.2.7", 80, now_s=0.0)
    assert (nxt - first) % 28232 == 8


def test_p3_table_entry_advances() -> None:
    """P3: ``TABLE[idx] += max(i, 2 * rand_below(8)) + 2`` (spec §8)."""
    chooser = ConnectPortChooser(ClientEra.P3, secret=21)
    twin = Draws(make_rng(4))
    chooser.choose("10.3.0.1", "192.0.2.9", 80, 0.0, free, Draws(make_rng(4)))
    assert list(chooser.table.values()) == [max(0, 2 * twin.below(8)) + 2]
    first = chooser.first_probe("10.3.0.1", "192.0.2.9", 80, now_s=0.0)
    busy = set(scan_order(first, 32768, 28232)[:5])  # found at i = 8 (fifth probe, step 2)
    before = dict(chooser.table)
    chooser.choose("10.3.0.1", "192.0.2.9", 80, 0.0, busy.__contains__, Draws(make_rng(4)))
    (idx,) = before
    twin = Draws(make_rng(4))
    assert chooser.table[idx] - before[idx] == max(8, 2 * twin.below(8)) + 2


def test_deterministic_given_inputs() -> None:
    def run() -> list[int]:
        chooser = ConnectPortChooser(ClientEra.P3, secret=1234)
        draws = Draws(make_rng(99))
        used: set[int] = set()
        out = []
        for k in range(500):
            port = chooser.choose(
                f"10.4.{k % 7}.1", "192.0.2.1", 80 + k % 3, k * 0.37, used.__contains__, draws
            )
            used.add(port)
            out.append(port)
        return out

    assert run() == run()


def test_p3_start_changes_with_the_10s_bucket() -> None:
    """P3 re-mixes the secret every 10 s (spec §2.3); P1 has no time bucket."""
    dests = [f"192.0.2.{k}" for k in range(1, 51)]
    p3 = ConnectPortChooser(ClientEra.P3, secret=77)
    same_bucket = [p3.first_probe("10.5.0.1", d, 80, now_s=0.0) for d in dests]
    assert same_bucket == [p3.first_probe("10.5.0.1", d, 80, now_s=9.999) for d in dests]
    next_bucket = [p3.first_probe("10.5.0.1", d, 80, now_s=10.0) for d in dests]
    assert sum(a != b for a, b in zip(same_bucket, next_bucket, strict=True)) >= 48

    p1 = ConnectPortChooser(ClientEra.P1, secret=77)
    assert [p1.first_probe("10.5.0.1", d, 80, now_s=0.0) for d in dests] == [
        p1.first_probe("10.5.0.1", d, 80, now_s=55.0) for d in dests
    ]


@pytest.mark.slow
def test_two_pods_collide_with_probability_one_in_14116() -> None:
    """Different pod IPs to one destination pick ~independent uniform even ports (spec §8).

    Each trial has 200 pods connecting to the same dst:dport at the same moment (one shared
    chooser, as on one node); we count colliding pairs. For independent uniform choices the pair
    indicators are pairwise independent, so the count over M pairs is binomial-variance: the
    |est - truth| <= 4 SE check uses SE = sqrt(M p (1 - p)).
    """
    p = 1 / 14116
    pods = [f"10.{k // 250}.{k % 250}.2" for k in range(200)]
    chooser = ConnectPortChooser(ClientEra.P3, secret=0x5EED)
    draws = Draws(make_rng(2024))
    colliding = 0
    pairs = 0
    for trial in range(1000):
        daddr = f"172.16.{trial // 250}.{trial % 250 + 1}"
        ports = [chooser.choose(pod, daddr, 443, trial * 0.5, free, draws) for pod in pods]
        assert all(port % 2 == 0 for port in ports)
        colliding += sum(c * (c - 1) // 2 for c in Counter(ports).values())
        pairs += len(pods) * (len(pods) - 1) // 2
    expected = pairs * p
    se = math.sqrt(pairs * p * (1 - p))
    assert abs(colliding - expected) <= 4 * se, (colliding, expected, se)


def test_per_socket_range_is_p4_only() -> None:
    """IP_LOCAL_PORT_RANGE (6.3+): step 1, no parity split (spec §2.3 P4)."""
    p4 = ConnectPortChooser(ClientEra.P4, secret=1)
    draws = Draws(make_rng(0))
    seen = {
        p4.choose(f"10.6.0.{k}", "192.0.2.1", 80, 0.0, free, draws, socket_range=(40000, 40003))
        for k in range(1, 60)
    }
    assert seen <= {40000, 40001, 40002, 40003} and any(p % 2 for p in seen)
    with pytest.raises(ConfigError, match=r"client\.socket_range"):
        ConnectPortChooser(ClientEra.P3, secret=1).choose(
            "10.6.0.1", "192.0.2.1", 80, 0.0, free, draws, socket_range=(40000, 40003)
        )


@pytest.mark.parametrize(
    ("lo", "hi", "secret"),
    [(0, 10, 1), (200, 100, 1), (1, 70000, 1), (100, 200, -1), (100, 200, 1 << 128)],
)
def test_bad_arguments(lo: int, hi: int, secret: int) -> None:
    with pytest.raises(ConfigError):
        ConnectPortChooser(ClientEra.P3, secret=secret, lo=lo, hi=hi)


def test_odd_sized_range_scans_one_port_fewer() -> None:
    """With an odd port count the kernel's scan covers n - 1 ports (spec §8 ``n &= ~1``)."""
    chooser = ConnectPortChooser(ClientEra.P3, secret=8, lo=100, hi=110)
    probed: list[int] = []

    def busy(port: int) -> bool:
        probed.append(port)
        return True

    with pytest.raises(PortExhaustedError):
        chooser.choose("10.0.0.1", "192.0.2.1", 53, 0.0, busy, Draws(make_rng(0)))
    assert len(probed) == 10 and len(set(probed)) == 10
    assert set(probed) >= {101, 103, 105, 107, 109}


def test_all_eras_accept_default_range() -> None:
    for era, k in itertools.product(ClientEra, range(3)):
        lo, hi = default_port_range(era)
        chooser = ConnectPortChooser(era, secret=k, lo=lo, hi=hi)
        port = chooser.choose("10.7.0.1", "192.0.2.1", 80, 0.0, free, Draws(make_rng(k)))
        assert lo <= port <= hi
