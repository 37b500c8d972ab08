"""(c) Proactive refresh at scale: ``manage.py jira_connect_refresh`` on connections due for it.

Each run gets fresh, equal data: N connections with real grants of the simulated Jira, every
access token expiring in two minutes, and a token endpoint that takes 20 ms to answer (a real
Jira round trip). The command runs in a process of its own, so its wall time (Django's start
included) and its peak memory (``ru_maxrss`` from ``wait4``) are its alone. The baseline is the
same command with ``--workers 1``: one refresh at a time.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.data import make_connections, make_link
from bench.jira import ROOT, SimulatedJira
from bench.report import Check, Result, Table
from jira_connect import refresher
from jira_connect.models import JiraConnection, JiraLink

FULL = 10_000
QUICK = 500
BASELINE_SAMPLE = 1_000
WORKERS = 8
TOKEN_LATENCY = 0.02
SPEEDUP_TARGET = 5.0
MEMORY_TARGET_MB = 150.0
VERIFIED_SAMPLE = 50
_SUMMARY = re.compile(
    r"(\d+) due: (\d+) refreshed, (\d+) already fresh, (\d+) need to reconnect, (\d+) failed"
)


@dataclass(frozen=True)
class Run:
    connections: int
    workers: int
    seconds: float
    peak_mb: float
    refreshed: int
    refresh_requests: int
    tokens_valid: bool

    @property
    def per_second(self) -> float:
        return self.connections / self.seconds

    @property
    def complete(self) -> bool:
        return (
            self.refreshed == self.connections
            and self.refresh_requests == self.connections
            and self.tokens_valid
        )


def run_command(workers: int) -> tuple[float, float, str]:
    """``python -m django jira_connect_refresh --workers N`` in its own process.

    Returns its wall time in seconds, its peak resident memory in MB (10^6 bytes) and its output.
    """
    with tempfile.TemporaryFile("w+") as output:
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603 (our own interpreter, no shell)
            [sys.executable, "-m", "django", "jira_connect_refresh", "--workers", str(workers)],
            cwd=ROOT,
            env=dict(os.environ),  # DJANGO_SETTINGS_MODULE and DATABASE_URL included
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    if process.returncode != 0:
        raise RuntimeError(f"jira_connect_refresh exited with {process.returncode}:\n{text}")
    return seconds, usage.ru_maxrss * 1024 / 1e6, text  # ru_maxrss is in KiB on Linux


def measure(jira: SimulatedJira, link: JiraLink, connections: int, workers: int) -> Run:
    print(f"   {connections:,} connections, --workers {workers} ...", flush=True)
    JiraConnection.objects.all().delete()
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
    jira.call("inject", target="token", fault="delay", times=None, delay=TOKEN_LATENCY)
    requests_before = jira.refresh_requests()
    try:
        seconds, peak_mb, output = run_command(workers)
    finally:
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
        workers=workers,
        seconds=seconds,
        peak_mb=peak_mb,
        refreshed=int(found.group(2)),
        refresh_requests=jira.refresh_requests() - requests_before,
        tokens_valid=tokens_valid,
    )


def startup_seconds() -> float:
    """Wall time of the command when nothing is due: Django's start-up and the query."""
    JiraConnection.objects.all().delete()
    seconds, _, output = run_command(1)
    found = _SUMMARY.search(output)
    if found is None or found.group(1) != "0":
        raise RuntimeError(f"expected nothing due, got: {output}")
    return seconds


def lock_query(jira: SimulatedJira, link: JiraLink) -> str:
    """The SQL that takes the row lock during one refresh (run here, in this process)."""
    JiraConnection.objects.all().delete()
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


def run(jira: SimulatedJira, *, quick: bool, full_baseline: bool = False) -> Result:
    if db.vendor != "postgresql":
        raise RuntimeError("the refresh benchmark needs PostgreSQL (SQLite runs one worker)")
    size = QUICK if quick else FULL
    sample = size if quick or full_baseline else BASELINE_SAMPLE
    link = make_link(jira)
    link_locked = locks_the_link(lock_query(jira, link))
    fixed = startup_seconds()
    baseline = measure(jira, link, sample, 1)
    concurrent = measure(jira, link, size, WORKERS)
    runs = [baseline, concurrent]
    if not quick:
        runs.append(measure(jira, link, size // 10, WORKERS))  # is memory flat in the size?
    baseline_seconds = fixed + (baseline.seconds - fixed) * size / sample
    speedup = baseline_seconds / concurrent.seconds
    peak = max(run.peak_mb for run in runs)
    rows: list[tuple[str, ...]] = [
        (
            f"{run.connections:,}",
            str(run.workers),
            f"{run.seconds:.1f} s",
            f"{run.per_second:.0f}",
            f"{run.peak_mb:.0f} MB",
            "yes" if run.complete else "NO",
        )
        for run in runs
    ]
    if sample != size:
        rows.insert(
            1,
            (
                f"{size:,} (scaled from {sample:,})",
                "1",
                f"{baseline_seconds:.1f} s",
                f"{size / baseline_seconds:.0f}",
                "",
                "",
            ),
        )
    table = Table(
        ("connections", "--workers", "wall time", "refreshes / s", "peak memory", "all refreshed"),
        rows,
    )
    result = Result(
        key="refresh",
        title=f"jira_connect_refresh on {size:,} connections",
        command="scripts/bench refresh" + (" --full-baseline" if full_baseline else ""),
        method=(
            f"{size:,} connections holding real grants of the simulated Jira (minted with its "
            f"`issue_tokens()`: the consent and the code exchange without HTTP), all on one link, "
            f"every access token expiring in two minutes, the token endpoint answering after "
            f'{TOKEN_LATENCY * 1000:.0f} ms (`inject("token", "delay", delay='
            f"{TOKEN_LATENCY}, times=None)`, a real Jira round trip). `python -m django "
            f"jira_connect_refresh --workers {WORKERS}` against the same command with "
            f"`--workers 1` (one refresh at a time), each on fresh, equal data and in a process "
            f"of its own, timed from start to exit (Django's start-up included) with its peak "
            f'resident memory taken from `wait4`. "All refreshed" means the command reported '
            f"every connection refreshed, exactly one refresh request per connection reached "
            f"Jira, and a sample of {VERIFIED_SAMPLE} stored access tokens are new and valid."
        ),
    )
    result.tables.append(table)
    if sample != size:
        result.notes.append(
            f"The one-at-a-time baseline ran on a sample of {sample:,} connections and was scaled "
            f"to {size:,}: one refresh at a time costs the same per connection whatever their "
            f"number, so its time is the command's fixed cost (start-up with nothing due, "
            f"measured: {fixed:.1f} s) plus {size // sample} times the rest of the sample's "
            f"time. `scripts/bench refresh --full-baseline` measures it on all {size:,} "
            f"(about {baseline_seconds / 60:.0f} minutes)."
        )
    if link_locked:
        result.notes.append(
            "Found while measuring: the refresh takes its row lock with `SELECT ... FOR UPDATE` "
            "over a join with `jira_connect_jiralink` and no `OF`, so PostgreSQL locks the "
            "connection's link row too, and holds it for the round trip to Jira "
            '(`refreshing._lock_row`: `select_for_update().select_related("link")`). '
            "Every refresh of a connection on the same link waits for the one before, so with "
            "all connections on one link, as here and on most sites, more workers barely help."
        )
    if not quick:
        small = runs[2]
        result.notes.append(
            f"Memory against size: {small.peak_mb:.0f} MB peak for {small.connections:,} "
            f"connections, {concurrent.peak_mb:.0f} MB for {concurrent.connections:,}."
        )
    result.checks += [
        Check(
            f"speed-up of --workers {WORKERS} over one at a time",
            f"{speedup:.1f}x",
            f"≥ {SPEEDUP_TARGET:.0f}x",
            speedup >= SPEEDUP_TARGET,
        ),
        Check(
            "peak memory of the command",
            f"{peak:.0f} MB",
            f"< {MEMORY_TARGET_MB:.0f} MB",
            peak < MEMORY_TARGET_MB,
        ),
        Check(
            "every connection refreshed once",
            "yes" if all(run.complete for run in runs) else "no",
            "yes",
            all(run.complete for run in runs),
        ),
    ]
    return result
