"""Kernel-faithful reference layer: what Linux does when it source-NATs a new connection.

Pure, deterministic algorithms mirroring ``docs/kernel.md`` (the spec) era by era. No SimPy, no
matplotlib, no typer, and no randomness of its own: every random draw comes from a
:class:`snatsim.rng.Draws` (or Generator) passed in by the caller.

Modules: :mod:`.tuples` (tuples), :mod:`.eras` (era names), :mod:`.window` (port windows),
:mod:`.hashing` (jhash, keyed hashes), :mod:`.conntrack` (the confirmed table, states, counters),
:mod:`.nat` (``get_unique_tuple`` per era), :mod:`.confirm` (confirm + clash resolution),
:mod:`.client_port` (pod-side ephemeral ports), :mod:`.tcp` (SYN retransmit schedule),
:mod:`.timeouts`, :mod:`.profiles` (version -> eras).
"""
