"""The teaching trace: one JSON object per event, written as JSON lines.

Fields: ``t_s`` (simulated seconds), ``flow`` (connection id), ``pod``, ``cpu`` (where known),
``step`` (syn / retransmit / nat / confirm / drop / established / close / app-timeout / etimedout /
query / answered / resolver-timeout / local-error), ``port`` (pod port for syn, NAT port for nat /
confirm / drop), the ``conntrack -S`` counters that move on a clash (``found``, ``insert_failed``,
``drop``, ``clash_resolve``), and step-specific details (``outcome``, ``cause``, ``probes``, ...).
A ``nat`` record also carries ``busy`` (probes that found the port taken) and ``rounds`` (search
rounds, spec §4.4), and, only when the 6.5+ search tried to evict (spec §5.3), ``evicted`` (the NAT
ports of the closing entries it removed) and ``evict_refused`` (how many the sequence test kept).
"""

from __future__ import annotations

import json
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snatsim.des.records import Connection
    from snatsim.kernel.conntrack import ConntrackStats


class Trace:
    """Collects trace records in memory and/or streams them to a text file."""

    def __init__(self, stream: IO[str] | None = None, *, keep: bool = True) -> None:
        self.stream = stream
        self.keep = keep
        self.records: list[dict[str, Any]] = []

    def write(self, t_s: float, conn: Connection, step: str, port: int | None,
              stats: ConntrackStats, detail: dict[str, Any]) -> None:
        """Record one event."""
        rec: dict[str, Any] = {
            "t_s": round(t_s, 9), "flow": conn.id, "pod": conn.pod, "step": step, "port": port,
            "found": stats.found, "insert_failed": stats.insert_failed, "drop": stats.drop,
            "clash_resolve": stats.clash_resolve,
        }
        rec.update(detail)
        if self.keep:
            self.records.append(rec)
        if self.stream is not None:
            self.stream.write(json.dumps(rec) + "\n")
