"""The storm guard: no refresh after a 401 while Jira rejects even a fresh token.

Some Jira gateways answer a rate-limited call anonymously: a 401, or a 200
marked ``X-AUSERNAME: anonymous``, for a token that is fine. The session
refreshes once after such an answer (Jira rotates tokens, so another worker
may have killed ours). During a burst of rate-limited calls that would be a
refresh per call, each rotating the pair, against a Jira that is already
overloaded: a refresh storm.

So when the retry after a 401-driven refresh is rejected again, the token was
not the problem: the connection's ``refresh_paused_until`` is set 30 seconds
ahead, and until then a rejected call returns Jira's answer instead of
refreshing. While that retry is on its way, refreshes are held too (for as
long as the retry may take), so that no other caller refreshes again before
the verdict: the hold is stored with the refreshed token, and the engine checks the
pause under the row lock. A token that another worker stored meanwhile is still picked up
(it costs no refresh). Refreshes for expiry, ``connection.refresh()`` and the
refresh command are not affected, and nothing here changes a connection's
status: a rate limit never makes a user reconnect.

The pause lives in the connection's row, so it holds across threads,
processes and machines. It is read only after Jira rejected a token, a path
that goes to the database anyway (the refresh's row lock), so calls that
succeed still cost no query; setting it is one UPDATE.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import router
from django.db.models import Q
from django.utils import timezone

from jira_connect.ratelimit import LOGGER_NAME

if TYPE_CHECKING:
    from jira_connect.models import JiraConnection

#: How long a connection makes no 401-driven refresh after the guard trips.
PAUSE_SECONDS = 30

logger = logging.getLogger(LOGGER_NAME)


@dataclass(frozen=True)
class StoredToken:
    """The connection's token as stored now, and whether 401-driven refreshes are paused."""

    access_token: str
    expires_at: datetime | None
    paused_until: datetime | None

    @property
    def paused(self) -> bool:
        return self.paused_until is not None and self.paused_until > timezone.now()


def _database(connection: JiraConnection) -> str:
    # The database refreshes write to: the freshest token and pause, never a lagging replica.
    return router.db_for_write(type(connection), instance=connection)


def stored_token(connection: JiraConnection) -> StoredToken:
    """Read the stored access token, its expiry and the pause: one query by primary key."""
    model = type(connection)
    access_token, expires_at, paused_until = (
        model.objects.using(_database(connection))
        .filter(pk=connection.pk)
        .values_list("access_token", "expires_at", "refresh_paused_until")
        .get()
    )
    return StoredToken(str(access_token or ""), expires_at, paused_until)


def hold_for(timeout: object) -> float:
    """How long to hold 401-driven refreshes after one: while the refreshed call's retry, with
    requests' or httpx's ``timeout``, finds out whether the new token works.

    Without the hold, a caller that picked up the new token and was rejected before the
    verdict would refresh again: one refresh more per connection and burst, across
    processes. The refresh engine stores it in the same write as the new token
    (``refresh_connection(hold_for=...)``), so no worker sees the one without the other. It
    is not lifted when the retry succeeds: a 401 on a token that just worked is not the
    token's fault either.
    """
    return _longest(timeout)


def pause_refreshes(connection: JiraConnection) -> None:
    """Trip the guard: no 401-driven refresh of ``connection`` for ``PAUSE_SECONDS``."""
    _pause_until(connection, timezone.now() + timedelta(seconds=PAUSE_SECONDS))
    logger.warning(
        "Jira rejected connection %s's token again right after a refresh: the token is not the "
        "problem (Jira answering rate-limited calls anonymously?). No refresh after a 401 for "
        "this connection for %s seconds; callers get Jira's answer meanwhile",
        connection.pk,
        PAUSE_SECONDS,
    )


def _pause_until(connection: JiraConnection, until: datetime) -> None:
    """Set the pause to end at ``until``, never shortening a longer one already set.

    Committed at once, whatever transaction the caller has open: other
    workers must see the pause now, and the row must not stay locked.
    """
    from jira_connect.refreshing import write_now

    def write(using: str) -> None:
        type(connection).objects.using(using).filter(
            Q(refresh_paused_until__isnull=True) | Q(refresh_paused_until__lt=until),
            pk=connection.pk,
        ).update(refresh_paused_until=until)

    write_now(_database(connection), connection.pk, write)
    if connection.refresh_paused_until is None or connection.refresh_paused_until < until:
        connection.refresh_paused_until = until


def _longest(timeout: object) -> float:
    """The longest a request with requests' ``timeout`` can take, capped at PAUSE_SECONDS."""
    parts = timeout if isinstance(timeout, (tuple, list)) else (timeout, timeout)
    total = 0.0
    for part in parts:
        if not isinstance(part, (int, float)) or isinstance(part, bool):
            return PAUSE_SECONDS  # None (no timeout) or something we cannot read
        total += float(part)
    return min(float(PAUSE_SECONDS), total + 1.0)


def resume_refreshes(connection: JiraConnection) -> None:
    """Lift the pause now (staff who know the cause is gone, and tests)."""
    type(connection).objects.using(_database(connection)).filter(pk=connection.pk).update(
        refresh_paused_until=None
    )
    connection.refresh_paused_until = None
