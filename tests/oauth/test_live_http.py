"""The same calls over real HTTP on loopback: urllib3's own logging, real timeouts, real bodies.

A tiny ``http.server`` stands in for Jira (plain http, which the client must
accept because the caller allowed it, with no ``OAUTHLIB_INSECURE_TRANSPORT``).
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pytest

from jira_connect.exceptions import JiraUnavailable, OAuthError
from jira_connect.oauth import OAuthClient, exchange_code, fetch_identity, refresh
from tests.httpd import send

from . import (
    ACCESS_TOKEN,
    CLIENT_SECRET,
    CODE,
    CODE_VERIFIER,
    FIXTURE_ACCESS_TOKEN,
    FIXTURE_REFRESH_TOKEN,
    REFRESH_TOKEN,
    assert_no_secret,
    load,
    make_client,
    text_of,
)


class FakeJira(BaseHTTPRequestHandler):
    """Answers by the first path segment: /ok, /slow, /big, /bomb, /redirect, /invalid."""

    received: ClassVar[list[tuple[str, str, dict[str, list[str]]]]] = []

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        pass

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8")
        self._answer(parse_qs(body))

    def _answer(self, fields: dict[str, list[str]] | None = None) -> None:
        self.received.append((self.command, self.path, fields or {}))
        mode = self.path.split("/")[1]
        if mode == "slow":
            time.sleep(3.0)
        if mode == "redirect":
            send(self, 302, headers=[("Location", "/elsewhere")])
            return
        if mode == "big":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(80):  # 5 MiB, never all read by the client
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
            return
        if mode == "bomb":
            body = gzip.compress(b" " * (8 * 1024 * 1024))  # 8 MiB of spaces, ~8 KiB on the wire
            send(
                self,
                200,
                body,
                [("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
            )
            return
        if mode == "invalid":
            self._json(400, load("error_invalid_grant_bare")["response"]["json"])
            return
        if self.path.endswith("/myself"):
            self._json(200, load("myself")["response"]["json"], {"X-AUSERNAME": "alice"})
            return
        self._json(200, load("token_success")["response"]["json"])

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        extra = list((headers or {}).items())
        send(
            self,
            status,
            json.dumps(payload).encode(),
            [("Content-Type", "application/json"), *extra],
        )


@pytest.fixture
def jira(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in (
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "OAUTHLIB_INSECURE_TRANSPORT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeJira)
    server.daemon_threads = True
    FakeJira.received = []
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _client(jira: str, mode: str = "ok", **overrides: Any) -> OAuthClient:
    return make_client(base_url=f"{jira}/{mode}/jira", **overrides)


def test_exchange_refresh_and_identity_over_http(
    jira: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    client = _client(jira)
    tokens = exchange_code(client, CODE, CODE_VERIFIER)
    assert (tokens.access_token, tokens.refresh_token) == (
        FIXTURE_ACCESS_TOKEN,
        FIXTURE_REFRESH_TOKEN,
    )
    refresh(client, REFRESH_TOKEN)
    assert fetch_identity(client, ACCESS_TOKEN).key == "JIRAUSER21902"
    with pytest.raises(OAuthError) as caught:
        refresh(_client(jira, "invalid"), REFRESH_TOKEN)
    assert caught.value.error == "invalid_grant"

    paths = [(method, path) for method, path, _ in FakeJira.received]
    assert paths == [
        ("POST", "/ok/jira/rest/oauth2/latest/token"),
        ("POST", "/ok/jira/rest/oauth2/latest/token"),
        ("GET", "/ok/jira/rest/api/2/myself"),
        ("POST", "/invalid/jira/rest/oauth2/latest/token"),
    ]
    assert FakeJira.received[0][2]["client_secret"] == [CLIENT_SECRET]
    # urllib3 logged the requests (method and path), and nothing secret.
    assert any(record.name.startswith("urllib3") for record in caplog.records)
    assert "POST /ok/jira/rest/oauth2/latest/token" in caplog.text
    assert_no_secret(caplog.text)
    for record in caplog.records:
        assert_no_secret(record.getMessage())


def test_real_timeout(jira: str) -> None:
    started = time.monotonic()
    with pytest.raises(
        JiraUnavailable, match=r"did not answer the token request within 0\.2 s"
    ) as caught:
        refresh(_client(jira, "slow", timeout=(1.0, 0.2)), REFRESH_TOKEN)
    assert time.monotonic() - started < 2.5  # the answer would take 3 s
    assert_no_secret(text_of(caught.value))


def test_real_redirect_is_not_followed(jira: str) -> None:
    with pytest.raises(JiraUnavailable, match=r"redirected the token request \(HTTP 302\)"):
        refresh(_client(jira, "redirect"), REFRESH_TOKEN)
    assert len(FakeJira.received) == 1


def test_real_chunked_body_is_cut_at_the_limit(jira: str) -> None:
    with pytest.raises(JiraUnavailable, match="larger than 100000 bytes") as caught:
        exchange_code(_client(jira, "big", max_response_bytes=100_000), CODE, CODE_VERIFIER)
    assert caught.value.status_code == 200


def test_real_gzip_bomb_is_cut_at_the_limit(jira: str) -> None:
    with pytest.raises(JiraUnavailable, match="larger than 1048576 bytes"):
        exchange_code(_client(jira, "bomb"), CODE, CODE_VERIFIER)


def test_connection_refused(jira: str) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(base_url=f"http://127.0.0.1:{port}/jira", timeout=2.0)
    with pytest.raises(
        JiraUnavailable, match=re.escape(f"Could not connect to Jira at http://127.0.0.1:{port}")
    ) as caught:
        exchange_code(client, CODE, CODE_VERIFIER)
    assert caught.value.status_code is None
    assert_no_secret(text_of(caught.value))
