"""snatsim.mc.alloc equals the scalar kernel search fed the same draws (spec §4.4, §5.1, §5.3)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import NODE_IP, ScriptedDraws, occupy, tcp

from snatsim.kernel.conntrack import ConntrackTable, Entry, TcpState
from snatsim.kernel.eras import NatEra
from snatsim.kernel.nat import NatOutcome, NatRange, SnatAllocator
from snatsim.mc.alloc import SearchResult, max_rounds, search_rounds, search_rover
from snatsim.rng import Draws

LO = 20000
POD_OUTSIDE = 40000  # outside every window used here: steps 1-3 never decide, the search runs
SIZES = (8, 13, 64, 200)  # 200 > 128: several rounds (A2+)


def _occupancy(rng: np.random.Generator, trials: int, size: int) -> np.ndarray:
    """Random busy bitmaps, each trial with its own density (empty to full)."""
    density = rng.random((trials, 1)) ** 0.5
    return rng.random((trials, size)) < density


def _scalar(era: NatEra, size: int, busy: np.ndarray, evictable: np.ndarray | None,
            u16s: list[int], *, rover: int | None = None, **flags: bool) -> tuple[int, ...]:
    """(slot, probes, busy_probes, found, gave_up, draws used) of one scalar search."""
    table = ConntrackTable()
    for slot in np.flatnonzero(busy):
        closing = evictable is not None and evictable[slot]
        occupy(table, LO + int(slot), pod_port=1000 + int(slot),
               state=TcpState.TIME_WAIT if closing else TcpState.ESTABLISHED)
    nat = SnatAllocator(era, NatRange(ips=(NODE_IP,), ports=(LO, LO + size - 1), **flags))
    if rover is not None:
        nat.rover[6] = rover
    draws = ScriptedDraws(u16s)
    ct = Entry(tcp("10.244.0.1", POD_OUTSIDE), seq_end=100)  # SYN_SENT, ahead of seq 0
    res = nat.get_unique_tuple(ct, table, 0.0, draws)
    assert res.outcome in (NatOutcome.SEARCHED, NatOutcome.GAVE_UP)
    return (res.port - LO, res.probes, res.busy_probes, table.stats.found,
            res.outcome is NatOutcome.GAVE_UP, len(u16s) - draws.left)


def _vector(res: SearchResult, t: int) -> tuple[int, ...]:
    return (int(res.slot[t]), int(res.probes[t]), int(res.busy_probes[t]), int(res.found[t]),
            bool(res.gave_up[t]), int(res.rounds[t]))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("era", [NatEra.A2, NatEra.A3, NatEra.A4])
def test_rounds_equal_scalar(era: NatEra, size: int) -> None:
    rng = np.random.default_rng(size * 10 + era)
    trials = 60
    busy = _occupancy(rng, trials, size)
    evictable = (busy & (rng.random(busy.shape) < 0.1)) if era >= NatEra.A3 else None
    # offsets near the 16-bit wrap as well as anywhere (spec §4.4: off wraps at 65,536)
    offsets = rng.integers(0, 1 << 16, size=(trials, max_rounds(size)), dtype=np.uint16)
    offsets[: trials // 4] = 65535 - rng.integers(0, size, size=(trials // 4, offsets.shape[1]))
    res = search_rounds(busy, offsets, evictable=evictable)
    for t in range(trials):
        ev = None if evictable is None else evictable[t]
        expected = _scalar(era, size, busy[t], ev, offsets[t].tolist(), random_fully=True)
        assert _vector(res, t) == expected, t


@pytest.mark.parametrize("size", SIZES[:3])
@pytest.mark.parametrize("flag", ["none", "random_fully"])
def test_rover_equals_scalar(flag: str, size: int) -> None:
    rng = np.random.default_rng(size)
    trials = 60
    busy = _occupancy(rng, trials, size)
    start = rng.integers(0, 1 << 16, size=trials, dtype=np.uint16)
    start[: trials // 4] = 65535 - rng.integers(0, size, size=trials // 4)
    res = search_rover(busy, start)
    for t in range(trials):
        s = int(start[t])
        if flag == "random_fully":
            expected = _scalar(NatEra.A1, size, busy[t], None, [s], random_fully=True)
        else:
            expected = _scalar(NatEra.A1, size, busy[t], None, [], rover=s)
            expected = (*expected[:5], 1)  # the rover search draws nothing; rounds is 1
        assert _vector(res, t) == expected, t


def test_rover_offset_is_the_new_rover() -> None:
    rng = np.random.default_rng(5)
    busy = _occupancy(rng, 30, 13)
    start = rng.integers(0, 1 << 16, size=30)
    res = search_rover(busy, start)
    for t in range(30):
        table = ConntrackTable()
        for slot in np.flatnonzero(busy[t]):
            occupy(table, LO + int(slot), pod_port=1000 + int(slot))
        nat = SnatAllocator(NatEra.A1, NatRange(ips=(NODE_IP,), ports=(LO, LO + 12)))
        nat.rover[6] = int(start[t])
        nat.get_unique_tuple(Entry(tcp("10.244.0.1", POD_OUTSIDE)), table, 0.0, ScriptedDraws([]))
        assert nat.rover[6] == res.offset[t]


def test_shared_occupancy_row_broadcasts() -> None:
    rng = np.random.default_rng(9)
    busy = _occupancy(rng, 1, 64)
    offsets = rng.integers(0, 1 << 16, size=(50, 8, 1), dtype=np.uint16)
    shared = search_rounds(busy, offsets)
    per_trial = search_rounds(np.repeat(busy, 50, axis=0), offsets)
    assert np.array_equal(shared.slot, per_trial.slot)
    assert shared.slot.shape == (50, 8)


def test_too_few_draw_columns_raises() -> None:
    busy = np.ones((1, 200), dtype=bool)
    with pytest.raises(ValueError, match="max_rounds"):
        search_rounds(busy, np.zeros((3, 1), dtype=np.uint16))


def test_max_rounds() -> None:
    assert [max_rounds(n) for n in (8, 128, 129, 200, 64512)] == [1, 1, 5, 5, 5]


@pytest.mark.parametrize("era", [NatEra.A1, NatEra.A2])
def test_one_column_batch_equals_a_sequential_draws_stream(era: NatEra) -> None:
    """Window <= 128: one u16 per allocation, so the batch's draws are the scalar stream's order.

    The scalar allocator takes every value from one :class:`Draws` on a Generator; the batch
    draws ``integers(0, 65536, size=n, dtype=uint16)`` from an identically seeded Generator.
    """
    size, trials = 64, 300
    busy = _occupancy(np.random.default_rng(3), 1, size)
    offsets = np.random.default_rng(11).integers(0, 1 << 16, size=trials, dtype=np.uint16)
    res = search_rover(busy, offsets) if era is NatEra.A1 else search_rounds(busy, offsets[:, None])
    table = ConntrackTable()
    for slot in np.flatnonzero(busy[0]):
        occupy(table, LO + int(slot), pod_port=1000 + int(slot))
    nat = SnatAllocator(era, NatRange(ips=(NODE_IP,), ports=(LO, LO + size - 1), random_fully=True))
    draws = Draws(np.random.default_rng(11))
    ports = [nat.get_unique_tuple(Entry(tcp("10.244.0.1", POD_OUTSIDE)), table, 0.0, draws).port
             for _ in range(trials)]
    assert ports == (res.slot.astype(int) + LO).tolist()


@pytest.mark.parametrize("rows", [1, 40])
def test_blocks_and_buffer_layout_do_not_change_results(rows: int,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """First probes in blocks of 7 (many blocks, a short last one) and seven separate output
    arrays give the same search as the defaults (one block, one shared buffer)."""
    from snatsim.mc import alloc

    rng = np.random.default_rng(21)
    size = 200
    busy = rng.random((rows, size)) < 0.95
    busy[:, :150] = True  # long searches: eviction zones, several rounds
    evictable = busy & (rng.random(busy.shape) < 0.05)
    offsets = rng.integers(0, 1 << 16, size=(40, 9, max_rounds(size)), dtype=np.uint16)
    cases = [lambda: search_rounds(busy, offsets), lambda: search_rover(busy, offsets[..., 0]),
             lambda: search_rounds(busy, offsets, evictable=evictable)]
    default = [case() for case in cases]
    monkeypatch.setattr(alloc, "BLOCK", 7)
    monkeypatch.setattr(alloc, "ONE_BUFFER_MAX", 0)
    for case, expected in zip(cases, default, strict=True):
        got = case()
        for name in SearchResult.__dataclass_fields__:
            assert np.array_equal(getattr(got, name), getattr(expected, name)), name
    assert default[0].rounds.max() > 1 and default[2].found.sum() < default[2].busy_probes.sum()


def test_u16_offsets_are_the_raw_words_little_endian_and_uniform() -> None:
    from snatsim.mc.alloc import u16_offsets

    got = u16_offsets(np.random.default_rng(3), (5, 3))  # 15 offsets from 4 words
    words = np.random.default_rng(3).integers(0, np.iinfo(np.uint64).max, size=4,
                                              dtype=np.uint64, endpoint=True)
    expect = [(int(w) >> (16 * j)) & 0xFFFF for w in words for j in range(4)][:15]
    assert got.dtype == np.uint16 and got.shape == (5, 3)
    assert got.reshape(-1).tolist() == expect
    many = u16_offsets(np.random.default_rng(4), (1 << 20,)).astype(np.int64)
    counts = np.bincount(many >> 12, minlength=16)  # 16 bins of 4096 values: chi-square
    chi2 = float(((counts - many.size / 16) ** 2 / (many.size / 16)).sum())
    assert chi2 < 37.7  # 15 degrees of freedom, p = 0.001
