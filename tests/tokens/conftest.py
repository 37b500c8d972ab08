from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jira_connect.models import JiraConnection
from tests.flow.conftest import browser, connect, jira, link, user  # noqa: F401


@pytest.fixture
def connection(browser, jira, link) -> JiraConnection:  # noqa: F811
    """A connection made through the real flow, tokens issued by the simulator."""
    assert connect(browser, jira, link).status_code == 302
    return JiraConnection.objects.select_related("link").get()


def expire(connection: JiraConnection) -> None:
    """Make the stored token and the in-memory copy look expired."""
    connection.expires_at = timezone.now() - timedelta(seconds=1)
    JiraConnection.objects.filter(pk=connection.pk).update(expires_at=connection.expires_at)
