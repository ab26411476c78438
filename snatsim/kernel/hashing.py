"""Deterministic hashes the kernel uses for NAT decisions (spec §4.3, §4.4).

* :func:`jhash2` is the kernel's unkeyed Jenkins hash (``include/linux/jhash.h``), used to pick the
  SNAT IP from a pool (spec §4.3).
* :func:`keyed_hash32` stands in for the kernel's keyed ``secure_port``/siphash functions. The real
  ones are keyed with a boot secret; any well-mixed keyed hash has the same statistics, so we use
  BLAKE2b with the secret as key (an approximation: values differ from a real kernel's, the
  behaviour — constant per input, uniform across inputs — does not).
"""

from __future__ import annotations

import hashlib

_M32 = 0xFFFFFFFF
JHASH_INITVAL = 0xDEADBEEF


def _rol32(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M32


def _mix(a: int, b: int, c: int) -> tuple[int, int, int]:
    a = (a - c) & _M32
    a ^= _rol32(c, 4)
    c = (c + b) & _M32
    b = (b - a) & _M32
    b ^= _rol32(a, 6)
    a = (a + c) & _M32
    c = (c - b) & _M32
    c ^= _rol32(b, 8)
    b = (b + a) & _M32
    a = (a - c) & _M32
    a ^= _rol32(c, 16)
    c = (c + b) & _M32
    b = (b - a) & _M32
    b ^= _rol32(a, 19)
    a = (a + c) & _M32
    c = (c - b) & _M32
    c ^= _rol32(b, 4)
    b = (b + a) & _M32
    return a, b, c


def _final(a: int, b: int, c: int) -> int:
    c ^= b
    c = (c - _rol32(b, 14)) & _M32
    a ^= c
    a = (a - _rol32(c, 11)) & _M32
    b ^= a
    b = (b - _rol32(a, 25)) & _M32
    c ^= b
    c = (c - _rol32(b, 16)) & _M32
    a ^= c
    a = (a - _rol32(c, 4)) & _M32
    b ^= a
    b = (b - _rol32(a, 14)) & _M32
    c ^= b
    c = (c - _rol32(b, 24)) & _M32
    return c


def jhash2(words: list[int] | tuple[int, ...], initval: int) -> int:
    """The kernel's ``jhash2(k, length, initval)`` over 32-bit words."""
    length = len(words)
    a = b = c = (JHASH_INITVAL + (length << 2) + initval) & _M32
    k = 0
    while length > 3:
        a = (a + words[k]) & _M32
        b = (b + words[k + 1]) & _M32
        c = (c + words[k + 2]) & _M32
        a, b, c = _mix(a, b, c)
        length -= 3
        k += 3
    if length == 0:
        return c
    if length == 3:
        c = (c + words[k + 2]) & _M32
    if length >= 2:
        b = (b + words[k + 1]) & _M32
    a = (a + words[k]) & _M32
    return _final(a, b, c)


def keyed_hash32(secret: bytes, *fields: object) -> int:
    """A keyed 32-bit hash of ``fields`` (stand-in for ``secure_port``/siphash; see module doc)."""
    data = "|".join(map(str, fields)).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=4, key=secret).digest(), "little")
