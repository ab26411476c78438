"""Conntrack tuples and reply tuples (spec §3.2, §5.1).

A tuple is ``(proto, src_ip, src_port, dst_ip, dst_port)``: a plain NamedTuple so that it hashes as
fast as a tuple (the conntrack table is a dict keyed by tuples). IPs are dotted-quad strings.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from functools import partial
from typing import NamedTuple


class Proto(IntEnum):
    """L4 protocol numbers."""

    TCP = 6
    UDP = 17

    def __str__(self) -> str:
        return self.name.lower()


PORTS: tuple[int, ...] = tuple(range(65536))
"""Interned port numbers: ``PORTS[p]`` is one shared int object per port, so a table of tuples
does not hold a separate int for every entry's ports (28 bytes each above 256)."""


class ConnTuple(NamedTuple):
    """One direction of a connection: ``proto src_ip:src_port -> dst_ip:dst_port``."""

    proto: int
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int

    def inverted(self) -> ConnTuple:
        """The tuple of a packet travelling the other way (what a reply looks like)."""
        return conn_tuple((self[0], self[3], self[4], self[1], self[2]))

    def with_source(self, ip: str, port: int) -> ConnTuple:
        """This tuple with its source rewritten to ``ip:port`` (the SNAT candidate)."""
        return conn_tuple((self[0], ip, port, self[3], self[4]))

    def __str__(self) -> str:
        proto = Proto(self.proto).name.lower() if self.proto in (6, 17) else str(self.proto)
        return f"{proto} {self.src_ip}:{self.src_port}->{self.dst_ip}:{self.dst_port}"


def ip_to_int(ip: str) -> int:
    """Dotted quad to a 32-bit integer (network order value)."""
    parts = ip.split(".")
    if len(parts) != 4:
        raise ValueError(f"not an IPv4 address: {ip!r}")
    value = 0
    for part in parts:
        octet = int(part)
        if not 0 <= octet <= 255:
            raise ValueError(f"not an IPv4 address: {ip!r}")
        value = (value << 8) | octet
    return value


conn_tuple: Callable[[tuple[int, str, int, str, int]], ConnTuple] = partial(tuple.__new__, ConnTuple)
"""``conn_tuple((proto, src_ip, src_port, dst_ip, dst_port))`` equals ``ConnTuple(proto, ...)``
without the NamedTuple constructor's Python-level ``__new__``: the one speed idiom the kernel
layer and the node share for building tuples on the hot path."""
