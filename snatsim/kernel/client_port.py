"""The pod's own ``connect()`` ephemeral port choice (spec §8, §2.3, §12).

:class:`ConnectPortChooser` restates the pseudocode of spec §8 (``__inet_hash_connect``): a
start offset from a keyed hash of (saddr, daddr, dport) plus a perturbation value, then a scan of
the range in steps of 2 over the ports with the parity of ``lo`` (even for the default
32768–60999), then the other parity. The caller's ``in_use(port)`` stands for the kernel's checks
(reserved ports, bind bucket, 4-tuple uniqueness inside the pod netns, spec §8).

Eras (spec §2.3):

* **P3** (5.18+) [C]: 64-bit keyed hash of (saddr, daddr, dport, 10-second time bucket); table index
  = low 16 bits, offset = high 32 bits; ``TABLE[idx] += max(i, step * rand_below(8)) + step``.
* **P4** (6.3+): as P3. With a per-socket ``IP_LOCAL_PORT_RANGE`` (``socket_range=``) the scan uses
  step 1 and no parity split [C]; the later (≈6.8) randomisation inside it [U] is not modelled.
* **P2** (5.12–5.17): 32-bit hash without time bucket, a 256-entry table indexed by
  ``hash_32(po, 8)``, ``TABLE[idx] += i + 2``. The arithmetic is [U] in the spec.
* **P1** (4.2–5.11): one global hint plus a 32-bit hash without time bucket; ``hint += i + 2`` on
  success. The arithmetic is [U] in the spec.
* **P0** (≤ 4.1): approximated as P1 with step 1 and no parity split (``hint += i + 1``) [U]. P0
  kernels used the range 32768–61000: see :func:`default_port_range`.

Approximations:

* The kernel's siphash (and ``secure_port``'s MD5/siphash before it) is replaced by BLAKE2b keyed
  with ``secret`` (``hashlib.blake2b(digest_size=8, key=...)``; 4 bytes for the 32-bit eras). Values
  differ from a real kernel; the statistics (constant per input, uniform across inputs) do not.
* The kernel fills the perturbation table with random bytes on first use; here it starts at 0
  (stored sparsely). The high half of the hash already makes the start offset uniform, so the
  distribution of the chosen port is the same [I].
* In the kernel the secret, the perturbation table and the P1 hint are global to the host, shared by
  every network namespace [I] (file-scope ``static`` data, not in the spec). Share one chooser per
  simulated node between its pods to model that; pods still choose almost independently because
  their ``saddr`` differs (spec §8).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from socket import inet_aton
from typing import TYPE_CHECKING

from snatsim.errors import ConfigError, SnatsimError
from snatsim.kernel.eras import ClientEra

if TYPE_CHECKING:
    from snatsim.rng import Draws

__all__ = ["ConnectPortChooser", "PortExhaustedError", "default_port_range"]

_M32 = 0xFFFFFFFF
_GOLDEN_RATIO_32 = 0x61C88647  # the kernel's hash_32() multiplier
_RESALT_S = 10.0  # P3 secret re-mix period (spec §2.3, §12)
_PACK_TIMED = struct.Struct("!4s4sHq").pack  # saddr, daddr, dport, 10 s bucket (P3/P4)
_PACK_UNTIMED = struct.Struct("!4s4sH").pack  # saddr, daddr, dport (P0-P2)


def default_port_range(era: ClientEra) -> tuple[int, int]:
    """The default ``ip_local_port_range`` of an era: 32768–61000 before 4.2, then 32768–60999."""
    return (32768, 61000) if era <= ClientEra.P0 else (32768, 60999)


class PortExhaustedError(SnatsimError):
    """No free local port for a ``connect()``: the kernel returns EADDRNOTAVAIL (spec §8)."""

    def __init__(self, saddr: str, daddr: str, dport: int, lo: int, hi: int) -> None:
        self.saddr, self.daddr, self.dport, self.lo, self.hi = saddr, daddr, dport, lo, hi
        super().__init__(
            f"no free local port in {lo}-{hi} for {saddr} -> {daddr}:{dport}: connect() fails "
            "with EADDRNOTAVAIL; widen the client port range or hold fewer connections open"
        )


def _check_range(lo: int, hi: int, field: str) -> None:
    for value in (lo, hi):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(field, f"{value!r} is not a port number; use integers 1..65535")
    if not 1 <= lo <= hi <= 65535:
        raise ConfigError(field, f"{lo}-{hi} is not a port range; need 1 <= lo <= hi <= 65535")


class ConnectPortChooser:
    """The pod-side ``connect()`` ephemeral port choice of one kernel (spec §8, §2.3).

    Parameters
    ----------
    era:
        The client port era.
    secret:
        The keyed-hash secret, ``0 <= secret < 2**128``, drawn by the caller from its own rng (the
        kernel layer has no randomness of its own).
    lo, hi:
        ``net.ipv4.ip_local_port_range`` (inclusive).

    Notes
    -----
    Deterministic given the inputs: the only random value used is one ``draws.below(8)`` per
    successful P3/P4 choice (the table increment), drawn after the scan.
    """

    __slots__ = (
        "_hasher", "_hint", "_memo", "_memo_bucket", "_mode", "_n", "_step", "_table", "era", "hi",
        "lo",
    )

    def __init__(self, era: ClientEra, secret: int, lo: int = 32768, hi: int = 60999) -> None:
        self.era = ClientEra(era)
        _check_range(lo, hi, "client.port_range")
        if isinstance(secret, bool) or not isinstance(secret, int) or not 0 <= secret < 1 << 128:
            raise ConfigError("client.secret", f"{secret!r} must be an integer in [0, 2**128)")
        self.lo = lo
        self.hi = hi
        key = secret.to_bytes(16, "little")
        # a keyed hasher to copy per call (cheaper than re-keying): 8 bytes for P3/P4, else 4
        self._hasher = hashlib.blake2b(digest_size=8 if self.era >= ClientEra.P3 else 4, key=key)
        # plain-int mode for the hot path: 3 = P3/P4 table, 2 = P2 table, 1 = P0/P1 hint
        self._mode = 3 if self.era >= ClientEra.P3 else 2 if self.era >= ClientEra.P2 else 1
        self._step = 1 if self.era <= ClientEra.P0 else 2
        n = hi + 1 - lo
        self._n = n & ~1 if self._step == 2 and n > 1 else n
        self._table: dict[int, int] = {}  # perturbation table (P2: 256, P3/P4: 65,536 entries)
        self._hint = 0  # P0/P1 global hint
        self._memo: dict[tuple[str, str, int, int], int] = {}
        self._memo_bucket = 0

    @property
    def table(self) -> dict[int, int]:
        """The sparse perturbation table ``{index: u32}`` (entries never touched are 0)."""
        return self._table

    @property
    def hint(self) -> int:
        """The P0/P1 global hint (u32)."""
        return self._hint

    def _hash(self, saddr: str, daddr: str, dport: int, bucket: int) -> int:
        """The keyed hash ``po`` of spec §8 (P3/P4: 64 bits with the 10 s bucket; else 32 bits).

        Computes and stores into the memo, which :meth:`_start` reads first: every connect() from one
        pod to one destination within a bucket hashes the same inputs; the memo only ever holds the
        current bucket.
        """
        if bucket != self._memo_bucket:
            self._memo.clear()
            self._memo_bucket = bucket
        h = self._hasher.copy()
        if self._mode == 3:
            h.update(_PACK_TIMED(inet_aton(saddr), inet_aton(daddr), dport, bucket))
        else:
            h.update(_PACK_UNTIMED(inet_aton(saddr), inet_aton(daddr), dport))
        po = self._memo[(saddr, daddr, dport, bucket)] = int.from_bytes(h.digest(), "big")
        return po

    def _start(
        self, saddr: str, daddr: str, dport: int, now_s: float, n: int, step: int
    ) -> tuple[int, int]:
        """``(table index, start offset)`` of spec §8; index -1 means the P0/P1 hint."""
        mode = self._mode
        bucket = int(now_s // _RESALT_S) if mode == 3 else 0
        po = self._memo.get((saddr, daddr, dport, bucket))  # the memo of _hash
        if po is None:
            po = self._hash(saddr, daddr, dport, bucket)
        if mode == 3:
            idx = po & 0xFFFF
            off = ((self._table.get(idx, 0) + (po >> 32)) & _M32) % n
        elif mode == 2:
            idx = ((po * _GOLDEN_RATIO_32) & _M32) >> 24  # hash_32(po, 8)
            off = ((self._table.get(idx, 0) + po) & _M32) % n
        else:
            idx = -1
            off = ((self._hint + po) & _M32) % n
        if step == 2:
            off &= ~1
        return idx, off

    def first_probe(
        self,
        saddr: str,
        daddr: str,
        dport: int,
        now_s: float,
        *,
        socket_range: tuple[int, int] | None = None,
    ) -> int:
        """The port :meth:`choose` would probe first (and return if it is free); no side effects."""
        lo, _end, n, step = self._geometry(socket_range)
        return lo + self._start(saddr, daddr, dport, now_s, n, step)[1]

    def _geometry(self, socket_range: tuple[int, int] | None) -> tuple[int, int, int, int]:
        """``(lo, hi + 1, n, step)`` of the scan (spec §8)."""
        if socket_range is None:
            return self.lo, self.hi + 1, self._n, self._step
        if self.era < ClientEra.P4:
            raise ConfigError(
                "client.socket_range",
                f"IP_LOCAL_PORT_RANGE needs kernel 6.3+ (client era P4), not {self.era}; "
                "drop the per-socket range or use client era P4",
            )
        lo, hi = socket_range
        _check_range(lo, hi, "client.socket_range")
        return lo, hi + 1, hi + 1 - lo, 1

    def choose(
        self,
        saddr: str,
        daddr: str,
        dport: int,
        now_s: float,
        in_use: Callable[[int], bool],
        draws: Draws,
        *,
        socket_range: tuple[int, int] | None = None,
    ) -> int:
        """Pick the local port of a ``connect()`` from ``saddr`` to ``daddr:dport`` (spec §8).

        Parameters
        ----------
        saddr, daddr, dport:
            The pod's address and the destination.
        now_s:
            Simulation time; P3/P4 re-mix the hash secret every 10 s.
        in_use:
            ``in_use(port)`` is True when the port cannot be used (bound, or the 4-tuple exists in
            the pod netns and is not reusable).
        draws:
            Random source for the P3/P4 table increment (one ``below(8)`` per success).
        socket_range:
            A per-socket ``IP_LOCAL_PORT_RANGE`` ``(lo, hi)``: P4 only, step 1 and no parity split.

        Raises
        ------
        PortExhaustedError
            Every scanned port is in use (EADDRNOTAVAIL). With an odd number of ports in the range
            the kernel scans one port fewer (which one depends on the start), and so does this.
        """
        if socket_range is None:  # inline _geometry: this is once per connect()
            lo, end, n, step = self.lo, self.hi + 1, self._n, self._step
        else:
            lo, end, n, step = self._geometry(socket_range)
        idx, off = self._start(saddr, daddr, dport, now_s, n, step)
        for _parity_pass in (0, 1):
            p = lo + off
            for i in range(0, n, step):
                if p >= end:
                    p -= n
                if not in_use(p):
                    # move the perturbation entry (or the hint) after a success (spec §8)
                    mode = self._mode
                    if mode == 3:
                        b = draws.below(8) * step
                        inc = (i if i > b else b) + step
                        self._table[idx] = (self._table.get(idx, 0) + inc) & _M32
                    elif mode == 2:
                        self._table[idx] = (self._table.get(idx, 0) + i + 2) & _M32
                    else:
                        self._hint = (self._hint + i + step) & _M32
                    return p
                p += step
            if step == 1:
                break
            off += 1  # second pass: the other parity
        raise PortExhaustedError(saddr, daddr, dport, lo, end - 1)
