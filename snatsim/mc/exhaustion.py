"""Monte Carlo beyond the steady state: windows and tables that fill up (spec §4.4, §5.3, §9, §10).

When a destination's Little's-law occupancy nears its port window, or the whole table nears
``nf_conntrack_max``, drops feed back into the load: a dropped SYN holds no entry and comes back
at the schedule's retransmit times (spec §9), a connect that gives up holds nothing, and 6.5+
searches evict TIME_WAIT/CLOSE entries (spec §5.3). The steady state of :mod:`snatsim.mc.engine`
does not follow that; this module simulates the occupancy itself, replicated over many
independent *replicas* of the whole run, vectorized over replicas (numpy arrays of replicas ×
ports, replicas × SYNs of a step).

One replica is the node's whole run, ``0 .. duration_s`` plus the drain (new connects stop at
``duration_s``; their retransmits go on until the schedule's give-up). Time moves in steps of at
most one second that divide ``conntrack.gc_interval_s``; within a step each replica's SYNs (new
connects of every stream, Poisson at the stream's rate, and the retransmits due) are handled one
after the other in time order:

1. **Table** (spec §10): the replica's entry count is checked against ``conntrack.max``; at the
   limit the oldest entry still waiting for its SYN-ACK (confirmed less than one RTT ago, not
   ASSURED) is early-dropped and the SYN takes its place, else the SYN is dropped (*table_full*).
   The count falls at each GC pass (every ``gc_interval_s``, as ``snatsim.des`` does) by the
   entries expired by then.
2. **Window** of a *tracked* destination (its occupancy at the end of the run above
   :data:`~snatsim.mc.exhaustion_plan.TRACK_SHARE` of the window): every port's holder is kept
   with the time it stops being live (ESTABLISHED → TIME_WAIT/CLOSE) and the time it expires. Port
   preservation (spec §4.2 step 3) keeps a free pod port; otherwise the era's search runs on that
   bitmap (:func:`snatsim.mc.alloc.search_rounds`, :func:`~snatsim.mc.alloc.search_rover` with a
   rover per replica, spec §4.4); on A3+ a closing holder is evictable with the ISN coin (1/2,
   spec §5.3) drawn afresh per search. A search that gives up drops the SYN at confirm: *eviction*
   when closing entries were in the window (A3+), else *exhaustion* (spec §16.1).
3. A SYN that gets through holds its port and a table entry for RTT + the connection's requests
   (each one hold draw) + TIME_WAIT (``close = "fin"``) or CLOSE (``"rst"``) (spec §10). A dropped
   SYN is sent again at the schedule's next time, unless it was the last one or the app's
   ``connect_timeout_s`` comes first (spec §9).

Untracked destinations never drop at confirm here: races (µs windows, spec §3.2) are not sampled
in this mode, nor searches of windows far from full. docs/model.md "Beyond the steady state"
lists every approximation.

Tallies, per replica and stream (a (workload, destination) pair of the plan), count connections
started in the measured window: SYNs sent, ``found``, kept pod ports, evictions, connections by
SYNs lost, and drops of SYN ``k`` by cause (:data:`snatsim.mc.figures.DROP_KEYS`). Replicas run in
chunks of a width fixed by the scenario (:func:`~snatsim.mc.exhaustion_plan.chunk_replicas`),
chunk ``c`` drawing from ``block_seed(root, 0, c)``: the same seed gives the same tallies whatever
the progress chunking. Draw order per step: new connects per replica (``poisson``), their stream
(``choice``) and times (``uniform``), then per stream the connections' lifetimes (hold
``sample``), the RTTs, then per SYN column and tracked destination: the pod-port draws
(``integers``), ISN coins (``random``, replicas × window) and search offsets (``integers`` u16).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from snatsim.kernel.eras import NatEra
from snatsim.mc.alloc import max_rounds, search_rounds, search_rover
from snatsim.mc.dense import DENSE_MAX_PORTS, DenseResult, dense_rounds, dense_rover
from snatsim.mc.exhaustion_plan import ExhaustionPlan, chunk_replicas
from snatsim.mc.figures import DROP_KEYS

if TYPE_CHECKING:
    from snatsim.mc.engine import Tallies

UNASSURED_SLOTS = 8  # entries per replica tracked while they wait for their SYN-ACK
_HEAD = ("connections", "syns", "found", "kept", "evicted", "early_drop", "through")


def columns(sends: int) -> tuple[str, ...]:
    """Tally columns per stream (see the module docstring)."""
    return (*_HEAD, *(f"lost_{k}" for k in range(sends + 1)),
            *(f"syn{k}_{c}" for k in range(sends) for c in DROP_KEYS))


class _Pending:
    """Retransmits waiting for their step: a ring of step slots, each a (replicas, capacity)
    array of send times (inf: empty) and packed (stream, SYN index) codes."""

    def __init__(self, reps: int, slots: int) -> None:
        self.time = np.full((slots, reps, 4), np.inf)
        self.code = np.zeros((slots, reps, 4), dtype=np.int64)
        self.fill = np.zeros((slots, reps), dtype=np.int64)

    def add(self, slot: NDArray[np.int64], rows: NDArray[np.int64], t: NDArray[np.float64],
            code: NDArray[np.int64]) -> None:
        """File SYNs (replica ``rows``, each at most once) sent at ``t`` into ring ``slot``."""
        n = self.fill[slot, rows]
        while int(n.max()) >= self.time.shape[2]:
            self._grow()
        self.time[slot, rows, n] = t
        self.code[slot, rows, n] = code
        self.fill[slot, rows] = n + 1

    def _grow(self) -> None:
        cap = self.time.shape[2]
        self.time = np.concatenate([self.time, np.full_like(self.time, np.inf)], axis=2)
        self.code = np.concatenate([self.code, np.zeros_like(self.code)], axis=2)
        assert self.time.shape[2] == 2 * cap

    def take(self, slot: int) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """Empty ring ``slot``: its times and codes, trimmed to the fullest replica."""
        n = int(self.fill[slot].max())
        t, c = self.time[slot, :, :n].copy(), self.code[slot, :, :n].copy()
        self.time[slot, :, :n] = np.inf
        self.fill[slot] = 0
        return t, c


class _Replicas:
    """The state of one chunk of replicas and its tallies."""

    def __init__(self, p: ExhaustionPlan, reps: int, rng: np.random.Generator) -> None:
        self.p, self.reps, self.rng = p, reps, rng
        sends = self.send_times = np.asarray(p.schedule.send_times_s, dtype=float)
        gaps = np.diff(sends) if sends.size > 1 else np.ones(1)
        per_gc = max(1, math.ceil(p.gc_interval_s / min(1.0, float(gaps.min()))))
        self.step_s = p.gc_interval_s / per_gc
        self.gc_every = per_gc
        self.steps = math.ceil(p.end_s / self.step_s)
        self.ring = math.ceil((float(gaps.max()) if sends.size > 1 else 1.0) / self.step_s) + 2
        self.pending = _Pending(reps, self.ring)
        self.count = np.zeros(reps, dtype=np.int64)  # entries in the table (uncollected too)
        self.expiring = np.zeros((reps, self.steps // per_gc + 2), dtype=np.int64)  # per GC pass
        self.u_conf = np.full((reps, UNASSURED_SLOTS), -np.inf)  # confirm time
        self.u_until = np.full((reps, UNASSURED_SLOTS), -np.inf)  # SYN-ACK (ASSURED) time
        self.u_gc = np.zeros((reps, UNASSURED_SLOTS), dtype=np.int64)  # its GC pass
        self.u_win = np.full((reps, UNASSURED_SLOTS), -1, dtype=np.int64)
        self.u_slot = np.zeros((reps, UNASSURED_SLOTS), dtype=np.int64)
        self.expires = [np.full((reps, w.size), -np.inf) for w in p.windows]
        self.live_until = [np.full((reps, w.size), -np.inf) for w in p.windows]
        self.rover = np.zeros(reps, dtype=np.uint16)
        self.hash_start = rng.integers(0, 1 << 16, size=(reps, max(1, len(p.windows))),
                                       dtype=np.uint16)
        self.rounds = [1 if p.nat_era == NatEra.A1 else max_rounds(w.size) for w in p.windows]
        self.cols = columns(p.sends)
        self.tally = np.zeros((reps, len(p.streams), len(self.cols)))
        self._flat = self.tally.reshape(-1)  # a view: _count adds into it
        self._pending_counts: list[tuple[NDArray[np.int64], NDArray[np.generic] | float]] = []
        self.rates = np.array([s.rate_per_s for s in p.streams])
        self.s_window = np.array([s.window for s in p.streams], dtype=np.int64)
        self.s_timeout_s = np.array([np.inf if s.connect_timeout_s is None
                                     else s.connect_timeout_s for s in p.streams])
        self.s_closing_s = np.array([s.closing_s for s in p.streams])

    # ------------------------------------------------------------------ driving
    def run(self) -> NDArray[np.float64]:
        """Simulate every step; return the tallies (replicas, streams, columns)."""
        for step in range(self.steps):
            t0 = step * self.step_s
            if step and step % self.gc_every == 0:
                self._gc(step // self.gc_every)
            t, code, life, rtt = self._syns(step, t0)
            for j in range(t.shape[1]):
                self._syn(t[:, j], code[:, j], life[:, j], rtt[:, j], step)
        return self.tally

    def _gc(self, k: int) -> None:
        """GC pass ``k`` (at ``k * gc_interval_s``): entries expired by then leave the count."""
        self.count -= self.expiring[:, k]
        self.expiring[:, k] = 0

    def _syns(self, step: int, t0: float) -> tuple[NDArray[np.float64], NDArray[np.int64],
                                                   NDArray[np.float64], NDArray[np.float64]]:
        """The step's SYNs per replica in time order (inf pads), their codes (stream × 256 +
        SYN index), the connections' lifetimes and RTTs (drawn for every SYN of the step)."""
        p, rng, reps = self.p, self.rng, self.reps
        t_re, c_re = self.pending.take(step % self.ring)
        span = min(self.step_s, p.duration_s - t0)
        total = float(self.rates.sum())
        if span > 0 and total > 0:
            n = rng.poisson(total * span, size=reps)
            width = int(n.max())
            stream = rng.choice(len(self.rates), size=(reps, width), p=self.rates / total)
            t_new = t0 + rng.uniform(0.0, span, size=(reps, width))
            t_new[np.arange(width)[None, :] >= n[:, None]] = np.inf
            t = np.concatenate([t_new, t_re], axis=1)
            code = np.concatenate([stream * 256, c_re], axis=1)
        else:
            t, code = t_re, c_re
        order = np.argsort(t, axis=1, kind="stable")
        t = np.take_along_axis(t, order, axis=1)
        code = np.take_along_axis(code, order, axis=1)
        keep = np.isfinite(t).any(axis=0)
        t, code = t[:, keep], code[:, keep]
        life = np.zeros(t.shape)
        for s, st in enumerate(p.streams):
            here = (code // 256 == s) & np.isfinite(t)
            k = int(here.sum())
            if k:
                holds = st.hold_s.sample(rng, k * st.requests).reshape(k, st.requests)
                life[here] = holds.sum(axis=1)
        rtt = p.rtt_s.sample(rng, t.size).reshape(t.shape) if t.size else np.zeros(t.shape)
        return t, code, life, rtt

    # ------------------------------------------------------------------ one SYN per replica
    def _syn(self, t: NDArray[np.float64], code: NDArray[np.int64], life: NDArray[np.float64],
             rtt: NDArray[np.float64], step: int) -> None:
        p = self.p
        rows = np.flatnonzero(np.isfinite(t))
        t, code, life, rtt = t[rows], code[rows], life[rows], rtt[rows]
        stream, k = code // 256, code % 256
        first_s = t - self.send_times[k]
        measured = (first_s >= p.warmup_s) & (first_s < p.duration_s)
        self._count(rows[measured], stream[measured], _HEAD.index("syns"))
        new = measured & (k == 0)
        self._count(rows[new], stream[new], _HEAD.index("connections"))
        cause = np.full(rows.size, -1, dtype=np.int64)  # index into DROP_KEYS, -1: through
        admitted, victim = self._admit(rows, t)
        cause[~admitted] = DROP_KEYS.index("table_full")
        win = self.s_window[stream]
        slot = np.full(rows.size, -1, dtype=np.int64)
        for w in range(len(p.windows)):
            sel = np.flatnonzero(admitted & (win == w))
            if sel.size:
                slot[sel], cause[sel] = self._search(w, rows[sel], t[sel], stream[sel],
                                                     measured[sel])
        through = cause < 0
        self._early_drop(rows, victim & through)
        self._count(rows[measured & victim & through], stream[measured & victim & through],
                    _HEAD.index("early_drop"))
        m = measured & admitted
        self._open_ports(rows[m], t[m], stream[m])
        self._count(rows[measured & through], stream[measured & through], _HEAD.index("through"))
        self._hold(rows[through], t[through], rtt[through], life[through], stream[through],
                   win[through], slot[through])
        dropped = ~through
        # tallies of measured connections: drops by SYN and cause, SYNs lost when resolved
        sends, lost0 = p.sends, len(_HEAD)
        cause_col = lost0 + sends + 1 + k * len(DROP_KEYS) + cause
        m = measured & dropped
        self._count(rows[m], stream[m], cause_col[m])
        m = measured & through
        self._count(rows[m], stream[m], lost0 + k[m])
        # retransmit, or the connect is over (last SYN, or the app's timeout first)
        nxt = k + 1
        timeout = self.s_timeout_s[stream]
        more = dropped & (nxt < sends)
        next_s = self.send_times[np.minimum(nxt, sends - 1)]
        send_at = first_s + next_s
        more &= next_s < timeout
        over = measured & dropped & ~more
        self._count(rows[over], stream[over], lost0 + nxt[over])
        if more.any():
            ring = (np.floor(send_at[more] / self.step_s).astype(np.int64)) % self.ring
            self.pending.add(ring, rows[more], send_at[more], stream[more] * 256 + nxt[more])
        self._flush_counts()

    def _admit(self, rows: NDArray[np.int64], t: NDArray[np.float64]
               ) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """Conntrack "in" at ``t`` (spec §10): admitted, and whether an early drop is needed."""
        full = self.count[rows] >= self.p.table_max
        waiting = (self.u_until[rows] > t[:, None]).any(axis=1)
        return ~full | waiting, full & waiting

    def _early_drop(self, rows: NDArray[np.int64], need: NDArray[np.bool_]) -> None:
        """Destroy the oldest non-ASSURED entry of each replica that needs room (spec §10)."""
        r = rows[need]
        if r.size == 0:
            return
        conf = np.where(self.u_until[r] > -np.inf, self.u_conf[r], np.inf)
        victim = np.argmin(conf, axis=1)
        self.count[r] -= 1
        np.add.at(self.expiring, (r, self.u_gc[r, victim]), -1)
        win, slot = self.u_win[r, victim], self.u_slot[r, victim]
        for w in range(len(self.p.windows)):
            sel = win == w
            self.expires[w][r[sel], slot[sel]] = -np.inf
            self.live_until[w][r[sel], slot[sel]] = -np.inf
        self.u_until[r, victim] = -np.inf

    def _search(self, w: int, rows: NDArray[np.int64], t: NDArray[np.float64],
                stream: NDArray[np.int64], measured: NDArray[np.bool_]
                ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """NAT for SYNs of replicas ``rows`` towards tracked window ``w``: slot and drop cause."""
        p, rng, win = self.p, self.rng, self.p.windows[w]
        busy = self.expires[w][rows] > t[:, None]
        n = rows.size
        pod = win.pod_lo - win.lo + win.pod_step * rng.integers(0, win.pod_choices, size=n)
        kept = np.zeros(n, dtype=bool)
        if win.preserve:
            kept = ~busy[np.arange(n), pod]
        closing = busy & (self.live_until[w][rows] <= t[:, None])
        evictable = refusable = None
        if p.nat_era >= NatEra.A3:
            coin = rng.random(busy.shape) < 0.5
            evictable, refusable = closing & coin, closing & ~coin
        if p.nat_era == NatEra.A1:
            if p.random_fully:
                start = rng.integers(0, 1 << 16, size=n, dtype=np.uint16)
            elif p.random:
                start = self.hash_start[rows, w]
            else:
                start = self.rover[rows]
            res = _rover(busy, start)
            if not (p.random or p.random_fully):
                self.rover[rows[~kept]] = res.offset[~kept]
        else:
            offsets = rng.integers(0, 1 << 16, size=(n, self.rounds[w]), dtype=np.uint16)
            res = _rounds(busy, offsets, evictable, refusable)
        slot_s, gave_up, found = res.slot, res.gave_up, res.found
        slot = np.where(kept, pod, slot_s.astype(np.int64))
        gave_up = gave_up & ~kept
        evicted = ~kept & ~gave_up & busy[np.arange(n), slot]
        found = np.where(kept, 0, found + (1 if win.preserve else 0))
        if evicted.any():  # the evicted holder leaves the table (spec §5.3)
            r, s = rows[evicted], slot[evicted]
            gone = np.ceil(self.expires[w][r, s] / p.gc_interval_s).astype(np.int64)
            ok = gone < self.expiring.shape[1]
            np.add.at(self.expiring, (r[ok], gone[ok]), -1)
            self.count[r] -= 1
        m = measured
        self._count(rows[m], stream[m], _HEAD.index("found"), found[m])
        self._count(rows[m], stream[m], _HEAD.index("kept"), kept[m])
        self._count(rows[m], stream[m], _HEAD.index("evicted"), evicted[m])
        cause = np.full(n, -1, dtype=np.int64)
        if gave_up.any():
            refused = res.refused if res.refused is not None else np.zeros(n, dtype=bool)
            cause[gave_up] = np.where(refused[gave_up], DROP_KEYS.index("eviction"),
                                      DROP_KEYS.index("exhaustion"))
        return slot, cause

    def _open_ports(self, rows: NDArray[np.int64], t: NDArray[np.float64],
                    stream: NDArray[np.int64]) -> None:
        """Untracked SNATed destinations: the pod port is held (``found`` + 1, the search runs)
        or kept with the steady state's odds at ``t`` (expected values, spec §4.2 step 3)."""
        for s, st in enumerate(self.p.streams):
            d = st.open_dest
            sel = stream == s
            if d is None or not sel.any():
                continue
            held = d.pod_port_held(t[sel]) if d.preserve else np.ones(int(sel.sum()))
            self._count(rows[sel], stream[sel], _HEAD.index("found"), held)
            self._count(rows[sel], stream[sel], _HEAD.index("kept"), 1.0 - held)

    def _count(self, rows: NDArray[np.int64], stream: NDArray[np.int64],
               col: int | NDArray[np.int64], values: NDArray[np.generic] | float = 1.0) -> None:
        """Add ``values`` to tally column(s) ``col`` of (replica, stream) pairs, at the end of
        the SYN column (:meth:`_flush_counts`: one ``np.add.at`` for all of a column's counts)."""
        if rows.size:
            shape = self.tally.shape
            self._pending_counts.append(((rows * shape[1] + stream) * shape[2] + col, values))

    def _flush_counts(self) -> None:
        counts = self._pending_counts
        if counts:
            idx = np.concatenate([i for i, _ in counts])
            values = np.concatenate([np.broadcast_to(np.asarray(v, dtype=float), i.shape)
                                     for i, v in counts])
            np.add.at(self._flat, idx, values)
            counts.clear()

    def _hold(self, rows: NDArray[np.int64], t: NDArray[np.float64], rtt: NDArray[np.float64],
              life: NDArray[np.float64], stream: NDArray[np.int64], win: NDArray[np.int64],
              slot: NDArray[np.int64]) -> None:
        """SYNs that got through: a table entry (and a port) until their entry expires."""
        if rows.size == 0:
            return
        p = self.p
        closing = self.s_closing_s[stream]
        live_end = t + rtt + life
        expire = live_end + closing
        gc = np.ceil(expire / p.gc_interval_s).astype(np.int64)
        self.count[rows] += 1
        ok = gc < self.expiring.shape[1]
        np.add.at(self.expiring, (rows[ok], gc[ok]), 1)
        for w in range(len(p.windows)):
            sel = win == w
            self.expires[w][rows[sel], slot[sel]] = expire[sel]
            self.live_until[w][rows[sel], slot[sel]] = live_end[sel]
        # waits for its SYN-ACK: early-drop candidate until then (replace the oldest slot)
        u = np.argmin(self.u_until[rows], axis=1)
        self.u_conf[rows, u] = t
        self.u_until[rows, u] = t + rtt
        self.u_gc[rows, u] = np.minimum(gc, self.expiring.shape[1] - 1)
        self.u_win[rows, u] = win
        self.u_slot[rows, u] = slot


def _rover(busy: NDArray[np.bool_], start: NDArray[np.uint16]) -> DenseResult:
    """A1 search of each row's window (dense below :data:`DENSE_MAX_PORTS`, spec §4.4)."""
    if busy.shape[1] <= DENSE_MAX_PORTS:
        return dense_rover(busy, start)
    res = search_rover(busy, start[:, None])
    return DenseResult(res.slot[:, 0].astype(np.int64), res.gave_up[:, 0],
                       res.found[:, 0].astype(np.int64), res.offset[:, 0].astype(np.int64))


def _rounds(busy: NDArray[np.bool_], offsets: NDArray[np.uint16],
            evictable: NDArray[np.bool_] | None, refusable: NDArray[np.bool_] | None
            ) -> DenseResult:
    """A2+ search of each row's window (dense below :data:`DENSE_MAX_PORTS`, spec §4.4). The
    batched search of larger windows does not say which ports it probed: a give-up there is an
    eviction failure when any refusable port was in the window."""
    if busy.shape[1] <= DENSE_MAX_PORTS:
        return dense_rounds(busy, offsets, evictable, refusable)
    res = search_rounds(busy, offsets[:, None, :], evictable=evictable)
    return DenseResult(res.slot[:, 0].astype(np.int64), res.gave_up[:, 0],
                       res.found[:, 0].astype(np.int64), res.offset[:, 0].astype(np.int64),
                       None if refusable is None
                       else np.asarray(refusable.any(axis=1), dtype=bool))


def simulate(steady: ExhaustionPlan, rng: np.random.Generator, replicas: int
             ) -> NDArray[np.float64]:
    """Tallies (replicas, streams, columns) of ``replicas`` independent runs drawn from ``rng``."""
    return _Replicas(steady, replicas, rng).run()


def connections_per_replica(steady: ExhaustionPlan) -> float:
    """Expected connections started in the measured window of one replica."""
    return sum(s.rate_per_s for s in steady.streams) * (steady.duration_s - steady.warmup_s)


@dataclass(frozen=True)
class StreamOdds:
    """One stream's connect law from its tallies: P(SYN ``k`` dropped | the earlier ones were),
    the split of those drops by cause, and per-SYN / per-connect means."""

    probs: list[float]
    cause_probs: NDArray[np.float64]  # (sends, len(DROP_KEYS))
    found_per_syn: float
    kept: float  # share of the connects that got through on their pod port
    evicted_per_syn: float
    early_drop_per_syn: float

    @classmethod
    def from_rows(cls, rows: NDArray[np.float64]) -> StreamOdds:
        """Odds from a (replicas, columns) tally array."""
        col = rows.sum(axis=0)
        head = len(_HEAD)
        sends = (len(col) - head - 1) // (1 + len(DROP_KEYS))
        hist = col[head: head + sends + 1]
        reach = np.cumsum(hist[::-1])[::-1][:sends]  # connections that sent SYN k
        by_cause = col[head + sends + 1:].reshape(sends, len(DROP_KEYS))
        cause_probs = by_cause / np.maximum(reach, 1.0)[:, None]
        syns = max(float(col[1]), 1.0)
        return cls([float(x) for x in cause_probs.sum(axis=1)], cause_probs,
                   float(col[2]) / syns, float(col[3]) / max(float(col[6]), 1.0),
                   float(col[4]) / syns, float(col[5]) / syns)

    def causes_at(self, k: int) -> dict[str, float]:
        """P(SYN ``k`` is dropped, by cause | the SYNs before it were dropped)."""
        row = self.cause_probs[min(k, len(self.cause_probs) - 1)]
        return {c: float(x) for c, x in zip(DROP_KEYS, row, strict=True)}


def run_tallies(steady: ExhaustionPlan, root: np.random.SeedSequence, trials: int,
                after: Tallies | None = None, progress: Callable[[int], None] | None = None
                ) -> Tallies:
    """Tallies of about ``trials`` connections: whole chunks of replicas (at least one), chunk
    ``c`` from ``block_seed(root, 0, c)``; ``after`` is extended with the next chunks.
    ``Tallies.exhausted[s]`` holds stream ``s``'s tallies, one row per replica."""
    from snatsim.mc.blocks import block_seed
    from snatsim.mc.engine import Tallies

    width = chunk_replicas(steady)
    per = max(connections_per_replica(steady), 1.0)
    before = after.exhausted if after is not None else ()
    first = len(before[0]) // width if before else 0
    parts: list[NDArray[np.float64]] = [np.stack(before, axis=1)] if before else []
    done = 0
    for c in range(first, first + max(1, round(trials / (per * width)))):
        parts.append(simulate(steady, np.random.default_rng(block_seed(root, 0, c)), width))
        done += int(per * width)
        if progress is not None:
            progress(done)
    tally = np.concatenate(parts, axis=0)
    syns = int(tally[:, :, 1].sum())
    return Tallies((), syns, (), tuple(tally[:, s, :] for s in range(tally.shape[1])))
