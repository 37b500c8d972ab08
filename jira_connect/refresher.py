"""Proactive refresh: renew tokens before users need them, many at a time.

Used by ``manage.py jira_connect_refresh`` and the optional Celery task. It
keeps two kinds of connection alive: those whose access token is about to
expire, and idle ones whose refresh token (90 days on Jira by default) would
otherwise run out, logging their users out. Each refresh goes through
``refreshing.refresh_if_due``, so it is safe to run on many machines at once.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import close_old_connections, connections, router
from django.utils import timezone

from jira_connect import health, refreshing
from jira_connect import models as kinds  # the failure kinds as plain strings
from jira_connect._http import keeping_connections
from jira_connect.exceptions import JiraConnectError, ReauthorizationRequired
from jira_connect.models import JiraConnection

logger = logging.getLogger(__name__)

#: Refresh tokens not renewed for this many days are renewed, well inside Jira's 90.
DEFAULT_IDLE_DAYS = 30
#: Access tokens expiring within this many seconds are renewed.
DEFAULT_WITHIN = 600
#: ``auto_workers()``: refreshes at once per CPU, and at most.
WORKERS_PER_CPU = 16
MAX_AUTO_WORKERS = 32


def auto_workers() -> int:
    """How many refreshes to run at once on this machine (``--workers auto``).

    A refresh mostly waits for Jira's answer, so one CPU keeps many going; past
    a few dozen threads the interpreter's lock and the database connections
    (one per worker) cost more than the overlap brings. ``docs/benchmarks.md``
    shows the measurements behind the numbers: with a 20 ms token round trip 8
    and 32 workers on 2 CPUs were within each other's spread, with 50 ms 32 was
    clearly best, and 64 was slower than 32 at both. The CPU a refresh costs
    the command hardly grows with the workers (measured 8 to 32), so the higher
    count costs little where Jira is near and gains much where it is far.
    """
    affinity = getattr(os, "sched_getaffinity", None)
    cpus = len(affinity(0)) if affinity is not None else os.cpu_count() or 1
    return max(1, min(MAX_AUTO_WORKERS, WORKERS_PER_CPU * cpus))


@dataclass
class RefreshSummary:
    total: int = 0
    refreshed: int = 0
    fresh: int = 0
    reauth_required: int = 0
    #: Jira could not be asked (down, slow, garbled): worth trying again later.
    failed: int = 0
    #: The link or the site's settings are wrong (a host no longer allowed, a missing
    #: encryption key, client credentials Jira refuses): trying again cannot help.
    misconfigured: int = 0

    def count(self, outcome: str) -> None:
        """Count one connection's outcome (``refresh_one``'s words)."""
        setattr(self, outcome, getattr(self, outcome) + 1)

    def __str__(self) -> str:
        text = (
            f"{self.total} due: {self.refreshed} refreshed, {self.fresh} already fresh, "
            f"{self.reauth_required} need to reconnect, {self.failed} failed"
        )
        if self.misconfigured:
            text += f", {self.misconfigured} misconfigured (fix the link or the settings)"
        return text


def due_connections(
    *,
    within: int = DEFAULT_WITHIN,
    idle_days: int | None = DEFAULT_IDLE_DAYS,
    link: str = "",
    tenant: str | None = None,
) -> list[int]:
    """Primary keys of the connections due for a refresh (small: ints only, not rows)."""
    connections = JiraConnection.objects.due_for_refresh(
        within=within, refreshed_before=refreshed_before(idle_days)
    )
    if link:
        connections = connections.filter(link__slug=link)
    if tenant is not None:
        connections = connections.filter(link__tenant=tenant)
    return list(connections.order_by("expires_at", "pk").values_list("pk", flat=True))


def refresh_one(
    pk: int, *, within: int = DEFAULT_WITHIN, idle_days: int | None = DEFAULT_IDLE_DAYS
) -> str:
    """Refresh one connection if still due.

    Returns "refreshed", "fresh", "reauth_required", "failed" (transient: try
    again later) or "misconfigured" (the link or settings need a person).
    """
    try:
        refreshed = refreshing.refresh_if_due(
            unread(pk), within=within, refreshed_before=refreshed_before(idle_days)
        )
    except JiraConnection.DoesNotExist:
        return "fresh"  # disconnected meanwhile
    except JiraConnectError as err:
        return failure_outcome(pk, err)
    return "refreshed" if refreshed else "fresh"


def unread(pk: int) -> JiraConnection:
    """The connection ``pk`` as a refresh needs it before its row is locked: nothing but its key.

    The refresh locks and reads the row (with its link) before it decides anything, so reading
    it first as well would cost a query, and a decryption of every token, per refresh. The
    instance says it was read where the row would have been read, so routers see the same
    hints as for a loaded row.
    """
    connection = JiraConnection(pk=pk)
    connection._state.adding = False
    connection._state.db = router.db_for_read(JiraConnection)
    return connection


def refreshed_before(idle_days: int | None) -> datetime | None:
    """Connections last refreshed before this moment are refreshed even when not expiring."""
    return timezone.now() - timedelta(days=idle_days) if idle_days else None


def failure_outcome(pk: int, err: JiraConnectError) -> str:
    """How the summary counts a refresh that raised ``err`` (logged unless the user must
    reconnect, which is no failure of the run)."""
    if isinstance(err, ReauthorizationRequired):
        return "reauth_required"
    kind = refreshing.failure_kind(err)
    logger.warning("Proactive refresh of connection %s failed (%s): %s", pk, kind, err)
    return "failed" if kind == kinds.TRANSIENT else "misconfigured"


def refresh_due(
    pks: list[int],
    *,
    workers: int = 8,
    within: int = DEFAULT_WITHIN,
    idle_days: int | None = DEFAULT_IDLE_DAYS,
    progress: Callable[[RefreshSummary], None] | None = None,
) -> RefreshSummary:
    """Refresh ``pks`` with ``workers`` threads, each holding one database connection.

    One worker (and always on SQLite, which serialises writers anyway) runs in
    the calling thread. The health page's counts of the run are written together
    (``health.counting_in_bulk``), not with one more query per refresh.
    """
    with health.counting_in_bulk():
        return _refresh_due(
            pks, workers=workers, within=within, idle_days=idle_days, progress=progress
        )


def _refresh_due(
    pks: list[int],
    *,
    workers: int,
    within: int,
    idle_days: int | None,
    progress: Callable[[RefreshSummary], None] | None,
) -> RefreshSummary:
    summary = RefreshSummary(total=len(pks))
    db_connection = connections[router.db_for_write(JiraConnection)]
    if db_connection.vendor == "sqlite":
        workers = 1
    work: queue.SimpleQueue[int] = queue.SimpleQueue()
    for pk in pks:
        work.put(pk)
    lock = threading.Lock()

    def work_through() -> None:
        # One worker refreshes one connection after another: its token calls to a Jira share a
        # session and a kept-alive connection instead of opening one each.
        with keeping_connections():
            for pk in _drain(work):
                outcome = refresh_one(pk, within=within, idle_days=idle_days)
                with lock:
                    summary.count(outcome)
                    if progress is not None:
                        progress(summary)

    def worker() -> None:
        try:
            work_through()
        finally:
            connections[router.db_for_write(JiraConnection)].close()  # this thread's own

    workers = max(1, min(workers, len(pks)))
    if workers == 1:
        work_through()
        return summary
    threads = [threading.Thread(target=worker, name=f"jira-refresh-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    return summary


def _drain(work: queue.SimpleQueue[int]) -> Iterator[int]:
    while True:
        try:
            yield work.get_nowait()
        except queue.Empty:
            return
