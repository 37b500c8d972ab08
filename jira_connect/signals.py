"""Signals, sent after the database change they announce has been committed."""

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
