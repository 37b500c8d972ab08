"""Signals, sent after the database change they announce has been committed (``rate_limited``,
which announces none, is sent at once)."""

from django.dispatch import Signal

#: A user connected a Jira link (first time or again).
#: sender: JiraConnection; kwargs: connection, user, link, created (bool).
connected = Signal()

#: A user (or staff) removed a connection.
#: sender: JiraConnection; kwargs: connection (no longer in the database), user, link.
disconnected = Signal()

#: A connection's tokens were refreshed.
#: sender: JiraConnection; kwargs: connection.
token_refreshed = Signal()

#: Refreshing a connection's tokens failed.
#: sender: JiraConnection; kwargs: connection, error (the exception), reauth_required (bool).
token_refresh_failed = Signal()

#: Staff revoked a connection: tokens forgotten, record kept, status ``revoked``.
#: sender: JiraConnection; kwargs: connection, reason (str).
revoked = Signal()

#: Jira rate-limited a connection's calls (a 429, or a 503 with Retry-After): sent once per
#: burst and process, not per answer, and at once (no database change to wait for).
#: sender: JiraConnection; kwargs: connection, status_code (int),
#: rate_limit (jira_connect.ratelimit.RateLimit: what the X-RateLimit-* headers said).
rate_limited = Signal()
