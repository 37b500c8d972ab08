from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jira_connect import oauth
from jira_connect.models import JiraConnection
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
    """Make a connection with real tokens from the simulator, without the browser dance."""
    client = oauth.OAuthClient(
        base_url=link.base_url,
        client_id=link.client_id,
        client_secret=link.client_secret,
        redirect_uri=CALLBACK,
        scope="WRITE",
    )

    def make(expires_in: timedelta = timedelta(hours=1), **fields) -> JiraConnection:
        request = oauth.start_authorization(client)
        callback = jira.authorize(request.url, user="alice")
        code = dict(part.split("=", 1) for part in callback.split("?", 1)[1].split("&"))["code"]
        tokens = oauth.exchange_code(client, code, request.code_verifier)
        values = {
            "link": link,
            "user": user_factory(),
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at": timezone.now() + expires_in,
            "redirect_uri": CALLBACK,
            "last_refreshed_at": timezone.now(),
            "jira_key": "JIRAUSER10000",
        }
        values.update(fields)
        return JiraConnection.objects.create(**values)

    return make
