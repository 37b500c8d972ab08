"""A worker of jira_connect_refresh makes its token calls over one kept-alive connection.

Outside ``_http.keeping_connections()`` every token call has a session and a connection of its
own, as before; inside it (each worker of ``refresher.refresh_due``), the calls of one thread to
one Jira share them, and still honour the environment the session read when it was made.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import urllib3.connection

from jira_connect import _http, refresher, refreshing
from jira_connect.exceptions import JiraUnavailable
from tests.tokens.test_session_environment import (  # noqa: F401 (fixtures)
    clean_environment,
    connected,
    tls_jira,
)


@pytest.fixture
def connects(monkeypatch) -> list[int]:
    """The port of every TCP connection opened from now on."""
    opened: list[int] = []
    connect = urllib3.connection.HTTPConnection.connect

    def counting(self: urllib3.connection.HTTPConnection) -> None:
        opened.append(self.port or 0)
        connect(self)

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "connect", counting)
    return opened


@pytest.mark.django_db(transaction=True)  # the refreshes commit on their own
def test_a_worker_refreshes_over_one_connection(grant, jira, connects) -> None:
    for _ in range(3):
        grant(expires_in=timedelta(minutes=2))
    connects.clear()
    summary = refresher.refresh_due(refresher.due_connections(), workers=1)
    assert summary.refreshed == 3
    assert connects == [jira.port]
    assert _http._kept.sessions is None  # closed when the worker ended


@pytest.mark.django_db(transaction=True)
def test_one_refresh_alone_keeps_nothing(grant, jira, connects) -> None:
    for _ in range(2):
        grant(expires_in=timedelta(minutes=2))
    connects.clear()
    for pk in refresher.due_connections():
        assert refresher.refresh_one(pk) == "refreshed"
    assert connects == [jira.port, jira.port]


def test_blocks_inside_another_share_its_sessions() -> None:
    with _http.keeping_connections():
        outer = _http._kept.sessions
        with _http.keeping_connections():
            assert _http._kept.sessions is outer
        assert _http._kept.sessions is outer
    assert _http._kept.sessions is None


@pytest.mark.django_db
@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_kept_session_honours_the_environments_ca_bundle(
    clean_environment,  # noqa: F811
    tls_jira,  # noqa: F811
    user_factory,
    variable,
) -> None:
    connection = connected(tls_jira, user_factory)
    clean_environment.setenv(variable, tls_jira.ca_cert_path)
    with _http.keeping_connections():
        for _ in range(2):
            refreshing.refresh_connection(connection, force=True)
    assert tls_jira.token_requests(grant_type="refresh_token") == 2
    clean_environment.delenv(variable)  # the next block's session reads the environment anew
    with _http.keeping_connections(), pytest.raises(JiraUnavailable, match="TLS verification"):
        refreshing.refresh_connection(connection, force=True)
