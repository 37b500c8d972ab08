"""Celery tasks for proactive refresh (the optional ``celery`` extra).

Only a host's Celery autodiscovery imports this module; nothing else in
``jira_connect`` imports Celery. Schedule ``refresh_due_connections`` with
beat every few minutes: it queues one ``refresh_connection`` per due
connection, so many workers share the work. Each refresh is decided again
under the connection's row lock (``refreshing.refresh_if_due``), so
overlapping runs, duplicate messages and retries refresh a connection once.
"""

from __future__ import annotations

import logging
import random

from celery import Task, group, shared_task  # type: ignore[import-untyped, import-not-found, unused-ignore]

from jira_connect import refresher
from jira_connect.conf import app_settings

logger = logging.getLogger(__name__)

#: Attempts after the first when Jira fails (timeout, 5xx): about 20 minutes in all by default.
MAX_RETRIES = 5
#: Seconds the first retry waits after the cool-down; each later one waits twice as long.
RETRY_BACKOFF = 30


@shared_task  # type: ignore[untyped-decorator]
def refresh_due_connections(
    within: int = refresher.DEFAULT_WITHIN,
    idle_days: int = refresher.DEFAULT_IDLE_DAYS,
    link: str = "",
    tenant: str | None = None,
) -> int:
    """Queue a ``refresh_connection`` for each connection due; returns how many were queued.

    Due: active, with a refresh token, and an access token expiring within
    ``within`` seconds or not refreshed for ``idle_days`` days (0 turns that
    off). ``link`` (a slug) and ``tenant`` narrow it.
    """
    pks = refresher.due_connections(
        within=within, idle_days=idle_days or None, link=link, tenant=tenant
    )
    if pks:
        group([refresh_connection.s(pk, within, idle_days) for pk in pks]).apply_async()
    logger.info("Queued %s Jira connections for a proactive refresh", len(pks))
    return len(pks)


@shared_task(bind=True, max_retries=MAX_RETRIES)  # type: ignore[untyped-decorator]
def refresh_connection(
    self: Task,
    pk: int,
    within: int = refresher.DEFAULT_WITHIN,
    idle_days: int = refresher.DEFAULT_IDLE_DAYS,
) -> str:
    """Refresh one connection if it is still due once its row is locked.

    Returns "refreshed", "fresh" (nothing to do: another worker refreshed it,
    or it was disconnected), "reauth_required" (Jira rejected the grant: the
    user must reconnect; never retried), "misconfigured" (the link or the
    site's settings are wrong: never retried, as retrying cannot help) or
    "failed" (Jira could not be asked; retried with backoff ``MAX_RETRIES``
    times, then returned).
    """
    outcome = refresher.refresh_one(pk, within=within, idle_days=idle_days or None)
    retries: int = self.request.retries
    if outcome == "failed" and retries < MAX_RETRIES:
        # Wait out REFRESH_RETRY_AFTER first: until then a refresh fails at once without asking
        # Jira. The jitter spreads out the connections that failed together (Jira was down).
        countdown = (
            app_settings.REFRESH_RETRY_AFTER
            + RETRY_BACKOFF * 2**retries
            + random.uniform(0, RETRY_BACKOFF)  # noqa: S311  # nosec B311
        )
        raise self.retry(countdown=countdown)
    return outcome
