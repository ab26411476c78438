"""Closed forms (scipy where needed) for the outcomes the simulators estimate."""
