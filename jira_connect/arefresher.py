"""The proactive bulk refresh over the async path: ``jira_connect_refresh --async``.

``refresher.refresh_due`` runs N threads, each making its refreshes' token
calls itself. Here N coroutines on one event loop take the due connections
in turn; each refresh is ``arefreshing``'s single flight, its token call on
the event loop through an httpx client the coroutine keeps (its connection
to Jira kept open, the SSL context shared by all), and its locked database
work in the coroutine's own thread (a ``Lane``: one database connection per
coroutine, kept for the run, as a sync worker's). The decisions, outcomes, signals and summary are the sync
command's: each connection is decided again under its row lock
(``refreshing.due``), so this runs safely beside sync runs and users'
requests.

Import only with httpx installed (``django-jira-connect[async]``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from django.db import connections, router

from jira_connect import arefreshing, health, refresher, refreshing
from jira_connect.exceptions import JiraConnectError
from jira_connect.models import JiraConnection
from jira_connect.refresher import DEFAULT_IDLE_DAYS, DEFAULT_WITHIN, RefreshSummary


def refresh_due_async(
    pks: list[int],
    *,
    concurrency: int = 8,
    within: int = DEFAULT_WITHIN,
    idle_days: int | None = DEFAULT_IDLE_DAYS,
    progress: Callable[[RefreshSummary], None] | None = None,
) -> RefreshSummary:
    """``arefresh_due`` on an event loop of its own, for sync callers (the command).

    Health counts are kept in memory and written together, as ``refresher.refresh_due`` does.
    """
    with health.counting_in_bulk():
        return asyncio.run(
            arefresh_due(
                pks, concurrency=concurrency, within=within, idle_days=idle_days, progress=progress
            )
        )


async def arefresh_due(
    pks: list[int],
    *,
    concurrency: int = 8,
    within: int = DEFAULT_WITHIN,
    idle_days: int | None = DEFAULT_IDLE_DAYS,
    progress: Callable[[RefreshSummary], None] | None = None,
) -> RefreshSummary:
    """Refresh ``pks`` with at most ``concurrency`` refreshes under way at once.

    ``refresher.refresh_due``'s outcomes and summary; on SQLite, which
    serialises writers, one at a time.
    """
    summary = RefreshSummary(total=len(pks))
    if connections[router.db_for_write(JiraConnection)].vendor == "sqlite":
        concurrency = 1
    lanes = max(1, min(concurrency, len(pks)))
    contexts = arefreshing.TLSContexts()
    work = iter(pks)  # shared by the coroutines: each takes the next due connection

    async def work_through() -> None:
        lane = arefreshing.Lane(contexts)
        try:
            for pk in work:
                summary.count(await arefresh_one(pk, lane, within=within, idle_days=idle_days))
                if progress is not None:
                    progress(summary)
        finally:
            await lane.aclose()

    # A lane that fails (the database gone) stops; the others finish the work, as the sync
    # command's other threads do, and then the failure is raised.
    ended = await asyncio.gather(*(work_through() for _ in range(lanes)), return_exceptions=True)
    for outcome in ended:
        if isinstance(outcome, BaseException):
            raise outcome
    return summary


async def arefresh_one(
    pk: int,
    lane: arefreshing.Lane,
    *,
    within: int = DEFAULT_WITHIN,
    idle_days: int | None = DEFAULT_IDLE_DAYS,
) -> str:
    """``refresher.refresh_one`` over the async path, in ``lane``: the same outcomes."""
    due = refreshing.due(within=within, refreshed_before=refresher.refreshed_before(idle_days))
    try:
        refreshed = await arefreshing.single_flight(refresher.unread(pk), due, lane=lane)
    except JiraConnection.DoesNotExist:
        return "fresh"  # disconnected meanwhile
    except JiraConnectError as err:
        return refresher.failure_outcome(pk, err)
    return "refreshed" if refreshed else "fresh"
