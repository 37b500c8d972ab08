"""A worker of jira_connect_refresh makes its token calls over one kept-alive connection.

Outside ``_http.keeping_connections()`` every token call has a session and a connection of its
own, as before; inside it (each worker of ``refresher.refresh_due``), the calls of one thread to
one Jira share them, and still honour the environment the session read when it was made.
"""

from __future__ import annotations

import http.server
import json
import threading
from datetime import timedelta
from typing import ClassVar

import pytest
import urllib3.connection

from jira_connect import _http, oauth, refresher, refreshing
from jira_connect.exceptions import JiraUnavailable
from tests.httpd import send
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


class _CookieSettingJira(http.server.BaseHTTPRequestHandler):
    """A token endpoint that sets a session cookie, as Jira's Tomcat does, and records the
    ``Cookie`` header of every request."""

    protocol_version = "HTTP/1.1"
    cookies: ClassVar[list[str | None]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.cookies.append(self.headers.get("Cookie"))
        body = json.dumps(
            {"access_token": "a", "refresh_token": "r", "token_type": "bearer", "expires_in": 60}
        ).encode()
        send(
            self,
            200,
            body,
            [
                ("Set-Cookie", "JSESSIONID=someone-elses; Path=/"),
                ("Content-Type", "application/json"),
            ],
        )

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_kept_session_sends_no_cookie_jira_set_on_an_earlier_call() -> None:
    """Each token call stands alone, as with a session per call: no cookie of one refresh's
    answer (a Jira session of another user's grant) goes out with the next."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CookieSettingJira)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _CookieSettingJira.cookies = []
    try:
        client = oauth.OAuthClient(
            base_url=f"http://127.0.0.1:{server.server_address[1]}/jira",
            client_id="client",
            client_secret="secret",
            redirect_uri="http://localhost/callback",
            scope="WRITE",
        )
        with _http.keeping_connections():
            for _ in range(3):
                oauth.refresh(client, "refresh-token")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert _CookieSettingJira.cookies == [None, None, None]
