"""Results, the tables printed on the terminal, and ``docs/benchmarks.md``."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
#: The latest full (not ``--quick``) result of each measurement, from which the document is made.
RESULTS = Path(__file__).resolve().parent / "results"


#: Every published figure is the median of at least this many runs, with their min and max.
RUNS = 3


@dataclass(frozen=True)
class Spread:
    """One figure measured in several runs: the median is the figure, min and max beside it."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("a figure needs at least one run")
        return cls(tuple(values))

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def text(self, show: Callable[[float], str]) -> str:
        """``median (min to max, n runs)``; a single run says so."""
        if len(self.values) == 1:
            return f"{show(self.values[0])} (1 run)"
        low, high = min(self.values), max(self.values)
        return f"{show(self.median)} ({show(low)} to {show(high)}, {len(self.values)} runs)"


def ratio(value: float) -> str:
    return f"{value:.3f}x"


@dataclass(frozen=True)
class Check:
    """One figure beside its DESIGN §5 target."""

    what: str
    figure: str
    target: str
    passed: bool
    #: A speed figure: meaningful only at full size on a quiet machine, so a ``--quick`` run
    #: reports it without failing on it (counts, memory and correctness always count).
    timing: bool = False


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]

    def text(self) -> str:
        widths = [
            max(len(cell) for cell in column)
            for column in zip(self.headers, *self.rows, strict=True)
        ]
        lines = [self.headers, tuple("-" * width for width in widths), *self.rows]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            for line in lines
        )

    def markdown(self) -> str:
        lines = [self.headers, tuple("---" for _ in self.headers), *self.rows]
        return "\n".join("| " + " | ".join(line) + " |" for line in lines)


@dataclass
class Result:
    """What one measurement found, for the terminal and for the document."""

    key: str
    title: str
    command: str
    method: str
    checks: list[Check] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: When and under what load it was measured (filled in by ``python -m bench``).
    measured: str = ""

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def summary(self) -> Table:
        return Table(
            ("figure", "measured", "target", "result"),
            [(c.what, c.figure, c.target, verdict(c.passed)) for c in self.checks],
        )

    def text(self) -> str:
        parts = [f"== {self.title} ==", *(table.text() for table in self.tables)]
        parts += [*self.notes, self.summary().text()]
        return "\n\n".join(parts)


def verdict(passed: bool) -> str:
    return "pass" if passed else "FAIL"


@dataclass(frozen=True)
class Machine:
    cpus: int
    cpu_model: str
    system: str
    python: str
    django: str
    postgresql: str
    libraries: dict[str, str]
    load: str

    @classmethod
    def describe(cls, postgresql: str) -> Machine:
        cpu_model = ""
        cpuinfo = Path("/proc/cpuinfo")
        if cpuinfo.exists():
            found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
            cpu_model = found.group(1).strip() if found else ""
        affinity = getattr(os, "sched_getaffinity", None)
        cpus = len(affinity(0)) if affinity else os.cpu_count() or 0
        libraries = {}
        for name in ("requests", "requests-oauthlib", "oauthlib", "Authlib", "psycopg"):
            try:
                libraries[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                libraries[name] = "not installed"
        return cls(
            cpus=cpus,
            cpu_model=cpu_model or platform.processor() or "unknown",
            system=f"{platform.system()} {platform.release()} ({platform.machine()})",
            python=platform.python_version(),
            django=metadata.version("Django"),
            postgresql=postgresql,
            libraries=libraries,
            load=load_average(),
        )


def load_average() -> str:
    """The 1-minute load average, or "" where the system does not say."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return ""


def save(result: Result, machine: Machine) -> None:
    """Keep ``result`` as the latest of its measurement (``bench/results/<key>.json``)."""
    RESULTS.mkdir(exist_ok=True)
    data = {"result": dataclasses.asdict(result), "machine": dataclasses.asdict(machine)}
    path = RESULTS / f"{result.key}.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def stored(key: str) -> tuple[Result, Machine] | None:
    """The latest full result of measurement ``key``, if one was kept."""
    path = RESULTS / f"{key}.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    raw = data["result"]
    result = Result(
        key=raw["key"],
        title=raw["title"],
        command=raw["command"],
        method=raw["method"],
        checks=[Check(**check) for check in raw["checks"]],
        tables=[
            Table(tuple(table["headers"]), [tuple(row) for row in table["rows"]])
            for table in raw["tables"]
        ],
        notes=list(raw["notes"]),
        measured=raw["measured"],
    )
    return result, Machine(**data["machine"])


def write_document(keys: Sequence[str]) -> Path:
    """Rewrite ``docs/benchmarks.md`` from the latest kept result of each measurement."""
    found = [entry for entry in (stored(key) for key in keys) if entry is not None]
    if not found:
        raise RuntimeError("no kept results to write docs/benchmarks.md from")
    results = [result for result, _ in found]
    machine = found[-1][1]
    machines = {(m.cpus, m.cpu_model, m.system, m.python, m.django, m.postgresql) for _, m in found}
    summary = Table(
        ("measurement", "figure", "measured", "target", "result"),
        [
            (result.title, check.what, check.figure, check.target, verdict(check.passed))
            for result in results
            for check in result.checks
        ],
    )
    libraries = ", ".join(f"{name} {version}" for name, version in machine.libraries.items())
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `scripts/bench` (bench/report.py) from bench/results/: edit the "
        "template, not this file. -->",
        "",
        "DESIGN §5's performance targets, measured by `bench/` against the Jira Data Center "
        "simulator (`jira_connect.testing`) on loopback, in its own process, and a throw-away "
        "PostgreSQL server. Every figure is a ratio against a baseline measured in the same "
        "run, or a count, or the command's own memory, so that it means the same on another "
        "machine; absolute times are shown only to explain the ratios. Every figure is the "
        "median of at least three runs with the min and max beside it, unless a row says "
        "otherwise, and a target is judged on the median (on every run for counts that must "
        "be exact). Each section says when it was measured and how busy the machine was: "
        "other work on the machine slows the concurrent runs most.",
        "",
        f"- Machine: {machine.cpus} CPUs ({machine.cpu_model}), {machine.system}"
        + ("" if len(machines) == 1 else " (sections measured on different set-ups say so)")
        + ".",
        f"- Software: Python {machine.python}, Django {machine.django}, "
        f"PostgreSQL {machine.postgresql}; {libraries}.",
        "",
        "## Summary",
        "",
        summary.markdown(),
        "",
        "Reproduce with `scripts/bench` (which is `python -m bench` in the project's "
        "virtualenv): it runs the overhead, race and refresh measurements and rewrites this "
        "file. `scripts/bench ratelimit`, `scripts/bench asession` and `scripts/bench arefresh` run "
        "the rate-limit, async session and async bulk refresh measurements (also part of the "
        "default run); `scripts/bench growth` runs the memory growth measurement (100,000 "
        "connections: "
        "long), and `scripts/bench overhead`, `race` or `refresh` one measurement; each full "
        "run keeps its result in `bench/results/` and rewrites this file from the latest "
        "result of each. `scripts/bench --quick` is a smoke run with fewer rounds and runs and "
        "smaller sizes, and leaves both alone. The database is `jira_connect_bench_<pid>` on a "
        "PostgreSQL server that the run starts in a temporary directory and removes at its "
        "end (`bench/cluster.py`), or on the server in `BENCH_POSTGRES_URL`.",
        "",
        "## The simulated Jira",
        "",
        "The simulator's HTTP handler writes a response's headers and body in two `send()` calls, "
        "so it sets `TCP_NODELAY`, as Jira's Tomcat does: without it, on a kept-alive connection "
        "every response after the first would wait for the client's delayed ACK (about 40 ms on "
        "Linux: Nagle's algorithm), a stall that would hide what is measured here. The overhead "
        "section shows that stall, measured with the option off.",
        "",
    ]
    for result in results:
        lines += [f"## {result.title}", "", result.method, ""]
        lines += [f"Command: `{result.command}`. Measured: {result.measured}.", ""]
        for table in [*result.tables, result.summary()]:
            lines += [table.markdown(), ""]
        for note in result.notes:
            lines += [note, ""]
    DOCUMENT.parent.mkdir(parents=True, exist_ok=True)
    DOCUMENT.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return DOCUMENT
