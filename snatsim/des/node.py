"""The node: CPUs, the packet path through NAT and confirm, and each connection's life (spec §3, §13).

Every NAT, used-check and confirm decision is made by the kernel layer. This module only decides
*when* things happen:

* A new flow's first packet is processed on one CPU (``node.steering``). Each CPU is a FIFO: a
  packet's conntrack "in" and NAT run when the CPU is free, and the CPU stays busy until that
  packet's confirm, ``nat_to_confirm_us`` later (spec §3.2 race window, §13.1); then it takes the
  next queued packet. Time spent outside that window (routing, filter) is not modelled: it does
  not change what NAT can see.
* Confirm drops a clashing SYN; the client retransmits it with the same pod port and ISN at the
  times of the SYN schedule (spec §9, §16.2); each retransmit is a new flow through NAT.
* An accepted SYN is answered one RTT later (ESTABLISHED, ASSURED). After its requests the
  connection closes: FIN -> conntrack TIME_WAIT, RST -> CLOSE (spec §10).

Ties: simultaneous events run in the order they were scheduled (SimPy's (time, priority,
insertion) rule), so a run is an exact function of the config and the seed. A TCP confirm is run
inline, without an event, when its CPU has nothing queued and SimPy's queue holds nothing due at
or before it; this is exact because arrivals are always scheduled before the connect() they
trigger runs (see :mod:`snatsim.des.workloads`), so nothing can be scheduled into the gap
(the app's ``connect_timeout_s``, armed only when a SYN is lost, is the one event the node itself
could schedule there: a confirm is not run ahead of it). The
rule is guarded: :meth:`Node.at` raises if anything is scheduled before a confirm that already
ran ahead, and ``inline_confirm=False`` schedules every confirm as an event (the test suite
checks that every config gives identical results both ways).

Approximations (also in ``docs/model.md``): a FIN close jumps straight to TIME_WAIT (the FIN_WAIT /
LAST_ACK steps last about one RTT); the pod closes first, so its own socket holds the 4-tuple for
60 s (TCP TIME_WAIT); a fixed ``source_port`` ignores that (SO_REUSEADDR).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import simpy

from snatsim.des.records import Connection, Packet, Recorder
from snatsim.des.schedule import Handler, call_at
from snatsim.des.setup import Client, NodeSetup, PortInUseError
from snatsim.des.trace import Trace
from snatsim.kernel.client_port import PortExhaustedError
from snatsim.kernel.confirm import ConfirmOutcome, confirm
from snatsim.kernel.conntrack import TCP, Entry, TcpState
from snatsim.kernel.nat import NatOutcome, NatResult
from snatsim.kernel.tuples import PORTS, conn_tuple

# members as plain module constants: ``TcpState.X`` costs a Python-level lookup on 3.11
_ESTABLISHED, _TIME_WAIT, _CLOSE = TcpState.ESTABLISHED, TcpState.TIME_WAIT, TcpState.CLOSE
_DROPPED, _MERGED = ConfirmOutcome.DROPPED, ConfirmOutcome.MERGED

POD_TIME_WAIT_S = 60.0  # TCP_TIMEWAIT_LEN of the pod's own socket after an active close
UDP_QUERIES = 2  # glibc sends A and AAAA back-to-back on one socket (spec §11)


class Node:
    """One Kubernetes/Docker node doing SNAT for its pods' connections."""

    def __init__(self, env: simpy.Environment, setup: NodeSetup, recorder: Recorder,
                 trace: Trace | None, *, inline_confirm: bool = True) -> None:
        self.env = env
        self.inline_confirm = inline_confirm
        self.accepting = True  # new connections are accepted until the end (then the drain)
        self._ran_ahead_s = -1.0  # time of the last confirm run inline, ahead of env.now
        self.s = setup
        self.table = setup.table
        self.nat = setup.allocator
        self.rec = recorder
        self.trace = trace
        self.cpu_busy = [False] * setup.cpus
        self.cpu_queue: list[deque[Packet]] = [deque() for _ in range(setup.cpus)]
        self._next_id = 0

    @property
    def connections_started(self) -> int:
        """connect() calls (TCP) and requests (UDP) so far, warm-up included (for progress)."""
        return self._next_id

    # ------------------------------------------------------------------ scheduling helpers
    def at(self, t_s: float, fn: Handler, arg: Any) -> None:
        """Call ``fn(arg, t_s)`` at absolute simulated time ``t_s`` (not before now)."""
        now = self.env.now
        delay = t_s - now
        t = now + delay if delay > 0.0 else now
        if t < self._ran_ahead_s:
            raise AssertionError(
                f"an event at {t!r} s was scheduled after a confirm ran inline at "
                f"{self._ran_ahead_s!r} s: the caller of connect() must schedule its next events "
                "first (see snatsim.des.workloads), or run with inline_confirm=False"
            )
        call_at(self.env, t, fn, arg)

    def _log(self, t_s: float, conn: Connection, step: str, port: int | None = None,
             **detail: Any) -> None:
        assert self.trace is not None
        self.trace.write(t_s, conn, step, port, self.table.stats, detail)

    def _log_nat(self, t_s: float, conn: Connection, cpu: int, result: NatResult) -> None:
        """The NAT decision's trace record; eviction details (spec §5.3) only when there are any."""
        detail: dict[str, Any] = {"cpu": cpu, "outcome": str(result.outcome),
                                  "probes": result.probes, "busy": result.busy_probes,
                                  "rounds": result.rounds}
        if result.evicted:
            detail["evicted"] = [e.nat_tuple.src_port for e in result.evicted]
        if result.evict_refused:
            detail["evict_refused"] = result.evict_refused
        self._log(t_s, conn, "nat", result.port, **detail)

    # ------------------------------------------------------------------ connect()
    def connect(self, client: Client, now: float,
                on_done: Callable[[Connection], None] | None = None) -> None:
        """A client calls connect() (TCP) or sends a DNS-like request (UDP) at ``now``.

        Must be the last thing an event callback does (see the module docstring). After the
        end of the run (the drain) it does nothing.
        """
        if not self.accepting:
            return
        s = self.s
        w = client.workload
        dst = w.pick_destination()
        pod = client.pod
        self._next_id += 1
        conn = Connection(self._next_id, w, pod.index, dst, client.cpu, now, now >= s.warmup_s,
                          on_done)
        try:
            port = pod.local_port(w, dst, now, s.client_draws)
        except (PortExhaustedError, PortInUseError):  # EADDRNOTAVAIL / EADDRINUSE in the pod
            conn.outcome = "local_error"
            if self.trace is not None:
                self._log(now, conn, "local-error")
            self.rec.finish(conn, now)
            return
        conn.orig = orig = conn_tuple((w.proto, pod.ip, PORTS[port], dst.ip, dst.port))
        conn.isn = s.isn(orig, now)
        self.rec.started(conn)
        if w.proto == TCP:
            conn.schedule = s.syn_schedule
            self._send_syn(conn, now)
        else:
            self._send_queries(conn, now)

    # ------------------------------------------------------------------ the packet path
    def _send_syn(self, conn: Connection, now: float) -> None:
        """The client (re)sends its SYN; it enters the node's forwarding path now."""
        conn.syns += 1
        self.rec.packet_sent("syn", now)
        if self.trace is not None:
            self._log(now, conn, "syn" if conn.syns == 1 else "retransmit", conn.orig.src_port)
        self._enter(conn, now)

    def _enter(self, conn: Connection, now: float) -> None:
        """The packet reaches a CPU; it is processed (conntrack "in", NAT) once the CPU is free."""
        s = self.s
        steering = s.steering
        if steering == "client":
            cpu = conn.client_cpu
        elif steering == "random":
            cpu = s.packet_draws.below(s.cpus)
        else:
            cpu = s.flow_cpu(conn.orig)
        pkt = Packet(conn, cpu, s.window_s())
        if self.cpu_busy[cpu]:
            self.cpu_queue[cpu].append(pkt)  # processed when the CPU's current packet confirms
        else:
            self.cpu_busy[cpu] = True
            self._nat(pkt, now)

    def _next_packet(self, cpu: int, now: float) -> None:
        """The CPU finished a packet: start the next queued one (FIFO), or go idle."""
        queue = self.cpu_queue[cpu]
        if queue:
            self._nat(queue.popleft(), now)
        else:
            self.cpu_busy[cpu] = False

    def _nat(self, pkt: Packet, now: float) -> None:
        """Conntrack "in", then the SNAT hook: choose the source from the confirmed table (spec §4)."""
        conn = pkt.conn
        table = self.table
        if (table.raw_lookup(conn.orig) is not None  # a plain dict probe first: almost always a miss
                and table.lookup_new_packet(conn.orig, now) is not None):
            # a UDP sibling whose entry got confirmed first: the packet simply belongs to it
            if conn.orig.proto == TCP:
                raise AssertionError(f"a new TCP flow's SYN hit a live entry: {conn.orig}")
            self._udp_packet_through(conn, now)
            self._next_packet(pkt.cpu, now)
            return
        if table.count >= table.max_entries and not table.admit_new():
            self._dropped(conn, now, "table-full", None)
            self._next_packet(pkt.cpu, now)
            return
        entry = Entry(conn.orig, conn.isn + 1)  # seq_end: the SYN consumes one sequence number
        pkt.entry = entry
        if conn.wl.snat:
            result = self.nat.setup(entry, table, now, self.s.kernel_draws)
        else:
            entry.nat_done = True  # null binding: destination excluded from masquerade
            result = NatResult(conn.orig, NatOutcome.PRESERVED)
        pkt.nat = result
        if self.trace is not None:
            self._log_nat(now, conn, pkt.cpu, result)
        t_confirm = now + pkt.window_s
        timeout = conn.wl.connect_timeout_s  # armed lazily on a SYN loss: it may fall before
        if (self.inline_confirm and conn.orig[0] == TCP and not self.cpu_queue[pkt.cpu]
                and self.env.peek() > t_confirm  # nothing else due before the confirm
                and (timeout is None or conn.t0 + timeout > t_confirm)):
            self._ran_ahead_s = t_confirm
            self._confirm(pkt, t_confirm)  # nothing can happen in between: run it inline
        else:
            self.at(t_confirm, self._confirm, pkt)

    def _confirm(self, pkt: Packet, now: float) -> None:
        """The confirm hook at the end of POSTROUTING (spec §6); then the CPU takes its next packet."""
        conn = pkt.conn
        entry = pkt.entry
        nat = pkt.nat
        assert entry is not None and nat is not None
        outcome = confirm(self.table, entry, now, self.s.confirm_era)
        if outcome is _DROPPED:
            # spec §16.1: a port NAT knew was busy is eviction failure or exhaustion, else a race
            cause = ("eviction" if nat.evict_refused else "exhaustion") if nat.known_busy else "race"
            self._dropped(conn, now, cause, pkt)
        else:
            if self.trace is not None:
                self._log(now, conn, "confirm", entry.nat_tuple.src_port, cpu=pkt.cpu,
                          outcome=str(outcome))
            if outcome is not _MERGED:
                conn.entry = entry
            conn.nat_port = nat.tuple[2]
            conn.nat_outcome = nat.outcome
            if conn.orig[0] == TCP:
                self.at(now + self.s.rtt_s(), self._established, conn)
            else:
                self._udp_packet_through(conn, now)
        self._next_packet(pkt.cpu, now)

    def _dropped(self, conn: Connection, now: float, cause: str, pkt: Packet | None) -> None:
        """The packet is gone: TCP waits for its retransmit timer, UDP for the app's resend."""
        conn.lost += 1
        self.rec.dropped(conn, now, cause)
        if self.trace is not None:
            port = pkt.nat.port if pkt is not None and pkt.nat is not None else None
            self._log(now, conn, "drop", port, cause=cause)
        if conn.orig.proto == TCP:
            self._after_syn_loss(conn, now)
        elif not conn.retry_pending:
            conn.retry_pending = True
            self.at(conn.t0 + conn.tries * conn.wl.retry_timeout_s, self._udp_retry, conn)

    # ------------------------------------------------------------------ TCP
    def _after_syn_loss(self, conn: Connection, now: float) -> None:
        """Arm the retransmit timer, or the app's dial timeout / ETIMEDOUT if they come first."""
        sched = conn.schedule
        assert sched is not None
        timeout = conn.wl.connect_timeout_s
        more = conn.syns < len(sched.send_times_s)
        next_at = conn.t0 + (sched.send_times_s[conn.syns] if more else sched.give_up_s)
        if timeout is not None and conn.t0 + timeout <= next_at:
            self.at(conn.t0 + timeout, self._app_timeout, conn)
        elif more:
            self.at(next_at, self._send_syn, conn)
        else:
            self.at(next_at, self._etimedout, conn)

    def _app_timeout(self, conn: Connection, now: float) -> None:
        self._end(conn, now, "app_timeout", "app-timeout")

    def _etimedout(self, conn: Connection, now: float) -> None:
        self._end(conn, now, "failed", "etimedout")

    def _end(self, conn: Connection, now: float, outcome: str, step: str) -> None:
        """The connection ends without (further) traffic: failure or timeout."""
        conn.outcome = outcome
        if self.trace is not None:
            self._log(now, conn, step)
        self.s.pods[conn.pod].release(conn.orig, now)
        self.rec.finish(conn, now)

    def _established(self, conn: Connection, now: float) -> None:
        entry = conn.entry
        assert entry is not None
        timeout = conn.wl.connect_timeout_s
        if timeout is not None and now - conn.t0 > timeout:
            # the app gave up while the SYN-ACK was in flight: the client answers it with a RST
            self.table.set_state(entry, _CLOSE, now)
            self._app_timeout(conn, now)
            return
        self.table.set_state(entry, _ESTABLISHED, now, assured=True)
        conn.outcome = "established"
        conn.latency_s = now - conn.t0
        self.rec.resolved(conn)
        if self.trace is not None:
            self._log(now, conn, "established", entry.nat_tuple.src_port, latency_s=conn.latency_s)
        self.at(now + conn.wl.lifetime_s(), self._close, conn)

    def _close(self, conn: Connection, now: float) -> None:
        entry = conn.entry
        assert entry is not None
        fin = conn.wl.fin
        entry.seq_end = (entry.seq_end + 1) & 0xFFFFFFFF  # our FIN
        self.table.set_state(entry, _TIME_WAIT if fin else _CLOSE, now)
        if self.trace is not None:
            self._log(now, conn, "close", entry.nat_tuple.src_port, by="fin" if fin else "rst")
        self.s.pods[conn.pod].release(conn.orig, now + POD_TIME_WAIT_S if fin else now)
        self.rec.finish(conn, now)

    # ------------------------------------------------------------------ UDP (DNS-like, spec §11)
    def _send_queries(self, conn: Connection, now: float) -> None:
        """One try: the A and AAAA queries leave the socket back-to-back."""
        conn.tries += 1
        conn.retry_pending = False
        conn.answered = 0
        for _ in range(UDP_QUERIES):
            self.rec.packet_sent("query", now)
            if self.trace is not None:
                self._log(now, conn, "query", conn.orig.src_port)
            self._enter(conn, now)

    def _udp_packet_through(self, conn: Connection, now: float) -> None:
        """A query left the node; when both of a try's queries did, the answers come back."""
        conn.answered += 1
        if conn.answered == UDP_QUERIES:
            self.at(now + self.s.rtt_s(), self._udp_answered, conn)

    def _udp_answered(self, conn: Connection, now: float) -> None:
        if conn.outcome is not None:
            return
        entry = conn.entry
        if entry is not None and entry.confirmed and not entry.dying:
            self.table.set_state(entry, TcpState.NONE, now)  # replied: timeout restarts
        conn.outcome = "established"
        conn.latency_s = now - conn.t0
        if self.trace is not None:
            self._log(now, conn, "answered", conn.orig.src_port, latency_s=conn.latency_s)
        self.s.pods[conn.pod].release(conn.orig, now)
        self.rec.finish(conn, now)

    def _udp_retry(self, conn: Connection, now: float) -> None:
        if conn.outcome is not None:
            return
        if conn.tries >= conn.wl.attempts:
            self._end(conn, now, "failed", "resolver-timeout")
            return
        self._send_queries(conn, now)
