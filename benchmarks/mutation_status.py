"""The mutation run's figures per file, and the survivors not yet triaged (docs/mutation.md).

Reads mutmut's verdicts (``mutants/**/*.meta``, written as the run goes) and the triage of
survivors and timeouts (``docs/mutation-triage.tsv``: mutant, verdict, test or reason)::

    .venv/bin/python benchmarks/mutation_status.py            # the table and the kill rates
    .venv/bin/python benchmarks/mutation_status.py --untriaged   # survivors without a triage line
    .venv/bin/python benchmarks/mutation_status.py --tables      # the triage as markdown tables
    .venv/bin/python benchmarks/mutation_status.py --generate    # mutants/ only, no test run
    .venv/bin/python benchmarks/mutation_status.py --draw 2026   # a stratified seeded sample
    .venv/bin/python benchmarks/mutation_status.py --names docs/mutation-sample-2026-12-05.txt
    .venv/bin/python benchmarks/mutation_status.py --names docs/mutation-sample-2026-12-05.txt --estimate

``--generate`` runs mutmut's own first step (copy the tree to ``mutants/``, write the mutated
files and their ``.meta`` lists of mutant names) without its test passes: the names of every
mutant in a few seconds (mutmut 3.8 internals; ``mutmut run`` reuses the files it wrote).
``--draw SEED`` needs only the generated mutants (no verdicts): per mutated file, 8 % of its
mutants rounded (at least 10, all of a file with fewer than 20), drawn with
``random.Random(SEED).sample`` over the file's sorted names, a fresh generator per file.
``--names FILE`` limits the table and the kill rates to the mutants FILE names (one a line,
``#`` comments), so a sample's figures are those of an unbiased draw; with ``--estimate`` it
prints the kill rate per file and for the whole population, each with its standard error.

Verdicts of the triage file: ``equivalent`` (no test can tell it from the original), ``killed``
(by a test added after the run checked it; the test is named), ``left-out`` (killed only by a
test the mutation selection leaves out), ``hang`` / ``load`` (a timeout: a real hang, or a run
stretched by the machine's load whose named test fails at once). A timeout triaged as a
survivor (``equivalent``, ``left-out``, ...) is counted with the survivors, not as detected.
"""

from __future__ import annotations

import csv
import json
import math
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRIAGE = ROOT / "docs" / "mutation-triage.tsv"
# mutmut's exit codes (mutmut/stats.py): 1 and 3 killed, 0 survived, 33 and 5 no tests
STATUS = {1: "killed", 3: "killed", 0: "survived", 33: "no tests", 5: "no tests", None: "not checked",
          36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout",
          # SIGKILL: mutmut's CPU limit is (limit, limit + 1); a child that outlives the SIGXCPU
          # dies of the hard limit one second later (mutmut calls it "segfault")
          -9: "timeout"}
COLUMNS = ("killed", "timeout", "survived", "no tests", "not checked")


def generate() -> None:
    """mutmut's mutant generation alone (``mutmut.__main__._run`` up to its test passes)."""
    import os

    import mutmut.__main__ as mm

    os.chdir(ROOT)
    mm.set_mutant_under_test("mutant_generation")
    Path("mutants").mkdir(exist_ok=True)
    mm.copy_src_dir()
    mm.copy_also_copy_files()
    mm.setup_source_paths()
    mm.store_lines_covered_by_tests()
    print(mm.create_mutants(os.cpu_count() or 2))


def verdicts(mutants_dir: Path) -> dict[str, tuple[str, str]]:
    """Mutant name -> (source file, status) for every mutant mutmut generated."""
    out: dict[str, tuple[str, str]] = {}
    for meta in sorted(mutants_dir.glob("snatsim/**/*.py.meta")):
        source = str(meta.relative_to(mutants_dir))[: -len(".meta")]
        module = source[: -len(".py")].replace("/", ".").removesuffix(".__init__")
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        for key, code in codes.items():
            name = key if key.startswith(module + ".") else f"{module}.{key}"
            out[name] = (source, STATUS.get(code, "suspicious"))
    return out


def triage() -> dict[str, tuple[str, str]]:
    """Mutant name -> (verdict, test or reason) from docs/mutation-triage.tsv."""
    with TRIAGE.open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.reader(f, delimiter="\t") if r and not r[0].startswith("#")]
    return {name: (verdict, note) for name, verdict, note in rows}


def draw(found: dict[str, tuple[str, str]], seed: int, fraction: float = 0.08) -> list[str]:
    """A stratified sample: per file round(fraction * n) names (>= 10; all when n < 20)."""
    by_file: dict[str, list[str]] = {}
    for name, (source, _) in found.items():
        by_file.setdefault(source, []).append(name)
    picked: list[str] = []
    for _, names in sorted(by_file.items()):
        names.sort()
        k = len(names) if len(names) < 20 else max(10, round(fraction * len(names)))
        picked += sorted(random.Random(seed).sample(names, k))
    return picked


def read_names(path: Path) -> set[str]:
    """The mutant names of a sample file (one a line, ``#`` comments and blank lines skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return {ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")}


SURVIVOR_VERDICTS = ("equivalent", "left-out", "killed", "survived")


def outcome(status: str, verdict: str | None) -> str:
    """One sampled mutant: detected (by the run), equivalent, killed (by a test added since),
    left-out, survived (no test), or unchecked."""
    if status == "killed" or (status == "timeout" and verdict not in SURVIVOR_VERDICTS):
        return "detected"
    if status in ("survived", "timeout"):
        return verdict if verdict in SURVIVOR_VERDICTS else "survived"
    return "unchecked"


def _rate(k: int, n: int) -> str:
    """``k/n = p% +- SE`` with the binomial standard error sqrt(p(1-p)/n)."""
    if not n:
        return "-"
    p = k / n
    return f"{k}/{n} = {p:.1%} ± {math.sqrt(p * (1 - p) / n):.1%}"


def estimate(population: dict[str, tuple[str, str]], sample: dict[str, tuple[str, str]],
             triaged: dict[str, tuple[str, str]]) -> str:
    """Per file and for the whole population: the share of non-equivalent mutants the suite
    detects, before the tests added for the sample's survivors and with them.

    The whole-population figure is the stratified ratio estimate sum_h N_h d_h / n_h over
    sum_h N_h m_h / n_h (d detected, m non-equivalent, N_h mutants of file h, n_h sampled), with
    its linearized standard error (finite-population corrected); the pooled binomial figure
    weighs small files that were sampled more heavily (des/schedule.py whole) like the others.
    """
    sizes = Counter(src for src, _ in population.values())
    out = ["| file | mutants | sampled | equivalent | detected by the suite | with the tests added |",
           "| --- | ---: | ---: | ---: | ---: | ---: |"]
    by_file: dict[str, list[str]] = {}
    for name, (src, status) in sample.items():
        by_file.setdefault(src, []).append(outcome(status, triaged.get(name, (None,))[0]))
    num = den = num2 = 0.0
    var = var2 = 0.0
    strata = []
    for src, kinds in sorted(by_file.items()):
        c = Counter(kinds)
        m = len(kinds) - c["equivalent"] - c["unchecked"]
        d, d2 = c["detected"], c["detected"] + c["killed"]
        out.append(f"| `{src}` | {sizes[src]} | {len(kinds)} | {c['equivalent']} | {_rate(d, m)} "
                   f"| {_rate(d2, m)} |")
        big_n, n = sizes[src], len(kinds) - c["unchecked"]
        num += big_n * d / n
        num2 += big_n * d2 / n
        den += big_n * m / n
        strata.append((big_n, n, [(k == "detected", k == "detected" or k == "killed",
                                   k != "equivalent") for k in kinds if k != "unchecked"]))
    r, r2 = num / den, num2 / den
    for big_n, n, units in strata:
        for ratio, which, acc in ((r, 0, "var"), (r2, 1, "var2")):
            e = [u[which] - ratio * u[2] for u in units]
            mean = sum(e) / n
            s2 = sum((x - mean) ** 2 for x in e) / (n - 1) if n > 1 else 0.0
            term = big_n**2 * (1 - n / big_n) * s2 / n
            if acc == "var":
                var += term
            else:
                var2 += term
    pooled = Counter(outcome(st, triaged.get(nm, (None,))[0]) for nm, (_, st) in sample.items())
    m = sum(pooled.values()) - pooled["equivalent"] - pooled["unchecked"]
    out.append(f"\npooled (binomial SE): detected by the suite {_rate(pooled['detected'], m)}; "
               f"with the tests added {_rate(pooled['detected'] + pooled['killed'], m)}")
    out.append(f"stratified over all {sum(sizes.values()):,} mutants (estimated non-equivalent "
               f"{den:,.0f}): by the suite {r:.1%} ± {math.sqrt(var) / den:.1%}; with the tests "
               f"added {r2:.1%} ± {math.sqrt(var2) / den:.1%}")
    return "\n".join(out)


HEADINGS = {
    "killed": "Killed by a test added since the run checked it",
    "left-out": "Killed only by a test the mutation selection leaves out",
    "survived": "Not equivalent, and no test kills it yet",
    "equivalent": "Equivalent (no test can tell it from the original)",
    "hang": "Timeouts: real hangs",
    "load": "Timeouts: the machine's load, the named test fails at once",
}


def tables(triaged: dict[str, tuple[str, str]]) -> str:
    """The triage file as one markdown table per verdict (mutant names without ``snatsim.``)."""
    parts = []
    for verdict, heading in HEADINGS.items():
        rows = [(n.removeprefix("snatsim."), note) for n, (v, note) in triaged.items()
                if v == verdict]
        if rows:
            lines = [f"| `{n}` | {note} |" for n, note in sorted(rows)]
            parts.append(f"{heading} ({len(rows)}):\n\n| mutant | test, or why |\n| --- | --- |\n"
                         + "\n".join(lines))
    return "\n\n".join(parts)


def main(argv: list[str]) -> None:
    if "--generate" in argv:
        generate()
        return
    triaged = triage()
    if "--tables" in argv:
        print(tables(triaged))
        return
    found = verdicts(ROOT / "mutants")
    if "--draw" in argv:
        print("\n".join(draw(found, int(argv[argv.index("--draw") + 1]))))
        return
    if "--names" in argv:
        wanted = read_names(Path(argv[argv.index("--names") + 1]))
        missing = wanted - found.keys()
        if missing:
            sys.exit(f"not among the generated mutants: {sorted(missing)[:5]} ...")
        if "--estimate" in argv:
            print(estimate(found, {n: v for n, v in found.items() if n in wanted}, triaged))
            return
        found = {n: v for n, v in found.items() if n in wanted}
    if "--untriaged" in argv:
        for name, (_, status) in found.items():
            if status == "survived" and name not in triaged:
                print(name)
        return
    per_file: dict[str, Counter[str]] = {}
    for source, status in found.values():
        per_file.setdefault(source, Counter())[status] += 1
    print("| file | mutants | " + " | ".join(COLUMNS) + " |")
    print("| --- | ---: |" + " ---: |" * len(COLUMNS))
    total: Counter[str] = Counter()
    for source, counts in sorted(per_file.items()):
        total.update(counts)
        cells = " | ".join(str(counts[c]) for c in COLUMNS)
        print(f"| `{source}` | {sum(counts.values())} | {cells} |")
    cells = " | ".join(f"**{total[c]:,}**" for c in COLUMNS)
    print(f"| **total** | **{sum(total.values()):,}** | {cells} |")
    # a timeout triaged as a survivor (equivalent, or killed only by a left-out test) ran long
    # because of the machine's load, not because the change made the run hang: not a detection
    slow = [n for n, (_, s) in found.items() if s == "timeout"
            and triaged.get(n, ("",))[0] in ("equivalent", "left-out", "killed", "survived")]
    survived = [n for n, (_, s) in found.items() if s == "survived"] + slow
    kinds = Counter(triaged[n][0] if n in triaged else "not triaged" for n in survived)
    detected = total["killed"] + total["timeout"] - len(slow)
    checked = total["killed"] + total["timeout"] + total["survived"]
    non_equivalent = checked - kinds["equivalent"]
    print(f"\nchecked {checked:,} of {sum(total.values()):,}; detected {detected:,}; "
          f"not detected {len(survived):,} ({len(slow)} of them timeouts of the load): "
          + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    if non_equivalent:
        with_tests = detected + kinds["killed"]
        print(f"kill rate of non-equivalent: by the run {detected}/{non_equivalent} = "
              f"{detected / non_equivalent:.1%}; with the tests added {with_tests}/{non_equivalent} "
              f"= {with_tests / non_equivalent:.1%}; with the left-out tests "
              f"{with_tests + kinds['left-out']}/{non_equivalent} = "
              f"{(with_tests + kinds['left-out']) / non_equivalent:.1%}")


if __name__ == "__main__":
    main(sys.argv[1:])
