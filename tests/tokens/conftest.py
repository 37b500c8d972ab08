from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jira_connect.models import JiraConnection
from jira_connect.testing.connections import connect_user
from tests.flow.conftest import CALLBACK, browser, connect, jira, link, user  # noqa: F401


@pytest.fixture
def connection(browser, jira, link) -> JiraConnection:  # noqa: F811
    """A connection made through the real flow, tokens issued by the simulator."""
    assert connect(browser, jira, link).status_code == 302
    return JiraConnection.objects.select_related("link").get()


def expire(connection: JiraConnection) -> None:
    """Make the stored token and the in-memory copy look expired."""
    connection.expires_at = timezone.now() - timedelta(seconds=1)
    JiraConnection.objects.filter(pk=connection.pk).update(expires_at=connection.expires_at)


@pytest.fixture
def grant(jira, link, user_factory):  # noqa: F811
    """Make a connection with real tokens from the simulator, without the browser dance (the
    testing kit's `connect_user`), expiring in ``expires_in``, with ``fields`` changed."""

    def make(expires_in: timedelta = timedelta(hours=1), **fields) -> JiraConnection:
        connection = connect_user(jira, link, user_factory())
        fields.setdefault("expires_at", timezone.now() + expires_in)
        JiraConnection.objects.filter(pk=connection.pk).update(**fields)
        connection.refresh_from_db()
        return connection

    return make
