"""The bad-input corpus: hostile or mistaken ``snatsim run`` invocations (files, values, kernel
versions, flags, output paths, sizes that would exhaust memory or time) and what each must say;
the same given to ``snatsim estimate`` (:func:`as_estimate`), and estimate's own flags.

Every case must exit 2 with one readable message on stderr (``error: ...``, plus one indented line
per field when several fields are bad), no traceback, nothing on stdout and no file written.
``tests/test_bad_input_corpus.py`` runs each through the CLI.

A case is a :class:`BadInput`: the config file's content (``None``: no file), the arguments after
``snatsim`` with ``{config}`` and ``{tmp}`` placeholders, and the texts the message must contain
(the field, the bad value or the fix).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BASE = """\
[simulation]
duration_s = 3.0
warmup_s = 1.0
seed = 1

[kernel]
version = "6.1"

[[workload]]
name = "api"
pods = 2
arrival = "poisson"
rate_per_s = 20.0
destinations = ["203.0.113.10:443"]
"""

CLOSED_LOOP = """
[[workload]]
name = "pool"
pods = 1
arrival = "closed-loop"
destinations = ["203.0.113.20:443"]
"""

RUN = ("run", "{config}", "--out", "{tmp}/out", "--trace", "{tmp}/trace/run.jsonl")
"""The default command: output paths are given so that "nothing written" is checked too."""

W = "workload.0."


@dataclass(frozen=True)
class BadInput:
    """One bad invocation and the texts its error message must contain."""

    name: str
    expect: tuple[str, ...]
    sets: tuple[str, ...] = ()  # --set overrides added to RUN
    argv: tuple[str, ...] = RUN  # the arguments after `snatsim` (placeholders {config}, {tmp})
    config: str | bytes | None = BASE  # content of {tmp}/cfg.toml; None: no file
    prepare: Callable[[Path], None] | None = field(default=None, compare=False)  # runs in {tmp}
    subprocess: bool = False  # also run as a real `python -m snatsim.cli` process

    def args(self, tmp: Path) -> list[str]:
        """The command line for a run in ``tmp`` (config at ``tmp/cfg.toml``)."""
        argv = [a.format(config=tmp / "cfg.toml", tmp=tmp) for a in self.argv]
        for override in self.sets:
            argv += ["--set", override]
        return argv


def _s(name: str, override: str | tuple[str, ...], *expect: str, sub: bool = False) -> BadInput:
    sets = (override,) if isinstance(override, str) else override
    return BadInput(name, expect, sets=sets, subprocess=sub)


def _file(name: str, config: str | bytes, *expect: str, sub: bool = False) -> BadInput:
    return BadInput(name, expect, config=config, subprocess=sub)


def _argv(name: str, argv: tuple[str, ...], *expect: str, sub: bool = False) -> BadInput:
    return BadInput(name, expect, argv=argv, subprocess=sub)


def _mkfifo(tmp: Path) -> None:
    os.mkfifo(tmp / "fifo.toml")


def _nested(depth: int) -> str:
    return BASE + "x = " + "[" * depth + "]" * depth + "\n"


# ------------------------------------------------------------------------------------------ files
FILES = [
    BadInput("missing file", ("no such file", "cfg.toml"), config=None, subprocess=True),
    _argv("folder", ("run", "{tmp}"), "is a directory", sub=True),
    _file("binary", bytes(range(256)) * 4, "not UTF-8", sub=True),
    _file("latin-1", BASE.replace('"api"', '"caf\xe9"').encode("latin-1"), "not UTF-8"),
    _file("utf-16", BASE.encode("utf-16"), "not UTF-8"),
    _file("invalid TOML", BASE + "pods = = 3\n", "invalid TOML", "line 15", sub=True),
    _file("unclosed table header", "[simulation\n", "invalid TOML", "line 1"),
    _file("duplicate key", BASE + "[simulation]\n", "invalid TOML"),
    _file("unterminated string", 'x = "abc\n', "invalid TOML"),
    _file("huge", BASE + "#" * (3 << 20) + "\n", "MiB", "scenario", sub=True),
    _file("deeply nested arrays", _nested(5000), "cfg.toml"),
    _file("deeply nested tables", BASE + "x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n",
          "cfg.toml"),
    _file("empty", "", "workload", "[[workload]]", sub=True),
    _file("only comments", "# nothing here\n", "workload", "[[workload]]"),
    _file("workload is a table", BASE.replace("[[workload]]", "[workload]"), "workload"),
    _argv("endless file", ("run", "/dev/zero"), "/dev/zero", "regular file"),
    BadInput("named pipe", ("fifo.toml", "regular file"), argv=("run", "{tmp}/fifo.toml"),
             prepare=_mkfifo),
    _file("unknown section", BASE + "[nodes]\ncpus = 2\n", "nodes", "did you mean 'node'"),
    _file("unknown key in file", BASE.replace("seed = 1", "sede = 1"), "simulation.sede",
          "did you mean 'seed'"),
]

# ----------------------------------------------------------------------------------------- values
VALUES = [
    _s("negative pods", W + "pods=-3", W + "pods", "-3"),
    _s("zero cpus", "node.cpus=0", "node.cpus"),
    _s("negative rate", W + "rate_per_s=-5", W + "rate_per_s"),
    _s("NaN rate", W + "rate_per_s=nan", W + "rate_per_s", "finite", sub=True),
    _s("inf rate", W + "rate_per_s=inf", W + "rate_per_s", "finite"),
    _s("NaN duration", "simulation.duration_s=nan", "simulation.duration_s"),
    _s("-inf warm-up", "simulation.warmup_s=-inf", "simulation.warmup_s"),
    _s("NaN hold", W + "hold_s=nan", W + "hold_s"),
    _s("inf rtt", "network.rtt_s=inf", "network.rtt_s"),
    _s("bool pods", W + "pods=true", W + "pods", "true"),
    _s("bool cpus", "node.cpus=false", "node.cpus", "false"),
    _s("bool rate", W + "rate_per_s=true", W + "rate_per_s", "true"),
    _s("bool duration", "simulation.duration_s=true", "simulation.duration_s", "true"),
    _s("bool seed", "simulation.seed=true", "simulation.seed", "true"),
    _s("string pods", W + 'pods="8"', W + "pods", '"8"'),
    _s("word pods", W + "pods=eight", W + "pods", "eight"),
    _s("string duration", 'simulation.duration_s="600"', "simulation.duration_s", '"600"'),
    _s("string conntrack max", 'conntrack.max="1k"', "conntrack.max"),
    _s("fractional pods", W + "pods=2.5", W + "pods", "2.5"),
    _s("list rate", W + "rate_per_s=[1, 2]", W + "rate_per_s"),
    _s("table cpus", "node.cpus={a = 1}", "node.cpus"),
    _s("port 0", W + 'destinations=["203.0.113.10:0"]', "destinations.0.address", "1-65535"),
    _s("port 65536", W + 'destinations=["203.0.113.10:65536"]', "destinations.0.address",
       "1-65535"),
    _s("weights that add up to inf", W + 'destinations=[{address="203.0.113.10:443", weight=1e308}, '
       '{address="203.0.113.11:443", weight=1e308}]', "destinations.0.weight", "relative"),
    _file("byte-order mark and a bad key", b"\xef\xbb\xbf" + BASE.replace("seed", "sed").encode(),
          "simulation.sed", "did you mean 'seed'"),
    _s("negative port", W + 'destinations=["203.0.113.10:-1"]', "destinations.0.address"),
    _s("to_ports out of range", "nat.to_ports=70000", "nat.to_ports", "1-65535"),
    _s("to_ports reversed", "nat.to_ports=3000-2000", "nat.to_ports", "2000-3000", sub=True),
    _s("to_ports negative", "nat.to_ports=-5", "nat.to_ports"),
    _s("source port 70000", W + "source_port=70000", W + "source_port", "1-65535"),
    _s("source port bool", W + "source_port=true", W + "source_port"),
    _s("bad node ip", "node.ip=10.0.0.256", "node.ip", "IPv4"),
    _s("IPv6 destination", W + 'destinations=["[2001:db8::1]:443"]', "destinations.0.address"),
    _s("warm-up after the end", "simulation.warmup_s=5", "simulation.warmup_s", "duration_s"),
    _s("negative seed", "simulation.seed=-1", "simulation.seed"),
    _s("duration 1e308", "simulation.duration_s=1e308", "simulation.duration_s", "days",
       sub=True),
    _s("duration 1e9", "simulation.duration_s=1e9", "simulation.duration_s", "split"),
    _s("absurd cpus", "node.cpus=1000000000", "node.cpus", "1000000000"),
    _s("absurd pods", W + "pods=100000", W + "pods", "64,000", sub=True),
    _file("absurd pods in two workloads",
          BASE.replace("pods = 2", "pods = 40000") + BASE[BASE.index("[[workload]]"):].replace(
              '"api"', '"web"').replace("pods = 2", "pods = 40000"), "80,000 pods in all"),
    _s("absurd clients", W + "clients_per_pod=1000000000", W + "clients_per_pod"),
    _s("absurd requests per connection", W + "requests_per_connection=1000000000000",
       W + "requests_per_connection"),
    _s("absurd rate", W + "rate_per_s=1e12", "connections expected", "rate"),
    _s("absurd burst", (W + "arrival=burst", W + "rate_per_s=null", W + "burst_size=1000000000",
                        W + "burst_interval_s=1e6"), W + "burst_size", "same instant"),
    _s("absurd conntrack max", "conntrack.max=1000000000000", "conntrack.max"),
    _s("absurd syn retries", "tcp.syn_retries=1000", "tcp.syn_retries", "127"),
    _s("absurd attempts", (W + "protocol=udp", W + "attempts=1000000000"), W + "attempts"),
    _s("period 1e-300", (W + "arrival=periodic", W + "rate_per_s=null", W + "period_s=1e-300"),
       "connections expected"),
    _s("absurd clients in all", (W + "pods=1000", W + "clients_per_pod=2000"),
       "2,000,000 clients in all"),
    _file("absurd rate beside a closed loop", BASE.replace("20.0", "1e9") + CLOSED_LOOP,
          "connections expected"),
    _s("confirm window in seconds", "node.nat_to_confirm_us=1e308", "node.nat_to_confirm_us",
       "microseconds"),
    _s("huge gc interval", "conntrack.gc_interval_s=1e9", "conntrack.gc_interval_s"),
    _s("unknown distribution", W + 'hold_s={distribution="gamma"}', W + "hold_s", "'gamma'"),
    _s("linear timeouts on 4.19", ("kernel.version=4.19", "tcp.syn_linear_timeouts=3"),
       "tcp.syn_linear_timeouts", "6.5"),
    _s("linear timeouts with syn_era T1", ("kernel.version=6.6", "kernel.syn_era=T1",
                                            "tcp.syn_linear_timeouts=2"),
       "tcp.syn_linear_timeouts", "SYN era T1"),
    _s("empty destinations", W + "destinations=[]", W + "destinations", "must not be empty"),
    _s("empty name", W + "name=''", W + "name"),
    _s("several bad fields", ("node.cpus=0", W + "pods=-1", "nat.to_ports=9-1"),
       "3 invalid settings", "node.cpus", W + "pods", "nat.to_ports", sub=True),
]

# ------------------------------------------------------------------------------- kernel versions
KERNELS = [
    _s("kernel 8.0", "kernel.version=8.0", "kernel.version", "8.0"),
    _s("kernel 10.1", "kernel.version=10.1", "kernel.version", "10.1"),
    _s("kernel full-width digits", "kernel.version=６.１", "kernel.version", "ASCII", sub=True),
    _s("kernel arabic-indic digits", "kernel.version=٦.١", "kernel.version"),
    _s("kernel empty", "kernel.version=''", "kernel.version"),
    _s("kernel blank", "kernel.version='   '", "kernel.version"),
    _s("kernel 2.6", "kernel.version=2.6.32", "kernel.version", "3.0"),
    _s("kernel 5.25", "kernel.version=5.25", "kernel.version", "5.19"),
    _s("kernel number", "kernel.version=[6, 1]", "kernel.version"),
    _s("bad era", "kernel.nat_era=A7", "kernel.nat_era", "A1"),
]

# ------------------------------------------------------------------------------------------ flags
FLAGS = [
    _argv("unknown flag", (*RUN, "--bogus"), "--bogus", "--help", sub=True),
    _argv("missing config argument", ("run",), "missing argument", "--help", sub=True),
    _argv("unknown command", ("runn", "{config}"), "runn", "--help"),
    _argv("seed -1", (*RUN, "--seed", "-1"), "--seed", "greater than or equal to 0", sub=True),
    _argv("seed not a number", (*RUN, "--seed", "abc"), "--seed", "integer"),
    _argv("seed float", (*RUN, "--seed", "1.5"), "--seed", "integer"),
    _argv("--set without a value", (*RUN, "--set"), "--set"),
    _argv("extra argument", (*RUN, "extra.toml"), "extra.toml"),
    _argv("--json with a value", (*RUN, "--json=yes"), "--json"),
    _argv("replicates 0", ("run", "{config}", "--replicates", "0"), "--replicates"),
    _argv("absurd replicates", ("run", "{config}", "--replicates", "100000000", "--out",
                                "{tmp}/out"), "replicates", "10,000", sub=True),
    _argv("--workers without --replicates", (*RUN, "--workers", "4"), "--workers"),
    _argv("--trace with --replicates", (*RUN, "--replicates", "2"), "--trace", "replicates"),
    _argv("kernels 8.0", ("kernels", "8.0"), "kernel.version", "8.0"),
    _argv("kernels full-width digits", ("kernels", "６.１"), "kernel.version", "ASCII"),
    _argv("kernels unknown flag", ("kernels", "--bogus"), "--bogus", "snatsim kernels --help"),
    _s("--set without =", "nat.random_fully", "nat.random_fully", "section.key=value", sub=True),
    _s("--set empty key", "=3", "section.key=value"),
    _s("--set empty part", "nat..random=true", "section.key=value"),
    _s("--set unknown key", "nat.randm=true", "nat.randm", "did you mean 'random'"),
    _s("--set unknown section", "nodes.cpus=2", "nodes", "did you mean 'node'"),
    _s("--set list index out of range", W.replace("0", "5") + "pods=3", "workload.5", "range",
       sub=True),
    _s("--set list by name", "workload.api.pods=3", "workload.0.pods", "the entry named 'api'"),
    _s("--set into a value", "node.cpus.x=1", "node.cpus", "integer"),
    _s("--set replaces a section by a number", "simulation=3", "simulation", "must be a table"),
    _s("--set bad TOML value", W + "destinations=[1,", W + "destinations", "not valid TOML"),
    _s("--set null on a required key", W + "pods=null", W + "pods", "missing"),
]

# ------------------------------------------------------------------------------ output paths
def _write(relative: str, text: str = "x\n") -> Callable[[Path], None]:
    def make(tmp: Path) -> None:
        (tmp / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp / relative).write_text(text, encoding="utf-8")

    return make


def _mkdir(relative: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / relative).mkdir(parents=True)


def _paths(name: str, argv: tuple[str, ...], *expect: str,
           prepare: Callable[[Path], None] | None = None, sub: bool = False) -> BadInput:
    return BadInput(name, expect, argv=("run", "{config}", *argv), prepare=prepare,
                    subprocess=sub)


PATHS = [
    BadInput("--out is a file", ("--out", "is a file, not a folder"), prepare=_write("out"),
             subprocess=True),
    BadInput("--out holds other files", ("--out", "did not write"),
             prepare=_write("out/notes.txt")),
    BadInput("--out holds a run", ("--out", "--force"), prepare=_write("out/summary.json", "{}")),
    _paths("--out under a file", ("--out", "{tmp}/cfg.toml/out"), "--out", "is a file"),
    _paths("--out name too long", ("--out", "{tmp}/" + "x" * 300), "--out", "longer than"),
    _paths("--out on a read-only filesystem", ("--out", "/sys/snatsim-out"), "--out",
           "cannot write"),
    _paths("--out in /proc", ("--out", "/proc/snatsim-out"), "--out", "cannot write"),
    _paths("--trace over the scenario", ("--trace", "{config}"), "--trace", "scenario file",
           sub=True),
    _paths("--trace over the scenario with --force", ("--trace", "{config}", "--force"),
           "--trace", "scenario file"),
    _paths("--trace is a folder", ("--trace", "{tmp}"), "--trace", "is a folder", sub=True),
    _paths("--trace exists", ("--trace", "{tmp}/old.jsonl"), "--trace", "--force",
           prepare=_write("old.jsonl")),
    _paths("--trace is a device", ("--trace", "/dev/null", "--force"), "--trace",
           "not a regular file"),
    _paths("--trace under a file", ("--trace", "{tmp}/cfg.toml/t.jsonl"), "--trace", "is a file"),
    _paths("--trace partial marker is a folder", ("--trace", "{tmp}/t.jsonl"), "--trace",
           "t.jsonl.partial", prepare=_mkdir("t.jsonl.partial")),
    _paths("--trace inside --out", ("--out", "{tmp}/out", "--trace", "{tmp}/out/t.jsonl"),
           "--trace", "inside the --out folder"),
    _paths("--out under --trace", ("--trace", "{tmp}/t", "--out", "{tmp}/t/out"), "--out",
           "--trace"),
]

# ------------------------------------------------------------------------------- snatsim plot
SERIES_HEADER = "second,new_connections,syn_drops,query_drops,conntrack_entries,max_ports_in_use\n"


def _fake_run(rows: bool = False, series: str = SERIES_HEADER + "0,1,0,0,1,1\n",
              replicates: bool = False) -> Callable[[Path], None]:
    """A folder shaped like ``snatsim run --out run`` wrote it (``tmp/run``)."""

    def make(tmp: Path) -> None:
        _write("run/summary.json", "{}")(tmp)
        _write("run/scenario.toml", BASE)(tmp)
        if series:
            _write("run/timeseries.csv", series)(tmp)
        if rows:
            _write("run/connections.csv", "id,latency_s\n")(tmp)
        if replicates:
            _write("run/replicates/000.json", "{}")(tmp)

    return make


def _plot(name: str, argv: tuple[str, ...], *expect: str,
          prepare: Callable[[Path], None] | None = None, sub: bool = False) -> BadInput:
    return BadInput(name, expect, argv=("plot", *argv), prepare=prepare, subprocess=sub)


FIG = ("-o", "{tmp}/fig.png")
PLOT = [
    _plot("plot: not a run folder", ("{tmp}", *FIG), "RUN_DIR", "not a run folder", sub=True),
    _plot("plot: missing source", ("{tmp}/nope", *FIG), "SOURCE", "does not exist"),
    _plot("plot: a file that is no results file", ("{config}", *FIG, "--x", "a", "--y", "b"),
          "not a snatsim results", sub=True),
    _plot("plot: run kind of a results file", ("{config}", *FIG, "--kind", "timeline"), "--kind",
          "'timeline' is a figure of a run folder", "lines, heatmap"),
    _plot("plot: sweep kind of a run folder", ("{tmp}/run", *FIG, "--kind", "heatmap"), "--kind",
          "'heatmap' is a figure of a results file", prepare=_fake_run()),
    _plot("plot: --x on a run folder", ("{tmp}/run", *FIG, "--x", "nat.random_fully"), "--x",
          "results file", prepare=_fake_run()),
    _plot("plot: lines without --y", ("{config}", *FIG, "--x", "nat.random_fully"), "--y",
          "needs --y"),
    _plot("plot: heatmap without --z", ("{config}", *FIG, "--kind", "heatmap", "--x", "a",
                                        "--y", "b"), "--z", "needs --z"),
    _plot("plot: --logz on lines", ("{config}", *FIG, "--x", "a", "--y", "b", "--logz"),
          "--logz", "does not apply to --kind lines"),
    _plot("plot: --hue on a heatmap", ("{config}", *FIG, "--kind", "heatmap", "--x", "a", "--y",
                                       "b", "--z", "c", "--hue", "d"), "--hue", "does not apply"),
    _plot("plot: unknown kind", ("{tmp}/run", *FIG, "--kind", "histogram"), "--kind",
          "'histogram'", "latency-cdf, occupancy, timeline", prepare=_fake_run(), sub=True),
    _plot("plot: bad extension", ("{tmp}/run", "-o", "{tmp}/fig.jpg"), "--out", "'.jpg'",
          ".png, .svg or .pdf", prepare=_fake_run(), sub=True),
    _plot("plot: no extension", ("{tmp}/run", "-o", "{tmp}/fig"), "--out", "no extension",
          prepare=_fake_run()),
    _plot("plot: -o exists", ("{tmp}/run", "-o", "{tmp}/old.png"), "--out", "--force",
          prepare=lambda tmp: (_fake_run()(tmp), _write("old.png")(tmp))),
    _plot("plot: -o is a folder", ("{tmp}/run", "-o", "{tmp}/figs.png"), "--out", "is a folder",
          prepare=lambda tmp: (_fake_run()(tmp), _mkdir("figs.png")(tmp))),
    _plot("plot: -o read-only", ("{tmp}/run", "-o", "/sys/snatsim.png"), "--out", "cannot write",
          prepare=_fake_run()),
    _plot("plot: -o under a file", ("{tmp}/run", "-o", "{config}/fig.png"), "--out", "is a file",
          prepare=_fake_run()),
    _plot("plot: -o missing", ("{tmp}/run",), "--out", "--help", prepare=_fake_run()),
    _plot("plot: run kept no rows", ("{tmp}/run", *FIG), "connections.csv", "--rows all",
          prepare=_fake_run(), sub=True),
    _plot("plot: replicates folder", ("{tmp}/run", *FIG), "RUN_DIR", "--replicates",
          prepare=_fake_run(series="", replicates=True)),
    _plot("plot: series without columns", ("{tmp}/run", *FIG, "--kind", "timeline"),
          "timeseries.csv", "lacks", prepare=_fake_run(series="second,x\n0,1\n")),
    _plot("plot: series not CSV", ("{tmp}/run", *FIG, "--kind", "occupancy"),
          "timeseries.csv", "cannot be read", prepare=_fake_run(series="\x00\x01\n\"")),
]

# ---------------------------------------------------------------------------- snatsim explain
EXPLAIN = [
    _argv("explain unknown kernel", ("explain", "--kernel", "banana"), "--kernel", "banana",
          sub=True),
    _argv("explain unknown mode", ("explain", "--mode", "fully"), "--mode", "random-fully"),
    _argv("explain unknown cause", ("explain", "--cause", "meteor"), "--cause", "eviction"),
    _argv("explain --svg is a folder", ("explain", "--svg", "{tmp}"), "--svg", "is a folder"),
    _argv("explain --png under a file", ("explain", "--png", "{tmp}/cfg.toml/race.png"), "--png",
          "is a file"),
    _argv("explain --png on a read-only filesystem", ("explain", "--png", "/proc/race.png"),
          "--png", "cannot write"),
    _argv("explain --png is a device", ("explain", "--png", "/dev/null"), "--png",
          "not a regular file"),
    _argv("explain --svg and --png", ("explain", "--svg", "{tmp}/a.svg", "--png", "{tmp}/a.png"),
          "--svg", "not both"),
    _argv("explain negative seed", ("explain", "--seed", "-1"), "--seed"),
    BadInput("explain --png exists", ("--png", "--force"), argv=("explain", "--png",
             "{tmp}/old.png"), prepare=_write("old.png")),
]


def _sweep(name: str, args: tuple[str, ...], *expect: str,
           prepare: Callable[[Path], None] | None = None, sub: bool = False) -> BadInput:
    return BadInput(name, expect, argv=("sweep", "{config}", "--out", "{tmp}/s.db", *args),
                    prepare=prepare, subprocess=sub)


G = "--grid"
SWEEPS = [  # snatsim sweep / snatsim results (the unreachable scheduler: tests/test_cli_sweep.py)
    _sweep("sweep grid without =", (G, "nat.random_fully"), "--grid", "expected KEY=VALUES",
           sub=True),
    _sweep("sweep grid without values", (G, "nat.random_fully="), "--grid", "no values"),
    _sweep("sweep empty range", (G, W + "rate_per_s=10..100:lin:0"), "--grid", "empty"),
    _sweep("sweep range with equal ends", (G, W + "rate_per_s=10..10:log:4"), "the range is empty"),
    _sweep("sweep malformed range", (G, W + "rate_per_s=10..100:lin"), "malformed range",
           "A..B:lin:N"),
    _sweep("sweep log range through 0", (G, W + "rate_per_s=0..100:log:3"), "both ends > 0"),
    _sweep("sweep unknown key", (G, "nat.randm_fully=false,true"), "nat.randm_fully",
           "did you mean 'random_fully'", sub=True),
    _sweep("sweep bad value at one point", (G, W + "pods=1,0"), "--grid point",
           W + "pods=0"),
    _sweep("sweep unknown kernel", (G, "kernel.version=4.14,2.2"), "kernel.version=2.2"),
    _sweep("sweep zip of unequal lengths", (G, "nat.random_fully=false,true", G,
                                            W + "pods=1,2,3", "--zip",
                                            f"nat.random_fully,{W}pods"), "--zip", "equal"),
    _sweep("sweep zip of a key not swept", (G, "nat.random_fully=false,true", "--zip",
                                            "nat.random_fully,nat.random"), "is not swept"),
    _sweep("sweep nothing to sweep", (), "--grid", "nothing to sweep"),
    _sweep("sweep unknown engine", (G, "nat.random_fully=false,true", "--engine", "fast"),
           "--engine", "'fast'"),
    _sweep("sweep workers with a scheduler", (G, "nat.random_fully=false,true", "--workers",
                                              "2", "--scheduler", "tcp://127.0.0.1:9"),
           "--workers", "--scheduler"),
    _sweep("sweep into a text file", (G, "nat.random_fully=false,true"), "--out",
           "not a snatsim results database", prepare=_write("s.db", "my notes\n"), sub=True),
    _sweep("sweep into a folder", (G, "nat.random_fully=false,true"), "is a folder",
           prepare=_mkdir("s.db")),
    BadInput("sweep on a read-only filesystem", ("--out", "cannot write"),
             argv=("sweep", "{config}", G, "nat.random_fully=false,true", "--out",
                   "/sys/snatsim-sweep.db")),
    BadInput("sweep under a file", ("--out", "is a file"),
             argv=("sweep", "{config}", G, "nat.random_fully=false,true", "--out",
                   "{tmp}/cfg.toml/s.db")),
    BadInput("sweep file of an unknown table", ("--grid-file", "unknown: grids"),
             argv=("sweep", "{config}", "--grid-file", "{tmp}/g.toml", "--out", "{tmp}/s.db"),
             prepare=_write("g.toml", "[grids]\na = [1]\n")),
    _sweep("sweep --trials with the SimPy model", (G, "nat.random_fully=false,true", "--engine",
                                                   "des", "--trials", "1000"),
           "--trials", "--engine des runs the SimPy model", sub=True),
    _sweep("sweep --trials 0", (G, "nat.random_fully=false,true", "--trials", "0"), "--trials",
           "0 is not a number of trials"),
    _sweep("sweep --rel-error 2", (G, "nat.random_fully=false,true", "--rel-error", "2"),
           "--rel-error", "between 0 and 1"),
    _sweep("sweep --trials and --rel-error", (G, "nat.random_fully=false,true", "--trials",
                                              "1000", "--rel-error", "0.1"), "not both"),
    BadInput("sweep file with trials as text", ("--trials (--grid-file", "'many'"),
             argv=("sweep", "{config}", "--grid-file", "{tmp}/g.toml", "--out", "{tmp}/s.db"),
             prepare=_write("g.toml", 'trials = "many"\n[grid]\n"nat.random_fully" = [true]\n')),
    BadInput("results of a scenario file", ("cfg.toml", "not a snatsim results database"),
             argv=("results", "{config}"), subprocess=True),
    BadInput("results of a missing file", ("no such file",), argv=("results", "{tmp}/none.db")),
]

# ------------------------------------------------------------------------------- snatsim demo
def _demo(name: str, argv: tuple[str, ...], *expect: str, config: str | None = BASE,
          sub: bool = False) -> BadInput:
    return BadInput(name, expect, argv=("demo", "--config", "{config}", *argv), config=config,
                    subprocess=sub)


DEMO = [
    _demo("demo: missing config", ("--figure", "{tmp}/d.png"), "cfg.toml", config=None, sub=True),
    _demo("demo: already random-fully", ("--figure", "{tmp}/d.png"), "already uses --random-fully",
          config=BASE.replace('version = "6.1"\n', 'version = "6.1"\n\n[nat]\nrandom_fully = true\n')),
    _demo("demo: figure extension", ("--figure", "{tmp}/d.jpg"), "--figure", ".png, .svg or .pdf",
          sub=True),
    _demo("demo: figure is a folder", ("--figure", "{tmp}"), "--figure"),
    _demo("demo: zero duration", ("--figure", "{tmp}/d.png", "--duration-s", "0"), "--duration-s"),
]

CAPACITY = [  # snatsim capacity: every case is refused before anything is evaluated
    _argv("capacity unknown --vary", ("capacity", "{config}", "--vary", "nat.random_fully"),
          "--vary", "'nat.random_fully' cannot be varied", "workload.N.rate_per_s", sub=True),
    _argv("capacity --max-delayed 0", ("capacity", "{config}", "--max-delayed", "0"),
          "--max-delayed", "(0, 1)"),
    _argv("capacity --max-delayed above 1", ("capacity", "{config}", "--max-delayed", "2"),
          "--max-delayed", "(0, 1)"),
    _argv("capacity unknown kernel", ("capacity", "{config}", "--kernel", "6.1", "--kernel",
                                      "2.2"), "kernel.version", "2.2", sub=True),
    _argv("capacity rate of a missing workload", ("capacity", "{config}", "--vary",
                                                  "workload.5.rate_per_s"), "--vary",
          "has 1 workload"),
]


# --------------------------------------------------------------------------- snatsim estimate
def _estimate(name: str, args: tuple[str, ...], *expect: str, sub: bool = False) -> BadInput:
    return BadInput(name, expect, argv=("estimate", "{config}", *args), subprocess=sub)


ESTIMATE = [
    _estimate("estimate: --trials 0", ("--trials", "0"), "--trials", "from 1 to", sub=True),
    _estimate("estimate: --trials -1", ("--trials", "-1"), "--trials", "-1"),
    _estimate("estimate: absurd --trials", ("--trials", "1000000000000"), "--trials",
              "1,000,000,000,000", "split"),
    _estimate("estimate: --trials not a number", ("--trials", "many"), "--trials", "integer"),
    _estimate("estimate: --rel-error 2", ("--rel-error", "2"), "--rel-error", "between 0 and 1",
              sub=True),
    _estimate("estimate: --rel-error 0", ("--rel-error", "0"), "--rel-error", "0.05"),
    _estimate("estimate: --rel-error -0.1", ("--rel-error", "-0.1"), "--rel-error"),
    _estimate("estimate: --rel-error nan", ("--rel-error", "nan"), "--rel-error", "nan"),
    _estimate("estimate: --rel-error inf", ("--rel-error", "inf"), "--rel-error", "inf"),
    _estimate("estimate: --trials and --rel-error", ("--trials", "1000", "--rel-error", "0.1"),
              "--trials", "--rel-error", "not both", sub=True),
    BadInput("estimate: bursts of UDP lookups, which the engine cannot sample",
             (W + "protocol", "snatsim run"), argv=("estimate", "{config}"),
             config=BASE.replace('arrival = "poisson"\nrate_per_s = 20.0', 'protocol = "udp"\n'
                                 'arrival = "burst"\nburst_size = 5\nburst_interval_s = 2.3')),
]

RUN_ONLY = ("--out", "--trace", "--rows", "--force", "--replicates", "--workers")
"""``snatsim run`` options that ``snatsim estimate`` does not have."""


def as_estimate(case: BadInput) -> BadInput | None:
    """The same bad input given to ``snatsim estimate`` (None: ``case`` is not a ``run`` case).

    Run's default ``--out``/``--trace`` are dropped unless the case is about them (its message
    names a run-only option); a case that still has an option only ``run`` has must be rejected
    as an unknown option instead.
    """
    if case.argv[:1] != ("run",):
        return None
    about_run_only = any(option in text for text in case.expect for option in RUN_ONLY)
    drop_default = case.argv[:len(RUN)] == RUN and not about_run_only
    argv = case.argv[len(RUN):] if drop_default else case.argv[2:]
    argv = ("estimate", *case.argv[1:2], *argv)
    expect = ("no such option",) if any(a in RUN_ONLY for a in argv) else case.expect
    return BadInput(f"estimate: {case.name}", expect, sets=case.sets, argv=argv,
                    config=case.config, prepare=case.prepare, subprocess=case.subprocess)


CORPUS: list[BadInput] = [*FILES, *VALUES, *KERNELS, *FLAGS, *PATHS, *PLOT, *EXPLAIN, *SWEEPS,
                          *DEMO, *ESTIMATE, *CAPACITY]
ESTIMATE_CORPUS: list[BadInput] = [c for c in map(as_estimate, CORPUS) if c is not None]
"""Every case ``run`` rejects, given to ``estimate``: it must reject them all the same way."""
