"""Telling a user why their connection is gone when staff removed it.

A user whose connection an administrator disconnected (or deleted) would
otherwise just see "Not connected". Staff's removal leaves a
``DisconnectNotice``; the user's pages show it until the user connects again
(``connected`` signal) or disconnects the link themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import router

from jira_connect.models import DisconnectNotice, JiraConnection


def record(connections: Iterable[JiraConnection]) -> None:
    """Remember that staff removed these connections (call before deleting them)."""
    using = router.db_for_write(DisconnectNotice)
    notices = [
        DisconnectNotice(link_id=connection.link_id, user_id=connection.user_id)
        for connection in connections
    ]
    DisconnectNotice.objects.using(using).bulk_create(notices, ignore_conflicts=True)


def forget(link_id: int, user_id: Any) -> None:
    DisconnectNotice.objects.using(router.db_for_write(DisconnectNotice)).filter(
        link_id=link_id, user_id=user_id
    ).delete()


def on_connected(sender: Any, connection: JiraConnection, **kwargs: Any) -> None:
    """The user connected again: the notice has served."""
    forget(connection.link_id, connection.user_id)
