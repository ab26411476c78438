"""Scripted multi-CPU kernel scenarios for the property tests: constants, spec helpers and
Hypothesis strategies (see ``tests/test_kernel_properties.py``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from conftest import DST, NODE_IP
from hypothesis import strategies as st

from snatsim.kernel.conntrack import ConntrackTable, Entry, TcpState
from snatsim.kernel.eras import ConfirmEra, NatEra
from snatsim.kernel.nat import NatOutcome, NatRange, NatResult
from snatsim.kernel.tuples import ConnTuple, Proto
from snatsim.rng import Draws

WINDOW_LO = 20000
# NODE_IP as a "pod": a node-local socket, whose own tuple lies inside the MASQUERADE range
PODS = ("10.244.0.1", "10.244.0.2", "10.244.1.7", NODE_IP)
DSTS = (DST, ("198.51.100.7", 80))
# inside a --to-ports window, outside it, and at the edges of the default windows (spec §4.4)
POD_PORTS = (WINDOW_LO, WINDOW_LO + 1, WINDOW_LO + 5, 40000, 40001, 511, 512, 1024)
SEQS = (0, 100, 200, 0x7FFF_FFFF, 0x8000_0064, 0xFFFF_FFFF)
STEPS_S = (1e-6, 0.5, 1.0, 5.0, 10.0, 30.0, 121.0)
NEW_STATES = (TcpState.ESTABLISHED, TcpState.TIME_WAIT, TcpState.CLOSE)
SEARCHING = (NatOutcome.SEARCHED, NatOutcome.GAVE_UP)
# spec §12, written out here rather than imported from the code under test
MAX_ATTEMPTS = 128  # first-round probes (NF_NAT_MAX_ATTEMPTS)
EVICT_LEFT = 32  # eviction allowed while at most this many probes are left in the round
MAX_PROBES = 248  # 128 + 64 + 32 + 16 + 8


class CountingDraws(Draws):
    """Draws from a seeded Generator that count the u16 values handed out."""

    def __init__(self, seed: int) -> None:
        super().__init__(np.random.default_rng(seed))
        self.u16_count = 0

    def u16(self) -> int:
        self.u16_count += 1
        return super().u16()


def peek(table: ConntrackTable, t: ConnTuple) -> Entry | None:
    """The entry hashed under ``t`` (live or not) without side effects.

    ``find`` collects expired entries only when ``expires_s <= now_s``; with ``now_s = -inf``
    that never holds, so this is a pure lookup through the public API.
    """
    return table.find(t, -math.inf)


def live(e: Entry | None, now: float) -> bool:
    return e is not None and e.expires_s > now


def seq_ahead(a: int, b: int) -> bool:
    """``after(a, b)`` on u32 sequence numbers, written out: 0 < (a - b) mod 2^32 < 2^31."""
    return 0 < (a - b) % (1 << 32) < (1 << 31)


def spec_window(port: int, to_ports: tuple[int, int] | None) -> tuple[int, int]:
    """(lo, size) of the search window, spec §4.4: ``--to-ports`` or by the pod's port."""
    if to_ports is not None:
        return min(to_ports), abs(to_ports[1] - to_ports[0]) + 1
    if port < 512:
        return 1, 511
    if port < 1024:
        return 600, 424
    return 1024, 64512


def round_lengths(size: int) -> list[int]:
    """Probe counts of the A2+ rounds for a window of ``size`` ports (spec §4.4)."""
    attempts = min(size, MAX_ATTEMPTS)
    rounds = [attempts]
    while not (attempts >= size or attempts < 16):
        attempts //= 2
        rounds.append(attempts)
    return rounds


def counted_search_probes(res: NatResult, size: int, harder: bool) -> int:
    """Busy search probes that went through the counting used-check (spec §5.1, §5.3, §16.3).

    All probes of a search are busy except a successful last one. From A3 a TCP SYN's probes with
    at most 32 left in their round take the eviction path, which does not count ``found``.
    """
    if not harder:
        return res.busy_probes
    counted = index = 0
    for length in round_lengths(size):
        for i in range(length):
            if index == res.busy_probes:
                return counted
            if length - i > EVICT_LEFT:
                counted += 1
            index += 1
    return counted


# ---------------------------------------------------------------- scenarios
@dataclass(frozen=True)
class Scenario:
    nat_era: NatEra
    confirm_era: ConfirmEra
    flag: str  # "none" | "random" | "random_fully"
    window: int | None  # --to-ports WINDOW_LO .. WINDOW_LO + window - 1
    proto: Proto
    cpus: int
    seed: int
    ops: tuple[tuple[object, ...], ...]

    def nat_range(self) -> NatRange:
        ports = None if self.window is None else (WINDOW_LO, WINDOW_LO + self.window - 1)
        return NatRange(
            ips=(NODE_IP,),
            ports=ports,
            random=self.flag == "random",
            random_fully=self.flag == "random_fully",
        )


ANY_WINDOW: st.SearchStrategy[int | None] = st.none() | st.integers(1, 12)
OP_KINDS = ("nat",) * 5 + ("twin",) * 2 + ("confirm",) * 2 + ("advance",) * 2 + ("state",) * 3
OP_KINDS += ("gc",)


@st.composite
def _op(draw: st.DrawFn, cpus: int) -> tuple[object, ...]:
    """One operation; NATs are the most frequent so that windows fill up and CPUs overlap."""
    kind = draw(st.sampled_from(OP_KINDS))
    if kind == "nat":
        return (
            "nat",
            draw(st.integers(0, cpus - 1)),
            draw(st.integers(0, len(PODS) - 1)),
            draw(st.integers(0, len(POD_PORTS) - 1)),
            draw(st.integers(0, len(DSTS) - 1)),
            draw(st.sampled_from(SEQS)),
        )
    if kind == "twin":
        return ("twin", draw(st.integers(0, cpus - 1)), draw(st.integers(0, 7)))
    if kind == "confirm":
        return ("confirm", draw(st.integers(0, 7)))
    if kind == "advance":
        return ("advance", draw(st.sampled_from(STEPS_S)))
    if kind == "state":
        return (
            "state",
            draw(st.integers(0, 15)),
            draw(st.sampled_from(NEW_STATES)),
            draw(st.sampled_from((0, 1, 1 << 31, 1 << 20))),
        )
    return ("gc",)


@st.composite
def scenarios(
    draw: st.DrawFn,
    *,
    protos: tuple[Proto, ...] = (Proto.TCP, Proto.UDP),
    nat_eras: tuple[NatEra, ...] = tuple(NatEra),
    confirm_eras: tuple[ConfirmEra, ...] = tuple(ConfirmEra),
    windows: st.SearchStrategy[int | None] = ANY_WINDOW,
    cpus: tuple[int, ...] = (1, 2, 3),
    max_ops: int = 40,
) -> Scenario:
    n_cpus = draw(st.sampled_from(cpus))
    return Scenario(
        nat_era=draw(st.sampled_from(nat_eras)),
        confirm_era=draw(st.sampled_from(confirm_eras)),
        flag=draw(st.sampled_from(("none", "random", "random_fully"))),
        window=draw(windows),
        proto=draw(st.sampled_from(protos)),
        cpus=n_cpus,
        seed=draw(st.integers(0, 2**32 - 1)),
        ops=tuple(draw(st.lists(_op(n_cpus), min_size=min(8, max_ops), max_size=max_ops))),
    )
