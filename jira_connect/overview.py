"""What a user sees of the app: every link they may use, with their connection on it.

The connections page and the JSON ``api-links`` endpoint show the same rows,
built here with two queries whatever the number of links (one for the links,
one for the user's connections on them), so neither page grows with a tenant's
link count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from jira_connect import tenancy
from jira_connect.models import ConnectionStatus, DisconnectNotice, JiraConnection, JiraLink

if TYPE_CHECKING:
    from django.http import HttpRequest


class ReconnectReason:
    """Why a connection must be made again; the codes the JSON API answers."""

    REVOKED = "revoked"
    SCOPE_CHANGED = "scope_changed"
    REJECTED = "rejected"

    ALL = (REVOKED, SCOPE_CHANGED, REJECTED)


@dataclass(frozen=True)
class LinkRow:
    """One link the user may use, and their connection on it (``None``: not connected)."""

    link: JiraLink
    connection: JiraConnection | None
    #: Why staff removed the user's connection on this link, until they connect again.
    notice: DisconnectNotice | None = None

    @property
    def reconnect_reason(self) -> str | None:
        """Why the user must reconnect, or ``None`` when the connection is usable (or absent)."""
        connection = self.connection
        if connection is None:
            return None
        status = str(connection.status)
        if status == str(ConnectionStatus.REVOKED):
            return ReconnectReason.REVOKED
        if connection.needs_wider_grant:
            return ReconnectReason.SCOPE_CHANGED
        if status != str(ConnectionStatus.ACTIVE):
            return ReconnectReason.REJECTED
        return None

    @property
    def reconnect_message(self) -> str | None:
        """The reason in words, as the connections page puts it."""
        reason = self.reconnect_reason
        if reason == ReconnectReason.REVOKED:
            return _("An administrator revoked this connection. Reconnect to use it again.")
        if reason == ReconnectReason.SCOPE_CHANGED:
            return _("This link now asks for more access (%(scope)s). Reconnect to grant it.") % {
                "scope": self.link.scope
            }
        if reason == ReconnectReason.REJECTED:
            return _("Jira no longer accepts this connection. Reconnect to keep using it.")
        return None


def link_rows(request: HttpRequest, links: list[JiraLink] | None = None) -> list[LinkRow]:
    """Every link the request's tenant and user may use (or ``links``), with the user's
    connection on each and staff's notice when they removed it.

    Tokens are never loaded: nothing that shows a row needs them. The user's
    connections are read once per request (``tenancy.user_connections``).
    """
    if links is None:
        links = tenancy.available_links(request)
    mine = tenancy.user_connections(request)
    rows = []
    for link in links:
        connection = mine.by_link.get(link.pk)
        if connection is not None:
            connection.link = link  # already loaded: no query per row for link.scope
        rows.append(LinkRow(link, connection, mine.notices.get(link.pk)))
    return rows
