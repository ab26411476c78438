"""Capacity answers (``snatsim.capacity``, ``snatsim capacity``): the largest load, or the least
resource, that keeps delayed connects under a target.

:func:`snatsim.sizing.search.capacity` finds, for one scenario, the value of one key
(:data:`snatsim.sizing.axes.VARY_KEYS`) at the edge of "the fraction of connects delayed >= 1 s or
failed stays under ``max_delayed``":

* ``workload.N.rate_per_s``: the largest new-connection rate (higher is worse);
* ``nat.to_source``: the fewest SNAT IPs; ``nat.to_ports``: the narrowest port range;
* ``workload.N.requests_per_connection``: the least keep-alive reuse at the same request rate.

Method (docs/capacity.md): the analytic exhaustion floor (Little's law and the loss law of the
window, :mod:`snatsim.analytic.occupancy`) brackets the answer from the risky side; estimates
(:func:`snatsim.estimate` where it covers the scenario and agrees with the exhaustion floor, else
:func:`snatsim.simulate`) step away from
it by factors of 10 until the target is met, then bisect on a log scale. Every evaluation uses the
same seed (common random numbers), so neighbouring values differ by their load, not by noise. A
value *meets* the target when the upper end of its 95 % interval is below it and *surely misses*
when the lower end is above it; the answer is the last value that met it, its interval runs to the
first value that surely missed it. Assumes the delayed fraction is monotone in the varied key.

Each answer has a budget (:mod:`~snatsim.sizing.budget`: evaluations, simulated connects per
SimPy evaluation, wall seconds); at a limit the search stops and says what it established.

Modules: :mod:`~snatsim.sizing.evaluators` (``(scenario, rng, meter) -> Evaluation``),
:mod:`~snatsim.sizing.budget`,
:mod:`~snatsim.sizing.axes` (the varied key and the analytic bracket), :mod:`~snatsim.sizing.search`
(the search and its answer). The package is not named ``capacity`` so that the public function
``snatsim.capacity`` is never shadowed by a module of that name.
"""
