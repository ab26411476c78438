"""``snatsim capacity``: the largest rate (or fewest SNAT IPs, narrowest port range, least reuse)
that keeps delayed connects under a target, per kernel (:mod:`snatsim.sizing`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from snatsim.cli._common import console, handle_errors, print_json
from snatsim.sizing.budget import DEFAULT_WALL_S, Budget

if TYPE_CHECKING:
    from snatsim.sizing.evaluators import Evaluation

__all__ = ["capacity", "register"]


def register(app: typer.Typer) -> None:
    """Add the ``capacity`` command to ``app``."""
    app.command("capacity")(capacity)


@handle_errors
def capacity(
    config: Annotated[Path, typer.Argument(help="Scenario TOML file, e.g. configs/default.toml.")],
    max_delayed: Annotated[
        float,
        typer.Option(help="Target: fraction of connects delayed >= 1 s or failed, in (0, 1)."),
    ] = 1e-3,
    vary: Annotated[
        str,
        typer.Option(
            help="The key to search: workload.N.rate_per_s (largest rate), nat.to_source "
            "(fewest SNAT IPs), nat.to_ports (narrowest range), workload.N.requests_per_connection "
            "(least reuse at the same request rate).",
            metavar="KEY",
        ),
    ] = "workload.0.rate_per_s",
    kernel: Annotated[
        list[str] | None,
        typer.Option(help="Answer for this kernel version (repeat for several); default: the "
                     "scenario's.", metavar="V"),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a key, as for snatsim run (e.g. "
                     "--set nat.random_fully=true).", metavar="KEY=VALUE"),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of every evaluation (overrides simulation.seed).",
                                 min=0)
    ] = None,
    engine: Annotated[
        str,
        typer.Option(help="auto: Monte Carlo where it covers the scenario, else the SimPy model; "
                     "mc; des.", metavar="auto|mc|des"),
    ] = "auto",
    connects: Annotated[
        int | None,
        typer.Option(help="Measured connects per SimPy evaluation (default 40,000).", min=100),
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option(help="Trials per Monte Carlo evaluation (default: snatsim estimate's).",
                     min=1, metavar="N"),
    ] = None,
    max_connects: Annotated[
        int, typer.Option(help="Budget: simulated connects per SimPy evaluation, warm-up "
                          "included; a costlier evaluation is not run.", min=1, metavar="N")
    ] = Budget.max_connects,
    max_evaluations: Annotated[
        int, typer.Option(help="Budget: evaluations per kernel's answer.", min=1, metavar="N")
    ] = Budget.max_evaluations,
    budget_s: Annotated[
        float, typer.Option(help="Budget: wall seconds per kernel's answer (an evaluation "
                            "still running is abandoned).", min=0.001, metavar="S")
    ] = DEFAULT_WALL_S,
    json_: Annotated[
        bool, typer.Option("--json", help='Print {"answers": [...]} as JSON.')
    ] = False,
) -> None:
    """Find the capacity edge of a target, kernel by kernel (docs/capacity.md)."""
    from snatsim.config import load_scenario
    from snatsim.sizing.evaluators import make_evaluator
    from snatsim.sizing.search import capacity as search
    from snatsim.sizing.search import check_request

    overrides = list(set_ or [])
    if seed is not None:
        overrides.append(f"simulation.seed={seed}")
    versions: list[str | None] = list(kernel) if kernel else [None]
    scenarios = [load_scenario(config, overrides if v is None else
                               [*overrides, f"kernel.version={v}"]) for v in versions]
    for scenario in scenarios:  # every bad input is reported before anything is simulated
        check_request(scenario, max_delayed, vary)
    evaluator = make_evaluator(engine, connects, trials)
    budget = Budget(max_evaluations, max_connects, budget_s)
    err = console(stderr=True)

    said = {""}  # each kind of fallback reason once (numbers aside)

    def progress(shown: str, e: Evaluation) -> None:
        rests = "trials" if e.method == "mc" else "connects"
        kind = re.sub(r"[\d.,~e+-]+", "#", e.note)
        why = "" if kind in said else f"; {e.note}"
        said.add(kind)
        err.print(f"  {vary} = {shown} ({e.method}): {100 * e.fraction:.3g} % delayed "
                  f"[{100 * e.lo:.3g}, {100 * e.hi:.3g}] of {e.connects:,} {rests}{why}",
                  soft_wrap=True, markup=False, highlight=False)

    answers = []
    for scenario in scenarios:
        err.print(f"kernel {scenario.kernel.version}:")
        answers.append(search(scenario, max_delayed=max_delayed, vary=vary,
                              evaluator=evaluator, budget=budget, progress=progress))
    if json_:
        print_json({"answers": [a.to_dict() for a in answers]})
        return
    out = console()
    for answer in answers:
        out.print(answer.message(), soft_wrap=True)
