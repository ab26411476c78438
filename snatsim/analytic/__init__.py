"""Closed forms (scipy where needed; no sampling) for the outcomes the simulators estimate.

``collision`` (offset weights), ``probing`` (k concurrent searches), ``runs`` (distinct slots the
A2+ rounds probe), ``rover`` (A1 rover races by overlap), ``preservation`` (pod ports
kept/changed/contested), ``occupancy`` (Little's law and Erlang-style exhaustion), ``latency`` (the
connect-latency mixture), ``window_load`` (per-destination load of a scenario). docs/model.md
"Closed forms" lists each with its assumptions.
"""
