"""The throughput floor: the default config's per-connection work in the leanest Python possible.

Not the model. This is a measuring stick for the question "how fast can a pure-Python DES of
``configs/default.toml`` be at all?". It does, per connection, only the unavoidable part of what
the model does on the default workload (30 pods, 300 connections/s Poisson, one destination,
kernel 6.1, FIN close):

* a Poisson arrival event and a uniformly chosen client;
* the pod's connect() port: memoised keyed hash, perturbation table, even-port scan (spec §8);
* an ISN, a conntrack entry, port preservation or the random-offset NAT search (spec §4.4);
* confirm (two probes, insert both directions, per-destination count, GC wheel);
* ESTABLISHED one RTT later, TIME_WAIT after the hold time, the pod's 60 s TIME_WAIT;
* a per-second GC worker destroying expired entries (hash, count, by-source index).

It leaves out everything the model adds to be a model: SimPy (a bare heap loop instead), CPU
queues and the race window's event, the kernel layer's generality (eras, ranges, eviction,
UDP, same-origin and expiry checks on every hit), result objects, records, counters, per-second
series, trace hooks, validation. So the model can only be slower; the ratio between the two,
measured in one run, says how much of its cost is modelling rather than the work itself.

Run: ``.venv/bin/python benchmarks/floor.py`` (or see ``benchmarks/run.py``, which reports both).
"""

from __future__ import annotations

import hashlib
import math
import time
import zlib
from heapq import heappop, heappush
from typing import Any

import numpy as np

RATE_PER_S = 300.0
PODS, CLIENTS = 30, 60
DST_IP, DST_PORT, NODE_IP = "203.0.113.10", 443, "192.0.2.10"
LO, N_EVEN = 32768, 28232  # ip_local_port_range 32768-60999, scanned in steps of 2
TIME_WAIT_S, ESTABLISHED_S, POD_TIME_WAIT_S, RTT_S = 120.0, 432_000.0, 60.0, 0.002
CONFIRMED, ASSURED, DYING = 1, 2, 64


class _Entry:
    __slots__ = ("expires_s", "gc_at", "orig", "reply", "seq_end", "state", "status")

    def __init__(self, orig: tuple[Any, ...], seq_end: int) -> None:
        self.orig = orig
        self.reply = (orig[0], orig[3], orig[4], orig[1], orig[2])
        self.state = 1
        self.expires_s = 0.0
        self.status = 0
        self.gc_at = -1
        self.seq_end = seq_end


class _Conn:
    __slots__ = ("entry", "orig", "pod", "t0")


class Floor:
    """One run of the stripped-down default workload (see the module docstring)."""

    def __init__(self, seed: int = 1, n_draws: int = 2_000_000) -> None:
        rng = np.random.default_rng(seed)
        self.uniform = rng.random(n_draws).tolist()
        self.u16 = rng.integers(0, 65536, n_draws // 4).tolist()
        self.hold_s = rng.lognormal(math.log(0.2) - 0.32, 0.8, n_draws // 4).tolist()
        self.window_s = (rng.lognormal(-0.125, 0.5, n_draws // 4) * 1e-6).tolist()
        self.ui = self.u16i = self.hi = self.wi = 0
        self.hash: dict[tuple[Any, ...], _Entry] = {}
        self.per_destination: dict[tuple[Any, ...], int] = {}
        self.bysource: dict[tuple[Any, ...], _Entry] = {}
        self.wheel: dict[int, list[_Entry]] = {}
        self.slots: list[int] = []
        self.pods = [f"10.244.0.{i + 2}" for i in range(PODS)]
        self.busy_until: list[dict[int, float]] = [{} for _ in range(PODS)]
        self.memo: dict[tuple[str, int], int] = {}
        self.perturb: dict[int, int] = {}
        self.hasher = hashlib.blake2b(digest_size=8, key=b"floor-secret-16b")
        self.queue: list[tuple[float, int, Any, Any]] = []
        self.eid = 0
        self.rows: list[tuple[Any, ...]] = []
        self.count = 0

    def at(self, t: float, fn: Any, arg: Any) -> None:
        self.eid += 1
        heappush(self.queue, (t, self.eid, fn, arg))

    def arrival(self, _: object, now: float) -> None:
        u, i = self.uniform, self.ui
        client = int(u[i] * CLIENTS)
        self.ui = i + 2
        self.at(now - math.log(1.0 - u[i + 1]) / RATE_PER_S, self.arrival, None)
        self.connect(client // 2, now)

    def _pod_port(self, pod: int, now: float) -> int:
        ip, busy = self.pods[pod], self.busy_until[pod]
        bucket = int(now // 10)
        po = self.memo.get((ip, bucket))
        if po is None:
            h = self.hasher.copy()
            h.update(f"{ip}>{DST_IP}:{DST_PORT}@{bucket}".encode())
            po = self.memo[(ip, bucket)] = int.from_bytes(h.digest(), "big")
        idx = po & 0xFFFF
        p = LO + (((self.perturb.get(idx, 0) + (po >> 32)) & 0xFFFFFFFF) % N_EVEN & ~1)
        i = 0
        for i in range(0, N_EVEN, 2):  # noqa: B007 - i is the scan length, used below
            if p >= LO + N_EVEN:
                p -= N_EVEN
            if busy.get(p, 0.0) <= now:
                break
            p += 2
        step = int(self.uniform[self.ui] * 8) * 2
        self.ui += 1
        self.perturb[idx] = (self.perturb.get(idx, 0) + (i if i > step else step) + 2) & 0xFFFFFFFF
        busy[p] = math.inf
        return p

    def _nat_reply(self, orig: tuple[Any, ...]) -> tuple[Any, ...]:
        reply = (6, DST_IP, DST_PORT, NODE_IP, orig[2])
        h = self.hash
        if h.get(reply) is None:
            return reply  # port preserved
        while True:
            off = self.u16[self.u16i]
            self.u16i += 1
            for _ in range(128):
                reply = (6, DST_IP, DST_PORT, NODE_IP, 1024 + off % 64512)
                if h.get(reply) is None:
                    return reply
                off = (off + 1) & 0xFFFF

    def connect(self, pod: int, now: float) -> None:
        ip = self.pods[pod]
        port = self._pod_port(pod, now)
        orig = (6, ip, port, DST_IP, DST_PORT)
        isn = zlib.crc32(f"{ip}:{port}>{DST_IP}:{DST_PORT}".encode(), 7) + (int(now * 1e9) >> 6)
        old = self.hash.get(orig)
        if old is not None:
            self.destroy(old)  # TCP reopen of a TIME_WAIT entry
        e = _Entry(orig, (isn + 1) & 0xFFFFFFFF)
        e.reply = reply = self._nat_reply(orig)
        self.bysource[orig[:3]] = e
        t = now + self.window_s[self.wi]
        self.wi += 1
        h = self.hash
        if h.get(orig) is None and h.get(reply) is None:  # confirm
            e.status |= CONFIRMED
            e.expires_s = t + TIME_WAIT_S  # SYN_SENT timeout (120 s)
            h[orig] = h[reply] = e
            self.count += 1
            key = (6, NODE_IP, DST_IP, DST_PORT)
            self.per_destination[key] = self.per_destination.get(key, 0) + 1
            self._file(e)
        conn = _Conn()
        conn.pod, conn.orig, conn.t0, conn.entry = pod, orig, now, e
        self.at(t + RTT_S, self.established, conn)

    def established(self, conn: _Conn, now: float) -> None:
        e = conn.entry
        e.state, e.status, e.expires_s = 3, e.status | ASSURED, now + ESTABLISHED_S
        self.at(now + self.hold_s[self.hi], self.close, conn)
        self.hi += 1

    def close(self, conn: _Conn, now: float) -> None:
        e = conn.entry
        e.state, e.expires_s = 7, now + TIME_WAIT_S
        self.busy_until[conn.pod][conn.orig[2]] = now + POD_TIME_WAIT_S
        self.rows.append((conn.pod, conn.t0, now, conn.orig[2], e.reply[4], "established"))

    def _file(self, e: _Entry) -> None:
        slot = e.gc_at = int(e.expires_s)
        records = self.wheel.get(slot)
        if records is None:
            self.wheel[slot] = [e]
            heappush(self.slots, slot)
        else:
            records.append(e)

    def destroy(self, e: _Entry) -> None:
        h, r = self.hash, e.reply
        if h.get(r) is e:
            del h[r]
            if h.get(e.orig) is e:
                del h[e.orig]
            self.count -= 1
            key = (r[0], r[3], r[1], r[2])
            self.per_destination[key] -= 1
        e.status |= DYING
        if self.bysource.get(e.orig[:3]) is e:
            del self.bysource[e.orig[:3]]

    def gc(self, _: object, now: float) -> None:
        while self.slots and self.slots[0] <= int(now):
            slot = heappop(self.slots)
            kept = []
            for e in self.wheel.pop(slot):
                if e.status & (CONFIRMED | DYING) != CONFIRMED or e.gc_at != slot:
                    continue
                if e.expires_s <= now:
                    self.destroy(e)
                elif int(e.expires_s) == slot:
                    kept.append(e)
                else:
                    self._file(e)
            if kept:
                self.wheel[slot] = kept
                heappush(self.slots, slot)
                break
        self.at(now + 1.0, self.gc, None)

    def run(self, duration_s: float) -> dict[str, float]:
        """Simulate ``duration_s`` seconds; return connections closed, wall seconds, live entries."""
        self.at(0.0, self.arrival, None)
        self.at(1.0, self.gc, None)
        started = time.perf_counter()
        queue = self.queue
        while queue and queue[0][0] < duration_s:
            t, _, fn, arg = heappop(queue)
            fn(arg, t)
        wall_s = time.perf_counter() - started
        return {"rows": len(self.rows), "wall_s": wall_s, "live_entries": self.count}


def floor_throughput(duration_s: float = 600.0) -> dict[str, float]:
    """Connections per wall-second of the floor (best of two runs)."""
    best: dict[str, float] = {}
    for _ in range(2):
        run = Floor().run(duration_s)
        run["connections_per_wall_s"] = run["rows"] / run["wall_s"]
        if not best or run["connections_per_wall_s"] > best["connections_per_wall_s"]:
            best = run
    return best


if __name__ == "__main__":
    r = floor_throughput()
    print(f"floor: {r['connections_per_wall_s']:,.0f} connections per wall-second "
          f"({r['rows']:,.0f} connections, {r['wall_s']:.2f} s, {r['live_entries']:,.0f} live entries)")
