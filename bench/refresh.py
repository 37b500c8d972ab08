"""(c) Proactive refresh at scale: ``manage.py jira_connect_refresh`` on connections due for it.

Each run gets fresh, equal data: N connections with real grants of the simulated Jira, every
access token expiring in two minutes, and a token endpoint that answers after a set latency (a
real Jira round trip: 20 ms, and 50 ms for a Jira further away). The command runs in a process of
its own (``bench.refresh_child``), so its wall time (Django's start included) is its alone, and it
reports its own peak memory from inside.

Figures, each the median of ``RUNS`` runs with min and max beside it:

- the one-at-a-time cost per connection (``--workers 1`` on a sample), at each latency;
- the speed-up of 8, 32 and 64 workers over one at a time, at each latency, on ``SWEEP``
  connections; the best worker count named, and what ``--workers auto`` picks here;
- ``--workers auto`` on 10,000 connections at 20 ms: DESIGN §5's speed-up and memory targets.

``run_growth`` (``python -m bench growth``) measures memory and time per connection as the
connections due grow: 1,000 and 10,000, then 50,000 and 100,000 in the full run.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.data import make_connections, make_link
from bench.jira import ROOT, SimulatedJira
from bench.report import RUNS, Check, Result, Spread, Table
from jira_connect import refresher
from jira_connect.models import JiraConnection, JiraLink

TARGET_SIZE = 10_000
LATENCIES = (0.02, 0.05)
TARGET_LATENCY = 0.02
SWEEP_WORKERS = (8, 32, 64)
SPEEDUP_TARGET = 5.0
MEMORY_TARGET_MB = 150.0
VERIFIED_SAMPLE = 50
_SUMMARY = re.compile(
    r"(\d+) due: (\d+) refreshed, (\d+) already fresh, (\d+) need to reconnect, (\d+) failed"
)


@dataclass(frozen=True)
class Plan:
    """The sizes of one benchmark run (quick or full)."""

    runs: int
    baseline_sample: int
    sweep: int
    target_size: int


def plan(quick: bool) -> Plan:
    if quick:
        return Plan(runs=1, baseline_sample=20, sweep=200, target_size=1_000)
    return Plan(runs=RUNS, baseline_sample=150, sweep=1_000, target_size=TARGET_SIZE)


def growth_plan(quick: bool) -> dict[int, int]:
    """Connections: runs, for the growth measurement."""
    if quick:
        return {1_000: 1, 10_000: 1}
    return {1_000: RUNS, 10_000: 1, 50_000: 1, 100_000: 1}


@dataclass(frozen=True)
class Run:
    connections: int
    workers: int
    latency: float
    seconds: float
    peak_mb: float
    rusage_mb: float
    refreshed: int
    refresh_requests: int
    tokens_valid: bool
    #: CPU time (user and system) of the command's process and of the simulated Jira's.
    command_cpu: float
    jira_cpu: float | None

    @property
    def per_connection_ms(self) -> float:
        return self.seconds / self.connections * 1000

    @property
    def complete(self) -> bool:
        return (
            self.refreshed == self.connections
            and self.refresh_requests == self.connections
            and self.tokens_valid
        )


def run_command(workers: int | str, *extra: str) -> tuple[float, float, float, float, str]:
    """``jira_connect_refresh --workers N [EXTRA...]`` in its own process (``bench.refresh_child``).

    Returns its wall time in seconds, its own peak resident memory (``VmHWM``) and the
    ``ru_maxrss`` it would have reported instead, both in MB (10^6 bytes), the CPU seconds it
    used (user and system, reported from inside), and its output.
    """
    with (
        tempfile.TemporaryFile("w+") as output,
        tempfile.NamedTemporaryFile("r", suffix=".json") as peak,
    ):
        started = time.perf_counter()
        process = subprocess.run(  # noqa: S603 (our own interpreter, no shell)
            [
                sys.executable,
                "-m",
                "bench.refresh_child",
                peak.name,
                "--workers",
                str(workers),
                *extra,
            ],
            cwd=ROOT,
            env=dict(os.environ),  # DJANGO_SETTINGS_MODULE and DATABASE_URL included
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
        )
        seconds = time.perf_counter() - started
        output.seek(0)
        text = output.read()
        if process.returncode != 0:
            raise RuntimeError(f"jira_connect_refresh exited with {process.returncode}:\n{text}")
        reported = json.loads(Path(peak.name).read_text())
    if reported["vm_hwm_kib"] is None:
        raise RuntimeError("this system does not report a process's own peak memory (VmHWM)")
    kib = 1024 / 1e6
    return (
        seconds,
        reported["vm_hwm_kib"] * kib,
        reported["ru_maxrss_kib"] * kib,
        reported["cpu_seconds"],
        text,
    )


def clear() -> None:
    """Drop the previous run's connections and their users (plain SQL: 100,000 rows)."""
    user_table = get_user_model()._meta.db_table
    with db.cursor() as cursor:
        cursor.execute(f"DELETE FROM {JiraConnection._meta.db_table}")  # noqa: S608
        cursor.execute(
            f"DELETE FROM {user_table} WHERE username LIKE %s",  # noqa: S608 (our table name)
            ["bench-%"],
        )


def measure(
    jira: SimulatedJira,
    link: JiraLink,
    connections: int,
    workers: int | str,
    latency: float,
    *extra: str,
) -> Run:
    """One run of the command (``--workers workers`` and ``extra``) on fresh data."""
    print(
        f"   {connections:,} connections, --workers {workers}{''.join(' ' + e for e in extra)}, "
        f"{latency * 1000:.0f} ms ...",
        flush=True,
    )
    clear()
    now = timezone.now()
    pks = make_connections(
        jira,
        link,
        connections,
        expires_at=now + timedelta(minutes=2),
        last_refreshed_at=now - timedelta(minutes=58),
    )
    before = {
        c.pk: c.access_token for c in JiraConnection.objects.filter(pk__in=pks[:VERIFIED_SAMPLE])
    }
    if latency:
        jira.call("inject", target="token", fault="delay", times=None, delay=latency)
    requests_before = jira.refresh_requests()
    jira_cpu_before = jira.cpu_seconds()
    try:
        seconds, peak_mb, rusage_mb, command_cpu, output = run_command(workers, *extra)
    finally:
        jira_cpu_after = jira.cpu_seconds()
        jira.call("clear_faults")
    found = _SUMMARY.search(output)
    if found is None:
        raise RuntimeError(f"jira_connect_refresh printed no summary:\n{output}")
    after = JiraConnection.objects.filter(pk__in=before)
    tokens_valid = all(
        connection.access_token != before[connection.pk]
        and jira.call("is_valid_access_token", token=connection.access_token)
        for connection in after
    )
    return Run(
        connections=connections,
        workers=refresher.auto_workers() if workers == "auto" else int(workers),
        latency=latency,
        seconds=seconds,
        peak_mb=peak_mb,
        rusage_mb=rusage_mb,
        refreshed=int(found.group(2)),
        refresh_requests=jira.refresh_requests() - requests_before,
        tokens_valid=tokens_valid,
        command_cpu=command_cpu,
        jira_cpu=None
        if jira_cpu_before is None or jira_cpu_after is None
        else jira_cpu_after - jira_cpu_before,
    )


def startup() -> tuple[float, float]:
    """Wall time and CPU seconds of the command when nothing is due: Django's start-up and the
    query."""
    clear()
    seconds, _, _, cpu, output = run_command(1)
    found = _SUMMARY.search(output)
    if found is None or found.group(1) != "0":
        raise RuntimeError(f"expected nothing due, got: {output}")
    return seconds, cpu


def lock_query(jira: SimulatedJira, link: JiraLink) -> str:
    """The SQL that takes the row lock during one refresh (run here, in this process)."""
    clear()
    now = timezone.now()
    (pk,) = make_connections(
        jira, link, 1, expires_at=now + timedelta(minutes=2), last_refreshed_at=now
    )
    with CaptureQueriesContext(db) as queries:
        if refresher.refresh_one(pk) != "refreshed":
            raise RuntimeError("a refresh in the benchmark process failed")
    return next((q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]), "")


def locks_the_link(sql: str) -> bool:
    """Whether a ``SELECT ... FOR UPDATE`` also locks the joined ``JiraLink`` row (no ``OF``)."""
    joined = "jira_connect_jiralink" in sql.split("FOR UPDATE")[0].split(" FROM ", 1)[-1]
    return joined and not re.search(r"FOR UPDATE OF ", sql)


def ms(latency: float) -> str:
    return f"{latency * 1000:.0f} ms"


def run(jira: SimulatedJira, *, quick: bool) -> Result:
    if db.vendor != "postgresql":
        raise RuntimeError("the refresh benchmark needs PostgreSQL (SQLite runs one worker)")
    sizes = plan(quick)
    auto = refresher.auto_workers()
    link = make_link(jira)
    link_locked = locks_the_link(lock_query(jira, link))
    startups = [startup() for _ in range(sizes.runs)]
    fixed = statistics.median(seconds for seconds, _ in startups)
    fixed_cpu = statistics.median(cpu for _, cpu in startups)

    def repeat(count: int, connections: int, workers: int | str, latency: float) -> list[Run]:
        return [measure(jira, link, connections, workers, latency) for _ in range(count)]

    all_runs: list[Run] = []
    # One at a time: seconds per connection beyond the start-up, at each latency.
    one_at_a_time: dict[float, Spread] = {}
    baseline_runs: dict[float, list[Run]] = {}
    for latency in LATENCIES:
        runs = baseline_runs[latency] = repeat(sizes.runs, sizes.baseline_sample, 1, latency)
        all_runs += runs
        one_at_a_time[latency] = Spread.of([(r.seconds - fixed) / r.connections for r in runs])

    def baseline_seconds(connections: int, latency: float) -> float:
        """One at a time on ``connections``: the start-up plus the sample's cost per connection."""
        return fixed + one_at_a_time[latency].median * connections

    def speedups(runs: list[Run]) -> Spread:
        return Spread.of([baseline_seconds(r.connections, r.latency) / r.seconds for r in runs])

    # The worker sweep.
    sweep: dict[tuple[float, int], list[Run]] = {}
    for latency in LATENCIES:
        for workers in SWEEP_WORKERS:
            sweep[latency, workers] = repeat(sizes.runs, sizes.sweep, workers, latency)
            all_runs += sweep[latency, workers]
    best: dict[float, int] = {}
    for latency in LATENCIES:
        by_speedup = {speedups(sweep[latency, w]).median: w for w in reversed(SWEEP_WORKERS)}
        best[latency] = by_speedup[max(by_speedup)]

    # The target: --workers auto on 10,000 connections at 20 ms.
    target = repeat(sizes.runs, sizes.target_size, "auto", TARGET_LATENCY)
    all_runs += target
    target_speedup = speedups(target)

    result = Result(
        key="refresh",
        title=f"jira_connect_refresh on {sizes.target_size:,} connections",
        command="scripts/bench refresh",
        method=(
            f"Connections holding real grants of the simulated Jira (minted with its "
            f"`issue_tokens()`: the consent and the code exchange without HTTP), all on one "
            f"link, every access token expiring in two minutes, the token endpoint answering "
            f'after {ms(LATENCIES[0])} or {ms(LATENCIES[1])} (`inject("token", "delay", '
            f"times=None)`, a real Jira's round trip). `python -m django jira_connect_refresh "
            f"--workers N` runs in a process of its own on fresh, equal data each time, timed "
            f"from start to exit (Django's start-up included, {fixed:.2f} s with nothing due). "
            f"One refresh at a time (`--workers 1`) is measured on {sizes.baseline_sample} "
            f"connections and scaled: it costs the same per connection whatever their number. "
            f"Every figure is the median of {sizes.runs} run(s) with min and max beside it, "
            f"except where a row says otherwise. Peak memory is the command's own: `VmHWM` "
            f"(`/proc/self/status`) read inside the command's process as it exits "
            f'(`bench/refresh_child.py`). "All refreshed" means the command reported every '
            f"connection refreshed, exactly one refresh request per connection reached Jira, "
            f"and a sample of {VERIFIED_SAMPLE} stored access tokens are new and valid."
        ),
    )
    result.tables.append(
        Table(
            ("token latency", "one at a time, per connection"),
            [
                (ms(latency), one_at_a_time[latency].text(lambda v: f"{v * 1000:.1f} ms"))
                for latency in LATENCIES
            ],
        )
    )
    sweep_rows = []
    for (latency, workers), runs in sweep.items():
        sweep_rows.append(
            (
                ms(latency),
                f"{workers}" + (" (best)" if best[latency] == workers else ""),
                Spread.of([r.seconds for r in runs]).text(lambda v: f"{v:.1f} s"),
                speedups(runs).text(lambda v: f"{v:.1f}x"),
            )
        )
    result.tables.append(
        Table(
            (
                "token latency",
                f"--workers ({sizes.sweep:,} connections)",
                "wall time",
                "speed-up over one at a time",
            ),
            sweep_rows,
        )
    )
    result.tables.append(
        Table(
            (
                f"connections (--workers auto = {auto}, {ms(TARGET_LATENCY)})",
                "wall time",
                "time per connection",
                "peak memory of the command",
                "all refreshed",
            ),
            [memory_row(sizes.target_size, target)],
        )
    )
    cpu_rows = [cpu_row(ms(lat), "1", baseline_runs[lat], fixed_cpu) for lat in LATENCIES]
    cpu_rows += [cpu_row(ms(lat), str(w), runs, fixed_cpu) for (lat, w), runs in sweep.items()]
    cpu_rows.append(cpu_row(ms(TARGET_LATENCY), f"auto ({auto})", target, fixed_cpu))
    result.tables.append(
        Table(
            (
                "token latency",
                "--workers",
                "CPU per refresh, the command",
                "CPU per refresh, the simulated Jira",
            ),
            cpu_rows,
        )
    )
    target_peak = Spread.of([r.peak_mb for r in target])
    result.checks += [
        Check(
            f"speed-up of --workers auto ({auto}) over one at a time, {sizes.target_size:,} "
            f"connections, {ms(TARGET_LATENCY)}",
            target_speedup.text(lambda v: f"{v:.1f}x"),
            f"≥ {SPEEDUP_TARGET:.0f}x",
            target_speedup.median >= SPEEDUP_TARGET,
            timing=True,
        ),
        Check(
            f"peak memory of the command, {sizes.target_size:,} connections",
            target_peak.text(lambda v: f"{v:.0f} MB"),
            f"< {MEMORY_TARGET_MB:.0f} MB",
            max(target_peak.values) < MEMORY_TARGET_MB,
        ),
        Check(
            "every connection refreshed once, every run",
            "yes" if all(r.complete for r in all_runs) else "no",
            "yes",
            all(r.complete for r in all_runs),
        ),
    ]
    best_text = ", ".join(f"{best[lat]} at {ms(lat)}" for lat in LATENCIES)
    result.notes.append(
        f"Best worker count in the sweep: {best_text}. `--workers auto` picks {auto} on this "
        f"machine ({refresher.WORKERS_PER_CPU} per CPU the process may use, at most "
        f"{refresher.MAX_AUTO_WORKERS}). More workers overlap more round trips to Jira, until "
        f"the CPUs (the command's interpreter lock, PostgreSQL, and here the simulated Jira "
        f"too, all on the same {os.cpu_count()} CPUs) are the limit; past that, more threads "
        f"only add switching and database connections."
    )
    result.notes.append(
        f"CPU per refresh: user and system time, all threads, of the command's process (read "
        f"inside it, less the {fixed_cpu:.2f} s its start-up takes with nothing due) and of the "
        f"simulated Jira's (from `/proc`, in clock ticks of "
        f"{1000 / os.sysconf('SC_CLK_TCK'):.0f} ms), divided by the connections refreshed; on "
        f"the {sizes.baseline_sample} connections refreshed one at a time both are coarse (the "
        f"ticks, and the spread of the start-up). The database server's is not included. A real "
        f"Jira runs on other machines: here the simulator's share (its HTTP server, token "
        f"minting and bookkeeping, in Python) runs on the same CPUs as the command and "
        f"PostgreSQL, so it lowers every speed-up above; it is shown rather than left out, and "
        f"the speed-ups are not corrected for it."
    )
    result.notes.append(rusage_note(all_runs))
    if link_locked:
        result.notes.append(
            "Found while measuring: the refresh takes its row lock with `SELECT ... FOR UPDATE` "
            "over a join with `jira_connect_jiralink` and no `OF`, so PostgreSQL locks the "
            "connection's link row too, and holds it for the round trip to Jira. Every refresh "
            "of a connection on the same link waits for the one before."
        )
    result.notes.append(
        "Not measured here: several copies of the command at once (each refresh is decided "
        "again under its row lock; the test suite checks that), a Jira that is slow or failing "
        "(refreshes that fail are retried by the next run), connections spread over many links "
        "and Jiras, users' own requests refreshing at the same time, and a PostgreSQL on "
        "another machine (every database round trip here is on loopback)."
    )
    return result


def rusage_note(all_runs: list[Run]) -> str:
    rusage = max(r.rusage_mb for r in all_runs)
    return (
        f"Why not `ru_maxrss`: on Linux, `getrusage()` (in the command itself with "
        f"`RUSAGE_SELF`, or in its parent through `wait4`) keeps the larger of the process's "
        f"own peak and the memory of the image it replaced at `exec`, which, for a process "
        f"started by `subprocess`, is the parent's: the benchmark's. Here `ru_maxrss` reported "
        f"up to {rusage:.0f} MB, against at most {max(r.peak_mb for r in all_runs):.0f} MB "
        f"the command used."
    )


def cpu_row(latency: str, workers: str, runs: list[Run], fixed_cpu: float) -> tuple[str, ...]:
    """CPU milliseconds per refresh of the command (less its start-up) and of the simulator."""
    command = Spread.of([(r.command_cpu - fixed_cpu) / r.connections * 1000 for r in runs])
    jira = [r.jira_cpu for r in runs]
    return (
        latency,
        workers,
        command.text(lambda v: f"{v:.2f} ms"),
        "not measured (no /proc)"
        if None in jira
        else Spread.of(
            [
                cpu / r.connections * 1000
                for cpu, r in zip(jira, runs, strict=True)
                if cpu is not None
            ]
        ).text(lambda v: f"{v:.2f} ms"),
    )


def memory_row(size: int, runs: list[Run]) -> tuple[str, ...]:
    return (
        f"{size:,}",
        Spread.of([r.seconds for r in runs]).text(lambda v: f"{v:.1f} s"),
        Spread.of([r.per_connection_ms for r in runs]).text(lambda v: f"{v:.2f} ms"),
        Spread.of([r.peak_mb for r in runs]).text(lambda v: f"{v:.0f} MB"),
        "yes" if all(r.complete for r in runs) else "NO",
    )


def memory_check(what: str, runs: list[Run]) -> Check:
    """DESIGN §5's memory target, checked on ``runs`` (the worst run counts). The sync and async
    growth benchmarks check the same target, so they check it here."""
    peak = Spread.of([r.peak_mb for r in runs])
    return Check(
        f"peak memory of the command, {what}",
        peak.text(lambda v: f"{v:.0f} MB"),
        f"< {MEMORY_TARGET_MB:.0f} MB",
        max(peak.values) < MEMORY_TARGET_MB,
    )


def complete_check(what: str, runs: list[Run]) -> Check:
    """Whether every run refreshed every connection once: figures of runs that did not are
    worth nothing, in the sync and the async benchmark alike."""
    complete = all(r.complete for r in runs)
    return Check(
        f"every connection refreshed once, {what}", "yes" if complete else "no", "yes", complete
    )


def run_growth(jira: SimulatedJira, *, quick: bool) -> Result:
    """Memory, and time per connection, as the connections due grow."""
    if db.vendor != "postgresql":
        raise RuntimeError("the growth benchmark needs PostgreSQL (SQLite runs one worker)")
    sizes = growth_plan(quick)
    auto = refresher.auto_workers()
    link = make_link(jira)
    growth: dict[int, list[Run]] = {}
    for size, count in sizes.items():
        growth[size] = []
        for _ in range(count):
            growth[size].append(measure(jira, link, size, "auto", TARGET_LATENCY))
            print(f"   -> {memory_row(size, growth[size])}", flush=True)
    all_runs = [r for runs in growth.values() for r in runs]
    largest = max(sizes)
    result = Result(
        key="growth",
        title="jira_connect_refresh as connections grow",
        command="scripts/bench growth",
        method=(
            f"The command of the previous section (`--workers auto`, {auto} here; token "
            f"latency {ms(TARGET_LATENCY)}) on "
            + ", ".join(f"{size:,}" for size in sizes)
            + " connections due, each size on fresh data, with its own peak memory (`VmHWM`, "
            "read inside it) and its time per connection, Django's start-up included. The "
            "command holds only the primary keys of what is due, and each worker one row at a "
            "time, so its memory should not grow with the number of connections; this checks "
            "that. Runs per size: "
            + ", ".join(f"{size:,}: {count}" for size, count in sizes.items())
            + " (a run of 100,000 takes minutes; the sizes with one run are single "
            "measurements, and repeated runs of `scripts/bench growth` show their spread)."
        ),
    )
    result.tables.append(
        Table(
            (
                "connections",
                "wall time",
                "time per connection",
                "peak memory of the command",
                "all refreshed",
            ),
            [memory_row(size, runs) for size, runs in growth.items()],
        )
    )
    result.checks += [memory_check(f"{size:,} connections", runs) for size, runs in growth.items()]
    result.checks.append(complete_check("every run", all_runs))
    smallest = min(sizes)
    growth_mb = statistics.median(r.peak_mb for r in growth[largest]) - statistics.median(
        r.peak_mb for r in growth[smallest]
    )
    result.notes += [
        f"From {smallest:,} to {largest:,} connections the command's peak grew by "
        f"{growth_mb:.0f} MB.",
        rusage_note(all_runs),
        "Not measured here: the memory of the database server and of Jira (the simulator keeps "
        "every grant in memory), connections spread over many links, and the time to make "
        "the data.",
    ]
    return result
