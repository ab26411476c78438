"""The A1 search that jumps over busy ports gives the faithful one-by-one walk's results exactly
(spec §4.4, §5.1): same port, outcome, probes, busy probes, ``found``, rover, draws and table."""

from __future__ import annotations

import numpy as np
from conftest import NODE_IP, occupy, tcp
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_scenarios import CountingDraws

from snatsim.kernel.conntrack import ConntrackTable, Entry, TcpState
from snatsim.kernel.eras import NatEra
from snatsim.kernel.nat import NatRange, SnatAllocator

LO = 20000
NOW_S = 200.0
POD_PORT = 40000  # outside every window below: the search always runs
FLAGS = ("rover", "random", "random-fully", "a2")


def build(size: int, cells: list[int], gc_at: float) -> tuple[ConntrackTable, Entry]:
    """A table whose window ports are free (0), held live (1) or held by an expired entry (2)."""
    table = ConntrackTable(same_origin_free=False)
    for i, cell in enumerate(cells[:size]):
        if cell:
            born = 0.0 if cell == 2 else 150.0  # TIME_WAIT 120 s: expired at NOW_S, or not
            occupy(table, LO + i, pod_port=1000 + i, state=TcpState.TIME_WAIT, now_s=born)
    table.gc(gc_at)
    return table, Entry(tcp("10.244.0.1", POD_PORT))


def decide(flag: str, size: int, cells: list[int], gc_at: float, start: int,
           faithful: bool, fast_after: int) -> tuple[object, ...]:
    table, ct = build(size, cells, gc_at)
    ports = (LO, LO + size - 1)
    era = NatEra.A2 if flag == "a2" else NatEra.A1
    nat_range = NatRange((NODE_IP,), ports, random=flag == "random",
                         random_fully=flag == "random-fully")
    nat = SnatAllocator(era, nat_range, secret=b"freeport")
    nat.faithful, nat.fast_after = faithful, fast_after
    nat.rover[6] = start
    draws = CountingDraws(start)
    res = nat.get_unique_tuple(ct, table, NOW_S, draws)
    left = sorted(e.nat_tuple.src_port for e in table.entries())
    return (res.port, res.outcome, res.probes, res.busy_probes, res.rounds, table.stats.found,
            dict(nat.rover), draws.u16_count, left)


cells_st = st.integers(0, 2).flatmap(
    lambda mode: st.lists(
        # mode 0: random; 1: full (live or expired); 2: full of live entries but one free port
        st.integers(0, 2) if mode == 0 else st.sampled_from([1, 1, 1, 1, 2] if mode == 1 else [1]),
        min_size=256, max_size=256,
    )
)


@settings(max_examples=300, deadline=None)
@given(
    flag=st.sampled_from(FLAGS),
    size=st.integers(16, 256),
    cells=cells_st,
    hole=st.none() | st.integers(0, 255),
    gc_at=st.sampled_from([0.0, 150.0, 199.5, 200.0]),
    start=st.integers(0, 0xFFFF),
    fast_after=st.sampled_from([0, 1, 32]),
)
def test_fast_walk_equals_faithful_walk(flag: str, size: int, cells: list[int], hole: int | None,
                                        gc_at: float, start: int, fast_after: int) -> None:
    if hole is not None:
        cells = [0 if i == hole else c for i, c in enumerate(cells)]
    faithful = decide(flag, size, cells, gc_at, start, True, fast_after)
    assert decide(flag, size, cells, gc_at, start, False, fast_after) == faithful


def test_full_window_counts_every_busy_probe() -> None:
    """A full 64,512-port window: the size-th port comes back busy after 64,511 busy probes."""
    table = ConntrackTable(same_origin_free=False)
    for port in range(1024, 65536):
        occupy(table, port, pod_port=port, state=TcpState.TIME_WAIT, now_s=150.0)
    nat = SnatAllocator(NatEra.A1, NatRange((NODE_IP,)))
    nat.rover[6] = 65000  # the 16-bit offset wraps inside the walk (spec §4.4)
    res = nat.get_unique_tuple(Entry(tcp("10.244.0.1", 1024)), table, NOW_S,
                               CountingDraws(0))
    assert (res.outcome.value, res.probes, res.busy_probes) == ("gave-up", 64512, 64511)
    assert table.stats.found == 64511 + 1  # + the port-preservation check of step 3
    # offsets 65000..65535 then 0..63975: the last one maps to port 1024 + 63975
    assert res.port == 1024 + 63975 and nat.rover[6] == 63975
    assert np.all(np.frombuffer(table.port_index((6, *("203.0.113.10", 443), NODE_IP)).skip,
                                dtype=np.uint8)[1024:] == 1)

