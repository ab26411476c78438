"""Shared fixtures and helpers for the kernel-layer tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

from snatsim.kernel.conntrack import ConntrackTable, Entry, TcpState
from snatsim.kernel.tuples import ConnTuple, Proto
from snatsim.rng import Draws

# CI runs Hypothesis derandomized, so a green main stays green; locally it keeps exploring
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

TESTS = Path(__file__).resolve().parent


@pytest.fixture(autouse=True, scope="session")
def _empty_test_caches() -> None:
    """Start each session with the test modules' ``functools.cache`` runs empty.

    mutmut forks each mutant's session from its main process, which already ran the suite: a run
    cached there (unmutated) would hide the mutant from every test that reuses it. In a plain
    pytest session the caches are still empty here, so this changes nothing.
    """
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path is None or Path(path).resolve().parent != TESTS:
            continue
        for value in vars(module).values():
            cache_clear = getattr(value, "cache_clear", None)
            if callable(cache_clear):
                cache_clear()


NODE_IP = "192.0.2.10"
DST = ("203.0.113.10", 443)


class ScriptedDraws(Draws):
    """Draws whose ``u16()`` values are given in advance (exact tests of the search order)."""

    def __init__(self, u16s: Iterable[int], seed: int = 0) -> None:
        super().__init__(np.random.default_rng(seed))
        self._script = list(u16s)

    def u16(self) -> int:
        if not self._script:
            raise AssertionError("the code under test drew more u16 values than scripted")
        return self._script.pop(0)

    @property
    def left(self) -> int:
        return len(self._script)


def tcp(src_ip: str, src_port: int, dst: tuple[str, int] = DST) -> ConnTuple:
    return ConnTuple(int(Proto.TCP), src_ip, src_port, dst[0], dst[1])


def udp(src_ip: str, src_port: int, dst: tuple[str, int] = DST) -> ConnTuple:
    return ConnTuple(int(Proto.UDP), src_ip, src_port, dst[0], dst[1])


def occupy(
    table: ConntrackTable,
    nat_port: int,
    *,
    pod_ip: str = "10.244.9.9",
    pod_port: int | None = None,
    state: TcpState = TcpState.ESTABLISHED,
    seq_end: int = 0,
    now_s: float = 0.0,
    dst: tuple[str, int] = DST,
    proto: Proto = Proto.TCP,
) -> Entry:
    """Insert a confirmed SNAT entry that holds ``NODE_IP:nat_port`` towards ``dst``."""
    orig = ConnTuple(int(proto), pod_ip, nat_port if pod_port is None else pod_port, *dst)
    e = Entry(orig, seq_end=seq_end)
    nat = orig.with_source(NODE_IP, nat_port)
    e.reply = nat.inverted()
    e.nat_done = True
    e.snat = True
    e.state = state
    table.insert(e, now_s)
    table.add_bysource(e)
    return e


@pytest.fixture
def table() -> ConntrackTable:
    return ConntrackTable()
