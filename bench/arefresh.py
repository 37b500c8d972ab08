"""The bulk refresh over the async path (``jira_connect_refresh --async``) against the sync path.

The data and the command runs of ``bench.refresh``: N connections holding real grants of the
simulated Jira, every access token expiring in two minutes, the token endpoint answering after
50 ms (a Jira further away); the command in a process of its own (``bench.refresh_child``),
timed from start to exit, with its own peak memory (``VmHWM``, read inside it). Each
configuration runs ``RUNS`` times on fresh, equal data, in turns (sync, async, async, then
again), so that a change in the machine's load falls on all of them alike.

Compared: ``--workers auto`` (threads, each making its refreshes' token calls itself) and
``--async --workers auto`` (as many coroutines on one event loop, the token calls on the loop
through an httpx client each coroutine keeps, its locked database work in a thread of its own),
and ``--async`` with twice as many refreshes at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.db import connection as db

from bench.data import make_link
from bench.jira import SimulatedJira
from bench.refresh import (
    Run,
    complete_check,
    lock_query,
    locks_the_link,
    measure,
    memory_check,
    memory_row,
    ms,
    rusage_note,
)
from bench.report import RUNS, Result, Spread, Table
from jira_connect import refresher

TARGET_SIZE = 10_000
LATENCY = 0.05


@dataclass(frozen=True)
class Mode:
    """One way to run the command: its label and its arguments beyond ``--workers``."""

    label: str
    workers: int
    extra: tuple[str, ...]


def modes() -> list[Mode]:
    auto = refresher.auto_workers()
    return [
        Mode(f"sync, --workers auto ({auto} threads)", auto, ()),
        Mode(f"async, --async --workers auto ({auto} at once)", auto, ("--async",)),
        Mode(f"async, --async --workers {2 * auto}", 2 * auto, ("--async",)),
    ]


def run(jira: SimulatedJira, *, quick: bool) -> Result:
    if db.vendor != "postgresql":
        raise RuntimeError("the async refresh benchmark needs PostgreSQL (SQLite runs one worker)")
    size, runs = (300, 1) if quick else (TARGET_SIZE, RUNS)
    link = make_link(jira)
    if locks_the_link(lock_query(jira, link)):
        raise RuntimeError("the refresh's row lock also locks the link: fix that first")
    chosen = modes()
    measured: dict[str, list[Run]] = {mode.label: [] for mode in chosen}
    for _ in range(runs):
        for mode in chosen:
            measured[mode.label].append(
                measure(jira, link, size, mode.workers, LATENCY, *mode.extra)
            )
    sync_label = chosen[0].label
    sync_seconds = Spread.of([r.seconds for r in measured[sync_label]]).median
    all_runs = [r for found in measured.values() for r in found]

    result = Result(
        key="arefresh",
        title=f"jira_connect_refresh --async on {size:,} connections",
        command="scripts/bench arefresh",
        method=(
            f"The data and command runs of the refresh measurement: {size:,} connections holding "
            f"real grants of the simulated Jira on one link, every access token expiring in two "
            f"minutes, the token endpoint answering after {ms(LATENCY)} (a Jira further away). "
            f"`python -m django jira_connect_refresh` runs in a process of its own on fresh, "
            f"equal data each time, timed from start to exit (Django's start-up included), with "
            f"its own peak memory (`VmHWM` read inside it, `bench/refresh_child.py`). Compared: "
            f"the sync path (`--workers auto`: threads, each making its token calls itself) and "
            f"the async path (`--async`: as many coroutines on one event loop, each refresh the "
            f"async single flight, its token call on the loop through an httpx client the "
            f"coroutine keeps (one kept-alive connection to Jira, the SSL context shared), its "
            f"locked re-read and write in a thread the coroutine keeps, with its database "
            f"connection, for the whole run), at the same bound and at twice it. The "
            f"configurations run in turns, {runs} time(s) each; every figure is the median with "
            f'min and max beside it. "All refreshed" means the command reported every '
            f"connection refreshed, exactly one refresh request per connection reached Jira, and "
            f"a sample of stored access tokens are new and valid."
        ),
    )
    rows = []
    for mode in chosen:
        found = measured[mode.label]
        ratio = Spread.of([sync_seconds / r.seconds for r in found])
        rows.append(
            (
                mode.label,
                *memory_row(size, found)[1:4],
                ratio.text(lambda v: f"{v:.2f}x"),
                "yes" if all(r.complete for r in found) else "NO",
            )
        )
    result.tables.append(
        Table(
            (
                f"path ({ms(LATENCY)} token latency)",
                "wall time",
                "time per connection",
                "peak memory of the command",
                "speed against the sync path's median",
                "all refreshed",
            ),
            rows,
        )
    )
    result.checks += [
        memory_check(f"{mode.label}, {size:,} connections", measured[mode.label]) for mode in chosen
    ]
    result.checks.append(complete_check("every run, both paths", all_runs))
    result.notes += [
        "DESIGN §5 sets no speed target for the async path against the sync one: the figures "
        "say what `--async` changes. Both paths hold one database connection per refresh under "
        "way (the row lock must be held across the token call on either path), so the bound on "
        "refreshes at once is the same resource on both. Both keep one connection to Jira open "
        "per worker (a sync worker's session, a coroutine's client); the async path makes its "
        "token calls on one event loop instead of in threads, but adds a hand-over between the "
        "loop and a thread at each database step. "
        f"Everything here (the command, PostgreSQL, the simulated Jira) shares the same "
        f"{os.cpu_count()} CPUs.",
        rusage_note(all_runs),
        "Not measured here: a Jira on another machine with real TLS (both paths keep their "
        "connections, so each pays one handshake per worker), several copies of the command at "
        "once, and failing refreshes.",
    ]
    return result
