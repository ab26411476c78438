"""snatsim.analytic.preservation: kept / changed / contested, against the kernel enumerated."""

from __future__ import annotations

import itertools
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from conftest import NODE_IP, ScriptedDraws, occupy, tcp

from snatsim.analytic.preservation import (
    pod_port_choices,
    preservation_odds,
    same_port_probability,
)
from snatsim.kernel.client_port import ConnectPortChooser
from snatsim.kernel.confirm import ConfirmOutcome, confirm
from snatsim.kernel.conntrack import ConntrackTable, Entry
from snatsim.kernel.eras import ClientEra, ConfirmEra, NatEra
from snatsim.kernel.nat import NatOutcome, NatRange, SnatAllocator
from snatsim.rng import Draws

RANGE = (40000, 40011)  # a 12-port ip_local_port_range: 6 even ports on P1+
DST = ("203.0.113.10", 443)


def _first_ports(era: ClientEra) -> Counter[int]:
    """The pod's connect() port for every value of the P0/P1 global hint over one cycle.

    An empty pod: each successful choose() moves the hint by one step (spec §8), so successive
    calls walk every start offset once."""
    chooser = ConnectPortChooser(era, secret=12345, lo=RANGE[0], hi=RANGE[1])
    step = 1 if era <= ClientEra.P0 else 2
    n = RANGE[1] + 1 - RANGE[0]
    draws = Draws(np.random.default_rng(0))
    return Counter(chooser.choose("10.244.0.7", *DST, 0.0, lambda _p: False, draws)
                   for _ in range(n // step))


@pytest.mark.parametrize("era", [ClientEra.P0, ClientEra.P1])
def test_pod_port_law_is_uniform_over_the_choices(era: ClientEra) -> None:
    law = _first_ports(era)
    assert len(law) == pod_port_choices(era, RANGE) and set(law.values()) == {1}
    assert all(p % 2 == 0 for p in law) or era <= ClientEra.P0


def test_default_ranges_match_spec_section_8() -> None:
    """1/14,116 for two pods on 4.2+ (spec §8); P0: 28,233 ports."""
    assert pod_port_choices(ClientEra.P3) == 14116
    assert same_port_probability(ClientEra.P1) == 1 / 14116
    assert pod_port_choices(ClientEra.P0) == 28233


def _nat(era: NatEra) -> SnatAllocator:
    return SnatAllocator(era, NatRange(ips=(NODE_IP,)))


def _setup(nat: SnatAllocator, table: ConntrackTable, pod: int, port: int) -> Entry:
    ct = Entry(tcp(f"10.244.1.{pod}", port))
    nat.setup(ct, table, 0.0, ScriptedDraws([12345] * 5))  # a search lands far from the range
    return ct


@pytest.mark.parametrize("nat_era", [NatEra.A1, NatEra.A2, NatEra.A4])
@pytest.mark.parametrize("held", [0, 2, 5])
def test_kept_changed_contested_equal_kernel_enumeration(nat_era: NatEra, held: int) -> None:
    """Every held placement, every pod port of X and Y (the P1 chooser's law), both confirm
    orders: the kernel's outcome counts equal the closed form exactly (1e-12)."""
    ports = sorted(_first_ports(ClientEra.P1))
    choices = len(ports)
    counts: Counter[str] = Counter()
    total = 0
    for placed in itertools.combinations(ports, held):
        for px, py in itertools.product(ports, repeat=2):
            for x_first in (True, False):
                table = ConntrackTable()
                for i, p in enumerate(placed):
                    occupy(table, p, pod_ip=f"10.244.2.{i}", pod_port=p)
                nat = _nat(nat_era)
                x = _setup(nat, table, 1, px)
                y = _setup(nat, table, 2, py)
                x_kept = x.nat_tuple.src_port == px
                order = (x, y) if x_first else (y, x)
                result = {id(ct): confirm(table, ct, 1e-6, ConfirmEra.C3) for ct in order}
                total += 1
                if not x_kept:
                    counts["changed"] += 1
                elif y.nat_tuple.src_port == px:
                    counts["contested"] += 1
                    counts["dropped"] += result[id(x)] is ConfirmOutcome.DROPPED
                else:
                    counts["kept"] += 1
    odds = preservation_odds(choices, held, overlap=1)
    for key in ("kept", "changed", "contested", "dropped"):
        assert getattr(odds, key) == pytest.approx(float(Fraction(counts[key], total)),
                                                   rel=1e-12, abs=1e-15), key


def test_sequential_flow_sees_the_first_confirmed() -> None:
    """No overlap: the same port is changed, never dropped (spec §16.6)."""
    table = ConntrackTable()
    nat = _nat(NatEra.A2)
    first = _setup(nat, table, 1, 40000)
    assert confirm(table, first, 0.0, ConfirmEra.C3) is ConfirmOutcome.INSERTED
    second = Entry(tcp("10.244.1.2", 40000))
    assert nat.setup(second, table, 1.0, ScriptedDraws([7])).outcome is NatOutcome.SEARCHED
    odds = preservation_odds(6, held=1, overlap=0)
    assert (odds.changed, odds.contested, odds.dropped) == (1 / 6, 0.0, 0.0)


def test_random_flags_never_preserve() -> None:
    assert preservation_odds(14116, 10, 3, preserve=False).changed == 1.0


def test_two_pods_at_default_range() -> None:
    """Overlapping pair, nothing held: contested with p = 1/14,116, each side dropped half."""
    odds = preservation_odds(14116, overlap=1)
    assert odds.contested == pytest.approx(1 / 14116, rel=1e-12)
    assert odds.dropped == pytest.approx(0.5 / 14116, rel=1e-12)
