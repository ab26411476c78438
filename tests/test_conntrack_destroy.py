"""Destroying an entry removes exactly its own slots (hash, by-source index, counts), never another's."""

from __future__ import annotations

from conftest import NODE_IP, occupy

from snatsim.kernel.conntrack import ConntrackTable, Entry


def test_destroy_removes_both_directions_and_the_index() -> None:
    table = ConntrackTable()
    e = occupy(table, 40000)
    assert len(table) == 1 and table.ports_in_use(6, NODE_IP, *e.orig[3:]) == 1
    table.destroy(e)
    assert e.dying and len(table) == 0 and table.entries() == []
    assert e.orig not in table and e.reply not in table
    assert table.bysource(*e.orig[:3]) == [] and table.destinations() == {}


def test_a_second_destroy_leaves_the_new_holder_of_the_tuple_alone() -> None:
    """Once ``old`` is gone, a new entry takes the same tuples; destroying ``old`` again is a no-op."""
    table = ConntrackTable()
    old = occupy(table, 40000)
    table.destroy(old)
    new = occupy(table, 40000)  # same pod socket, same NAT port: the same two tuples
    assert new.orig == old.orig and new.reply == old.reply
    table.destroy(old)
    assert table.find(new.orig, 0.0) is new and table.find(new.reply, 0.0) is new
    assert len(table) == 1 and table.bysource(*new.orig[:3]) == [new]
    assert table.ports_in_use(6, NODE_IP, *new.orig[3:]) == 1


def test_destroying_one_of_two_entries_from_the_same_socket_keeps_the_other_indexed() -> None:
    table = ConntrackTable()
    a = occupy(table, 40000, pod_port=41000)
    b = occupy(table, 40001, pod_port=41000, dst=("198.51.100.7", 443))
    assert table.bysource(*a.orig[:3]) == [b, a]  # newest first
    table.destroy(a)
    assert table.bysource(*a.orig[:3]) == [b]
    table.destroy(b)
    assert table.bysource(*a.orig[:3]) == []


def test_destroying_an_unconfirmed_entry_touches_no_hash_slot() -> None:
    table = ConntrackTable()
    held = occupy(table, 40000)
    loser = Entry(held.orig)  # same tuple, never confirmed (a clash loser)
    loser.reply = held.reply
    table.destroy(loser)
    assert loser.dying and table.find(held.orig, 0.0) is held and len(table) == 1
    assert table.bysource(*held.orig[:3]) == [held]
