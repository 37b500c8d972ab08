"""``await connection.asession()``: the sync session's rules, on the event loop."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from asgiref.sync import sync_to_async
from cryptography.fernet import Fernet
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from jira_connect import __version__, arefreshing, asession, ratelimit, signals
from jira_connect.asession import AsyncJiraSession
from jira_connect.exceptions import (
    JiraConnectConfigurationError,
    JiraTLSError,
    JiraUnavailable,
    OAuthError,
    ReauthorizationRequired,
    SecretDecryptionError,
    SyncSessionInAsyncContext,
)
from jira_connect.models import JiraConnection, JiraLink
from jira_connect.oauth import DEFAULT_MAX_RESPONSE_BYTES
from tests.conftest import jira_connect_settings
from tests.ratelimit.conftest import api_records, limit
from tests.tokens.conftest import assert_paused, expire
from tests.tokens.gateway import Reply
from tests.tokens.test_tls import read_pem

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]

MYSELF = "rest/api/2/myself"
ISSUE = "rest/api/2/issue/ACME-1"
ROOT = Path(__file__).resolve().parents[2]


async def fetched(pk: int) -> JiraConnection:
    """The connection as an async view gets it: ``aget`` without its link."""
    return await JiraConnection.objects.aget(pk=pk)


async def stored() -> JiraConnection:
    return await JiraConnection.objects.aget()


def refreshes(jira) -> int:
    return jira.token_requests(grant_type="refresh_token")


@pytest.fixture
async def waits(jira, monkeypatch) -> AsyncIterator[list[float]]:
    """Every wait the async session makes; waiting moves the simulator's clock instead."""
    seen: list[float] = []

    async def wait(seconds: float) -> None:
        seen.append(seconds)
        jira.advance(seconds)

    monkeypatch.setattr(asession, "asleep", wait)
    ratelimit.forget_bursts()
    yield seen
    ratelimit.forget_bursts()


async def test_relative_paths_keep_the_context_path(connection, jira) -> None:
    async with await (await fetched(connection.pk)).asession() as session:
        for path in (MYSELF, f"/{MYSELF}", f"{jira.base_url}/{MYSELF}"):
            response = await session.get(path)
            assert response.status_code == 200, path
            assert response.json()["name"] == "alice"
            assert str(response.url) == f"{jira.base_url}/{MYSELF}"


async def test_headers_and_timeout(connection, jira) -> None:
    sent = httpx.Headers()

    async def record(request: httpx.Request) -> None:
        sent.update(request.headers)  # as sent: the token is on the request only meanwhile

    async with await (await fetched(connection.pk)).asession() as session:
        session.event_hooks["request"].append(record)
        response = await session.get(MYSELF)
    assert sent["Authorization"] == f"Bearer {connection.access_token}"
    assert sent["User-Agent"] == f"django-jira-connect/{__version__}"
    assert sent["Accept"] == "application/json"
    assert response.request.extensions["timeout"]["read"] == 10.0


async def test_configured_timeout_applies(connection) -> None:
    with override_settings(JIRA_CONNECT=jira_connect_settings(HTTP_TIMEOUT=3.5)):
        async with await (await fetched(connection.pk)).asession() as session:
            response = await session.get(MYSELF)
    assert response.request.extensions["timeout"]["read"] == 3.5


async def test_a_connect_and_read_timeout_pair_applies(connection) -> None:
    with override_settings(JIRA_CONNECT=jira_connect_settings(HTTP_TIMEOUT=(2.0, 7.0))):
        async with await (await fetched(connection.pk)).asession() as session:
            response = await session.get(MYSELF)
    timeout = response.request.extensions["timeout"]
    assert (timeout["connect"], timeout["read"]) == (2.0, 7.0)


@pytest.fixture
def queries(monkeypatch) -> list[str]:
    """Every SQL statement run, from any thread (the async ORM runs in one of its own)."""
    from django.db.backends import utils

    ran: list[str] = []
    for wrapper in (utils.CursorWrapper, utils.CursorDebugWrapper):
        real = wrapper.execute

        def execute(self, sql, params=None, _real=real):
            ran.append(sql)
            return _real(self, sql, params)

        monkeypatch.setattr(wrapper, "execute", execute)
    return ran


async def test_no_database_query_while_the_token_is_valid(connection, jira, queries) -> None:
    mine = await fetched(connection.pk)
    async with await mine.asession() as session:
        queries.clear()
        for _ in range(3):
            assert (await session.get(MYSELF)).status_code == 200
    assert queries == []


async def test_expired_token_is_refreshed_before_the_call(connection, jira) -> None:
    await sync_to_async(expire)(connection)
    old = connection.access_token
    mine = await fetched(connection.pk)
    async with await mine.asession() as session:
        assert (await session.get(MYSELF)).status_code == 200
        assert (await session.get(MYSELF)).status_code == 200
    assert refreshes(jira) == 1
    row = await stored()
    assert row.access_token != old
    assert mine.access_token == row.access_token
    assert jira.is_valid_refresh_token(row.refresh_token)


async def test_a_token_within_the_leeway_is_refreshed(connection, jira) -> None:
    soon = timezone.now() + timedelta(seconds=30)  # REFRESH_LEEWAY is 60
    await JiraConnection.objects.filter(pk=connection.pk).aupdate(expires_at=soon)
    async with await (await fetched(connection.pk)).asession() as session:
        assert (await session.get(MYSELF)).status_code == 200
    assert refreshes(jira) == 1
    renewed = (await stored()).expires_at
    assert renewed is not None
    assert renewed > soon


async def test_401_refreshes_once_and_retries(connection, jira) -> None:
    jira.expire_access_tokens()  # Jira rejects the token though it looks valid here
    async with await (await fetched(connection.pk)).asession() as session:
        assert (await session.get(MYSELF)).status_code == 200
    assert refreshes(jira) == 1


async def test_one_refresh_and_one_retry_never_more(connection, jira) -> None:
    jira.inject("api", "unauthorized", times=5)
    before = jira.api_requests()
    async with await (await fetched(connection.pk)).asession() as session:
        assert (await session.get(MYSELF)).status_code == 401
    assert refreshes(jira) == 1
    assert jira.api_requests() - before == 2


async def test_anonymous_answer_counts_as_rejected(connection, jira) -> None:
    jira.inject("api", "anonymous")
    async with await (await fetched(connection.pk)).asession() as session:
        response = await session.get(MYSELF)
    assert response.status_code == 200
    assert response.headers["X-AUSERNAME"] == "alice"
    assert refreshes(jira) == 1


async def test_401_after_another_worker_refreshed_uses_their_token(connection, jira) -> None:
    async with await (await fetched(connection.pk)).asession() as session:
        await (await fetched(connection.pk)).arefresh()  # another worker rotates the pair
        assert refreshes(jira) == 1
        assert (await session.get(MYSELF)).status_code == 200
    assert refreshes(jira) == 1


async def test_revoked_grant_needs_reconnect(connection, jira) -> None:
    await sync_to_async(expire)(connection)
    jira.revoke(user="alice")
    received: list[dict[str, object]] = []
    signals.token_refresh_failed.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="async-f"
    )
    try:
        async with await (await fetched(connection.pk)).asession() as session:
            with pytest.raises(ReauthorizationRequired) as info:
                await session.get(MYSELF)
    finally:
        signals.token_refresh_failed.disconnect(dispatch_uid="async-f")
    assert info.value.reconnect_url == "/jira/acme/connect/"
    row = await stored()
    assert row.status == "reauth_required"
    assert row.last_failure_kind == "reauth"
    assert row.refresh_token == connection.refresh_token  # never replaced by nothing
    assert received[0]["reauth_required"] is True
    assert isinstance(received[0]["error"], OAuthError)
    # Later calls fail at once, without asking Jira again.
    before = jira.token_requests()
    with pytest.raises(ReauthorizationRequired):
        async with await (await fetched(connection.pk)).asession() as session:
            await session.get(MYSELF)
    assert jira.token_requests() == before


@pytest.mark.parametrize("fault", ["server_error", "bad_gateway_html", "reset"])
async def test_transient_refresh_failure_keeps_tokens(connection, jira, fault) -> None:
    await sync_to_async(expire)(connection)
    jira.inject("token", fault)
    with pytest.raises(JiraUnavailable) as info:
        async with await (await fetched(connection.pk)).asession() as session:
            await session.get(MYSELF)
    assert info.value.retryable
    row = await stored()
    assert row.status == "active"
    assert (row.access_token, row.refresh_token) == (
        connection.access_token,
        connection.refresh_token,
    )
    assert row.last_failure_kind == "transient"
    # The cool-down: callers get the stored failure, Jira is not asked again.
    with pytest.raises(JiraUnavailable, match="moments ago"):
        await (await fetched(connection.pk)).arefresh()
    assert refreshes(jira) == 1


async def test_refreshed_signal_and_arefresh(connection, jira) -> None:
    received: list[JiraConnection] = []
    signals.token_refreshed.connect(
        lambda connection, **kw: received.append(connection), weak=False, dispatch_uid="async-r"
    )
    try:
        mine = await fetched(connection.pk)
        await mine.arefresh()
    finally:
        signals.token_refreshed.disconnect(dispatch_uid="async-r")
    assert refreshes(jira) == 1
    assert [c.pk for c in received] == [connection.pk]
    assert mine.access_token == (await stored()).access_token != connection.access_token


async def test_averify_updates_the_identity(connection, jira) -> None:
    await JiraConnection.objects.filter(pk=connection.pk).aupdate(jira_name="old")
    mine = await fetched(connection.pk)
    await mine.averify()
    assert (await stored()).jira_name == "alice"


async def test_rate_limited_calls_wait_and_get_through(connection, jira, waits) -> None:
    limit(jira, capacity=2, rate_limit_fill_rate=1, rate_limit_interval=1)
    async with await (await fetched(connection.pk)).asession() as session:
        statuses = [(await session.get(ISSUE)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 200]
    assert [record.status for record in api_records(jira)] == [200, 200, 429, 200, 429, 200]
    assert waits == [1.0, 1.0]
    assert refreshes(jira) == 0  # a 429 never refreshes


async def test_retries_exhausted_return_jiras_429(connection, jira, waits) -> None:
    limit(jira, capacity=1, rate_limit_interval=3600, rate_limit_retry_after_zero=True)
    async with await (await fetched(connection.pk)).asession() as session:
        await session.get(ISSUE)
        response = await session.get(ISSUE)
    assert response.status_code == 429
    assert waits == [1.0, 1.0, 1.0]
    assert len(api_records(jira)) == 1 + 3 + 1


async def test_a_post_is_never_retried(connection, jira, waits) -> None:
    limit(jira, capacity=1, rate_limit_interval=3600)
    async with await (await fetched(connection.pk)).asession() as session:
        await session.get(ISSUE)
        response = await session.post(
            "rest/api/2/issue",
            json={
                "fields": {
                    "project": {"key": "ACME"},
                    "summary": "x",
                    "issuetype": {"name": "Task"},
                }
            },
        )
    assert response.status_code == 429
    assert waits == []


async def test_rate_limited_401s_trip_the_storm_guard(connection, jira, waits) -> None:
    limit(jira, capacity=1, rate_limit_interval=3600, rate_limit_anonymous_401=True)
    # Short timeouts: the refresh's own hold (their sum and a second) cannot pass for the pause.
    with override_settings(JIRA_CONNECT=jira_connect_settings(HTTP_TIMEOUT=(1.0, 1.0))):
        async with await (await fetched(connection.pk)).asession() as session:
            assert (await session.get(ISSUE)).status_code == 200
            statuses = [(await session.get(ISSUE)).status_code for _ in range(5)]
    assert statuses == [401] * 5
    assert refreshes(jira) == 1
    row = await stored()
    assert_paused(row)
    assert jira.is_valid_refresh_token(row.refresh_token)


def site_options_naming_the_link(link: JiraLink) -> dict[str, object]:
    return {"headers": {"X-Site-Link": link.slug, "Accept": "application/vnd.site+json"}}


async def test_the_sites_client_options_are_asked_for_this_link(connection, jira) -> None:
    """ASYNC_CLIENT_OPTIONS is called with the connection's link, and its headers are sent
    (over the app's defaults)."""
    seen = httpx.Headers()

    async def record(request: httpx.Request) -> None:
        seen.update(request.headers)

    hook = f"{__name__}.site_options_naming_the_link"
    with override_settings(JIRA_CONNECT=jira_connect_settings(ASYNC_CLIENT_OPTIONS=hook)):
        async with await (await fetched(connection.pk)).asession() as session:
            session.event_hooks["request"].append(record)
            await session.get(MYSELF)
    assert seen["X-Site-Link"] == connection.link.slug
    assert seen["Accept"] == "application/vnd.site+json"
    assert seen["User-Agent"] == f"django-jira-connect/{__version__}"


async def test_no_second_refresh_in_the_instant_after_the_first_one_commits(
    connection, jira
) -> None:
    """As for ``session()``: the hold is stored with the refreshed token, so a (sync) worker
    that picks up the new token the instant it is committed, and is rejected, does not
    refresh again and kill the token this call is about to retry with."""
    outcomes: list[int] = []

    def another_worker_in_between(connection: JiraConnection, **kwargs: object) -> None:
        signals.token_refreshed.disconnect(another_worker_in_between)
        jira.inject("api", "unauthorized")  # the gateway answers its call anonymously
        other = JiraConnection.objects.select_related("link").get().session()
        outcomes.append(other.get(ISSUE).status_code)

    jira.expire_access_tokens()
    signals.token_refreshed.connect(another_worker_in_between)
    try:
        async with await (await fetched(connection.pk)).asession() as session:
            assert (await session.get(ISSUE)).status_code == 200  # 401, refresh, retry: 200
    finally:
        signals.token_refreshed.disconnect(another_worker_in_between)
    assert outcomes == [401]
    assert refreshes(jira) == 1


async def test_a_body_in_memory_is_sent_again_after_a_401(connection, jira) -> None:
    jira.expire_access_tokens()
    async with await (await fetched(connection.pk)).asession() as session:
        response = await session.post(
            "rest/api/2/issue",
            content=b'{"fields": {"project": {"key": "ACME"}, "summary": "y", '
            b'"issuetype": {"name": "Task"}}}',
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 201, response.text
    assert refreshes(jira) == 1


async def test_a_streamed_body_is_not_sent_again(connection, jira) -> None:
    jira.expire_access_tokens()

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"fields": {"project": {"key": "ACME"}, '
        yield b'"summary": "x", "issuetype": {"name": "Task"}}}'

    async with await (await fetched(connection.pk)).asession() as session:
        response = await session.post(
            "rest/api/2/issue", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 401  # not resent half-read
        assert (await session.get(MYSELF)).status_code == 200  # the token is fresh now
    assert refreshes(jira) == 1


async def test_the_bearer_never_leaves_the_origin(connection_factory) -> None:
    connection = await sync_to_async(connection_factory)()
    base = connection.link.base_url
    seen: list[tuple[str, str | None]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        seen.append((url, request.headers.get("Authorization")))
        if url == f"{base}/rest/api/2/a":
            return httpx.Response(302, headers={"Location": f"{base}/rest/api/2/b"})
        if url == f"{base}/rest/api/2/away":
            return httpx.Response(302, headers={"Location": "https://other.example.com/x"})
        return httpx.Response(200, json={"url": url})

    session = AsyncJiraSession(connection, transport=httpx.MockTransport(answer))
    async with session:
        await session.get("rest/api/2/a", follow_redirects=True)
        await session.get("rest/api/2/away", follow_redirects=True)
        await session.get("https://other.example.com/direct")
    bearer = f"Bearer {connection.access_token}"
    assert [authorization for _, authorization in seen] == [bearer, bearer, bearer, None, None]
    assert seen[3][0] == "https://other.example.com/x"


async def test_a_request_sent_to_jira_keeps_no_bearer(connection_factory) -> None:
    """A request object the caller holds on to (built for Jira, or ``response.request``) does
    not carry the token: sent to another host afterwards, it arrives without it."""
    connection = await sync_to_async(connection_factory)()
    seen: list[tuple[str, str | None]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers.get("Authorization")))
        return httpx.Response(200, json={})

    async with AsyncJiraSession(connection, transport=httpx.MockTransport(answer)) as session:
        request = session.build_request("GET", "rest/api/2/myself")
        response = await session.send(request)
        assert "Authorization" not in response.request.headers
        request.url = httpx.URL("https://other.example.com/x")
        await session.send(request)
    bearer = f"Bearer {connection.access_token}"
    jira_host = httpx.URL(connection.link.base_url).host
    assert seen == [(jira_host, bearer), ("other.example.com", None)]


async def test_the_callers_own_authorization_goes_where_the_caller_sends_it(
    connection_factory,
) -> None:
    """To another host, the caller's own header is sent as given (as ``session()`` does); to
    Jira, the bearer token replaces it, and the request keeps the caller's header afterwards."""
    connection = await sync_to_async(connection_factory)()
    seen: list[tuple[str, str | None]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers.get("Authorization")))
        return httpx.Response(200, json={})

    own = {"Authorization": "Basic b3RoZXI6c2VjcmV0"}
    async with AsyncJiraSession(connection, transport=httpx.MockTransport(answer)) as session:
        await session.get("https://other.example.com/api", headers=own)
        request = session.build_request("GET", "rest/api/2/myself", headers=own)
        await session.send(request)
        assert request.headers["Authorization"] == own["Authorization"]
    jira_host = httpx.URL(connection.link.base_url).host
    assert seen == [
        ("other.example.com", own["Authorization"]),
        (jira_host, f"Bearer {connection.access_token}"),
    ]


async def test_session_refuses_the_event_loop(connection, monkeypatch) -> None:
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    with pytest.raises(SyncSessionInAsyncContext, match=r"asession\(\)") as info:
        connection.session()
    assert isinstance(info.value, RuntimeError)
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # lifted as Django's own check is
    assert connection.session() is not None


async def test_a_cancelled_caller_does_not_lose_the_rotated_pair(connection, jira) -> None:
    """Jira rotated the pair: the flight stores it even though its caller went away."""
    await sync_to_async(expire)(connection)
    jira.inject("token", "delay", delay=0.5)
    mine = await fetched(connection.pk)
    task = asyncio.ensure_future(mine.arefresh())
    while jira.pending_faults():  # the token request reached Jira, which is answering slowly
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The flight goes on without its caller: wait for it before reading the row (polling would
    # meet its write, which SQLite's shared test database answers with "table is locked").
    await asyncio.wait_for(asyncio.gather(*arefreshing._running), timeout=30)
    row = await stored()
    assert row.access_token != connection.access_token
    assert jira.is_valid_refresh_token(row.refresh_token)
    assert jira.is_valid_access_token(row.access_token)


def test_the_app_imports_without_httpx() -> None:
    code = (
        "import sys; sys.modules['httpx'] = None\n"
        "import django; django.setup()\n"
        "import jira_connect.models, jira_connect.session, jira_connect.views, jira_connect.admin\n"
        "assert 'jira_connect.asession' not in sys.modules\n"
    )
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


# --- the link's TLS settings, on the event loop ------------------------------------------------


async def test_the_links_private_ca_is_trusted(private_jira, make_connection) -> None:
    pem = read_pem(private_jira.ca_cert_path)
    connection = await sync_to_async(make_connection)(ca_bundle=pem)
    async with await (await fetched(connection.pk)).asession() as session:
        assert (await session.get(MYSELF)).json()["name"] == "alice"
    await (await fetched(connection.pk)).arefresh()  # the token call too
    assert private_jira.token_requests("refresh_token") == 1


async def test_verification_off_reaches_a_jira_no_ca_vouches_for(
    private_jira, make_connection
) -> None:
    connection = await sync_to_async(make_connection)(verify_tls=False)
    async with await (await fetched(connection.pk)).asession() as session:
        assert (await session.get(MYSELF)).status_code == 200
    await (await fetched(connection.pk)).arefresh()
    assert private_jira.token_requests("refresh_token") == 1


async def test_a_tls_failure_says_which_jira_and_what_to_do(make_connection, unrelated_ca) -> None:
    connection = await sync_to_async(make_connection)(ca_bundle=read_pem(unrelated_ca))
    base = connection.link.base_url.removesuffix("/jira")
    async with await (await fetched(connection.pk)).asession() as session:
        with pytest.raises(JiraTLSError) as info:
            await session.get(MYSELF)
    assert str(info.value) == (
        f"TLS verification failed for Jira at {base}. If Jira's certificate comes from a "
        "private CA, configure that CA bundle for this link."
    )
    # A refresh fails the same way, and is stored as a failure worth retrying later.
    with pytest.raises(JiraUnavailable, match=r"^TLS verification failed for Jira at https://"):
        await (await fetched(connection.pk)).arefresh()
    assert (await stored()).last_failure_kind == "transient"


# --- which answers mean "the token was not accepted" -------------------------------------------


def answering(*replies: httpx.Response) -> tuple[httpx.MockTransport, list[str]]:
    """A transport that answers Jira's REST calls with ``replies``, then 200s, noting the
    ``Authorization`` header of each."""
    seen: list[str] = []
    queue = list(replies)

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization", ""))
        return queue.pop(0) if queue else httpx.Response(200, json={"name": "alice"})

    return httpx.MockTransport(answer), seen


async def test_a_proxys_plain_401_again_after_the_refresh_trips_the_storm_guard(
    connection, jira
) -> None:
    """The retry with the fresh token is refused too, by a gateway's plain 401: the token is
    not the problem, so 401-driven refreshes pause (the 30 s pause, not the retry's hold)."""
    plain = httpx.Response(401, text="<h1>401 Authorization Required</h1>")
    transport, seen = answering(plain, httpx.Response(401, text=plain.text))
    with override_settings(JIRA_CONNECT=jira_connect_settings(HTTP_TIMEOUT=(1.0, 1.0))):
        async with await (await fetched(connection.pk)).asession() as opened:
            session = AsyncJiraSession(opened.connection, transport=transport)
        async with session:
            assert (await session.get(MYSELF)).status_code == 401
    assert (len(seen), refreshes(jira)) == (2, 1)
    assert_paused(await stored())


async def test_a_proxys_401_without_jiras_header_refreshes_and_retries(connection, jira) -> None:
    """A gateway in front of Jira answers a plain 401, without ``X-AUSERNAME: anonymous``."""
    transport, seen = answering(httpx.Response(401, text="<h1>401 Authorization Required</h1>"))
    mine = await fetched(connection.pk)
    async with await mine.asession() as opened:
        session = AsyncJiraSession(opened.connection, transport=transport)
    async with session:
        assert (await session.get(MYSELF)).status_code == 200
    assert refreshes(jira) == 1
    renewed = (await stored()).access_token
    assert seen == [
        f"Bearer {connection.access_token}",
        f"Bearer {renewed}",
    ]


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(403, json={"errorMessages": ["You may not."]}),
        # A gateway's rate limit answered as anonymous: a rate limit, not a rejected token.
        httpx.Response(429, headers={"X-AUSERNAME": "anonymous"}),
        httpx.Response(503, headers={"X-AUSERNAME": "anonymous", "Retry-After": "2"}),
    ],
    ids=["403", "429 anonymous", "503 anonymous"],
)
async def test_other_refusals_are_answered_as_they_are(connection, jira, reply) -> None:
    transport, seen = answering(reply)
    async with await (await fetched(connection.pk)).asession() as opened:
        session = AsyncJiraSession(opened.connection, transport=transport)
    async with session:
        response = await session.post("rest/api/2/issue", json={})  # a POST is never retried
    assert response.status_code == reply.status_code
    assert len(seen) == 1
    assert refreshes(jira) == 0


# --- expiry, and coroutines sharing a session ---------------------------------------------------


async def test_a_session_that_refreshed_refreshes_early_again(connection, jira) -> None:
    """The new token's expiry is remembered: it too is refreshed before it runs out."""
    jira.configure(access_token_ttl=90)
    await sync_to_async(expire)(connection)
    with override_settings(JIRA_CONNECT=jira_connect_settings(REFRESH_LEEWAY=120)):
        async with await (await fetched(connection.pk)).asession() as session:
            assert (await session.get(MYSELF)).status_code == 200
            assert refreshes(jira) == 1
            # 90 s left is within the 120 s leeway: refreshed before the call, not after a 401.
            assert (await session.get(MYSELF)).status_code == 200
    assert refreshes(jira) == 2
    assert all(record.status == 200 for record in jira.requests if record.target == "api")


async def test_a_refreshed_token_with_time_left_is_used_as_it_is(connection, jira) -> None:
    await sync_to_async(expire)(connection)
    async with await (await fetched(connection.pk)).asession() as session:
        for _ in range(3):
            assert (await session.get(MYSELF)).status_code == 200
    assert refreshes(jira) == 1


async def test_coroutines_sharing_a_session_refresh_once_after_a_401(connection, jira) -> None:
    jira.expire_access_tokens()
    async with await (await fetched(connection.pk)).asession() as session:
        responses = await asyncio.gather(*(session.get(MYSELF) for _ in range(8)))
        assert [r.status_code for r in responses] == [200] * 8
        assert (await session.get(MYSELF)).status_code == 200
    assert refreshes(jira) == 1


async def test_a_first_401_holds_refreshes_only_for_its_retry(connection, jira) -> None:
    jira.expire_access_tokens()
    before = timezone.now()
    with override_settings(JIRA_CONNECT=jira_connect_settings(HTTP_TIMEOUT=(2.0, 3.0))):
        async with await (await fetched(connection.pk)).asession() as session:
            assert (await session.get(MYSELF)).status_code == 200
    held = (await stored()).refresh_paused_until
    assert held is not None
    # 2 s to connect, 3 s to read and a second: not the storm guard's 30 s pause.
    assert before < held < before + timedelta(seconds=20)


# --- having to reconnect, and what a session says about itself ---------------------------------


async def test_a_revoked_grant_says_so_and_names_the_connection(connection, jira) -> None:
    jira.revoke(user="alice")
    async with await (await fetched(connection.pk)).asession() as session:
        with pytest.raises(ReauthorizationRequired) as info:
            await session.get(MYSELF)
    assert str(info.value) == "Jira no longer accepts this connection: please reconnect."
    assert info.value.connection.pk == connection.pk
    assert info.value.connection.status == JiraConnection.Status.REAUTH_REQUIRED


async def test_a_connection_known_to_need_reconnecting_says_so(connection, jira) -> None:
    await JiraConnection.objects.filter(pk=connection.pk).aupdate(
        status=JiraConnection.Status.REAUTH_REQUIRED
    )
    mine = await fetched(connection.pk)
    before = jira.api_requests()
    async with await mine.asession() as session:
        with pytest.raises(ReauthorizationRequired) as info:
            await session.get(MYSELF)
    assert str(info.value) == "This Jira connection must be reconnected."
    assert info.value.connection is mine
    assert info.value.reconnect_url == "/jira/acme/connect/"
    assert jira.api_requests() == before  # Jira was not asked


async def test_a_host_no_longer_allowed_is_refused(connection, jira) -> None:
    mine = await fetched(connection.pk)
    with (
        override_settings(JIRA_CONNECT=jira_connect_settings(JIRA_HOSTS=["jira.example.com"])),
        pytest.raises(JiraConnectConfigurationError, match="may not be used"),
    ):
        await mine.asession()


async def test_the_session_names_its_connection_and_holds_no_token(connection) -> None:
    mine = await fetched(connection.pk)
    async with await mine.asession() as session:
        assert session.connection is mine
        shown = repr(session)
    assert shown == (
        f"<AsyncJiraSession connection={connection.pk} base_url='{connection.link.base_url}/'>"
    )
    assert connection.access_token not in shown


@pytest.mark.parametrize(
    "path",
    [
        "rest/api/2/myself",
        "/rest/api/2/myself",
        "rest/api/2/search?jql=project%20%3D%20ACME&maxResults=5",
        "rest/api/2/search?jql=project = ACME",
        "rest/api/2/issue/ACME-1?expand=renderedFields,names",
        "rest/api/2/user?username=jos\u00e9",
        "rest/api/2/../2/myself",
        "rest/api/2/issue/ACME-1#comment",
        "//evil.example/x",
        "rest/api/2/myself?",
        "",
    ],
)
async def test_a_path_resolves_as_httpx_would_resolve_it(connection, path) -> None:
    """The session appends plain paths to the base URL itself (httpx's merge is slow); the
    result is the URL httpx's own ``base_url`` merge gives, whatever the path."""
    async with await (await fetched(connection.pk)).asession() as session:
        ours = session.build_request("GET", path).url
    async with httpx.AsyncClient(base_url=connection.link.base_url.rstrip("/") + "/") as plain:
        assert ours == plain.build_request("GET", path).url


async def test_a_base_url_stored_with_a_trailing_slash_still_works(
    jira_simulator_factory, linked
) -> None:
    """E.g. written by an older version or by hand; the context path is kept as it is (even
    one that ends in a letter a careless strip would take too)."""
    sandbox = jira_simulator_factory(context_path="/SANDBOX")
    connection = await sync_to_async(linked)(sandbox.base_url, simulator=sandbox)
    await JiraLink.objects.filter(pk=connection.link_id).aupdate(base_url=sandbox.base_url + "/")
    async with await (await fetched(connection.pk)).asession() as session:
        response = await session.get(MYSELF)
    assert response.status_code == 200
    assert str(response.url) == f"{sandbox.base_url}/{MYSELF}"


async def test_a_connection_with_its_link_loaded_opens_a_session_without_a_query(
    connection, queries
) -> None:
    mine = await JiraConnection.objects.select_related("link").aget(pk=connection.pk)
    queries.clear()
    async with await mine.asession() as session:
        assert session.connection.link is mine.link
    assert queries == []


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
async def test_the_link_is_read_from_the_connections_own_database(connection, jira) -> None:
    """Like Django's related objects: a connection read from ``other`` finds its link there."""

    def move_to_other() -> None:
        connection.user.save(using="other")
        connection.link.save(using="other")
        connection.save(using="other")
        JiraLink.objects.using("default").filter(pk=connection.link_id).delete()

    await sync_to_async(move_to_other)()
    mine = await JiraConnection.objects.using("other").aget(pk=connection.pk)
    async with await mine.asession() as session:
        assert (await session.get(MYSELF)).status_code == 200


@pytest.mark.parametrize("unreadable", ["access_token", "refresh_token"])
async def test_a_token_no_key_can_read_is_refused_before_any_call(
    connection, jira, unreadable
) -> None:
    """A key removed from ENCRYPTION_KEYS too early: the session says so, Jira is not asked."""
    other_key = Fernet.generate_key().decode()
    with override_settings(JIRA_CONNECT=jira_connect_settings(ENCRYPTION_KEYS=[other_key])):
        await JiraConnection.objects.filter(pk=connection.pk).aupdate(
            **{unreadable: getattr(connection, unreadable)}
        )
    mine = await fetched(connection.pk)
    before = jira.api_requests(), jira.token_requests()
    with pytest.raises(SecretDecryptionError, match=r"ENCRYPTION_KEYS"):
        await mine.asession()
    assert (jira.api_requests(), jira.token_requests()) == before


# --- a token another worker or coroutine brought --------------------------------------------------


async def test_another_workers_token_is_adopted_with_its_expiry(connection, jira) -> None:
    """After a 401 the session takes the token another worker stored, and renews it early."""
    jira.configure(access_token_ttl=90)
    with override_settings(JIRA_CONNECT=jira_connect_settings(REFRESH_LEEWAY=120)):
        async with await (await fetched(connection.pk)).asession() as session:
            await (await fetched(connection.pk)).arefresh()  # another worker rotates the pair
            assert (await session.get(MYSELF)).status_code == 200  # 401, then their token
            theirs = await stored()
            assert refreshes(jira) == 1
            assert session.connection.access_token == theirs.access_token
            assert session.connection.expires_at == theirs.expires_at
            # Their token has 90 s left, within the 120 s leeway: renewed before the next call.
            assert (await session.get(MYSELF)).status_code == 200
    assert refreshes(jira) == 2


async def test_a_rejected_retry_with_another_workers_token_pauses_nothing(connection) -> None:
    """The storm guard judges refreshes this call asked for, not a token someone else brought."""
    transport, seen = answering(httpx.Response(401), httpx.Response(401))
    async with await (await fetched(connection.pk)).asession() as opened:
        session = AsyncJiraSession(opened.connection, transport=transport)
    await (await fetched(connection.pk)).arefresh()  # another worker rotates the pair
    async with session:
        assert (await session.get(MYSELF)).status_code == 401
    assert seen == [f"Bearer {connection.access_token}", f"Bearer {(await stored()).access_token}"]
    assert (await stored()).refresh_paused_until is None


async def test_a_late_401_after_a_sibling_refreshed_pauses_nothing(connection, jira) -> None:
    """Two coroutines of one session send the old token; the first refreshes and its retry
    works; the second's 401 arrives later and its retry is refused too. Only refreshes this
    coroutine asked for count for the storm guard: refreshes are held for the first retry only,
    not paused for 30 s."""
    old = connection.access_token
    first_done = asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        if request.url.path.endswith("/late"):
            if token == old:
                await first_done.wait()
            return httpx.Response(401)
        if token == old:
            return httpx.Response(401)
        return httpx.Response(200, json={"name": "alice"})

    with override_settings(JIRA_CONNECT=jira_connect_settings(HTTP_TIMEOUT=(2.0, 3.0))):
        async with await (await fetched(connection.pk)).asession() as opened:
            session = AsyncJiraSession(opened.connection, transport=httpx.MockTransport(answer))

    async def first() -> int:
        response = await session.get(MYSELF)
        first_done.set()
        return response.status_code

    before = timezone.now()
    async with session:
        statuses = await asyncio.gather(first(), session.get("rest/api/2/late"))
    assert [statuses[0], statuses[1].status_code] == [200, 401]
    assert refreshes(jira) == 1
    held = (await stored()).refresh_paused_until
    assert held is not None
    # The first retry's hold (2 s + 3 s + 1 s), not the storm guard's 30 s pause.
    assert held < before + timedelta(seconds=20)


async def test_a_rate_limited_call_really_waits_before_its_retry(connection, jira) -> None:
    """Without a test's stand-in for the wait: the retry comes once Jira's bucket has refilled."""
    ratelimit.forget_bursts()
    limit(jira, capacity=1, rate_limit_fill_rate=1, rate_limit_interval=1)
    try:
        async with await (await fetched(connection.pk)).asession() as session:
            statuses = [(await session.get(ISSUE)).status_code for _ in range(2)]
    finally:
        ratelimit.forget_bursts()
    assert statuses == [200, 200]
    assert [record.status for record in api_records(jira)] == [200, 429, 200]


# --- what a call passes on -------------------------------------------------------------------------


async def test_options_given_to_the_session_reach_httpx_beside_its_own_headers(connection) -> None:
    transport, seen = answering()
    session = AsyncJiraSession(
        connection, transport=transport, headers={"X-Atlassian-Token": "no-check"}
    )
    async with session:
        response = await session.get(MYSELF)
    sent = response.request.headers
    assert sent["X-Atlassian-Token"] == "no-check"
    assert sent["User-Agent"] == f"django-jira-connect/{__version__}"
    assert sent["Accept"] == "application/json"
    assert seen == [f"Bearer {connection.access_token}"]


def redirecting() -> httpx.MockTransport:
    """Jira and another host, each sending ``/moved`` on to ``/here``; a stale token gets a
    401."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") == "Bearer stale":
            return httpx.Response(401)
        if request.url.path.endswith("/moved"):
            return httpx.Response(302, headers={"Location": str(request.url.join("here"))})
        return httpx.Response(200, json={"url": str(request.url)})

    return httpx.MockTransport(answer)


async def test_a_call_to_another_host_keeps_its_arguments(connection) -> None:
    session = AsyncJiraSession(connection, transport=redirecting())
    async with session:
        response = await session.get("https://other.example.com/moved", follow_redirects=True)
    assert response.status_code == 200
    assert response.json()["url"] == "https://other.example.com/here"


async def test_the_retry_after_a_refresh_keeps_the_calls_arguments(connection, jira) -> None:
    await JiraConnection.objects.filter(pk=connection.pk).aupdate(access_token="stale")
    mine = await JiraConnection.objects.select_related("link").aget(pk=connection.pk)
    session = AsyncJiraSession(mine, transport=redirecting())
    async with session:
        response = await session.get("rest/api/2/moved", follow_redirects=True)
    assert refreshes(jira) == 1
    assert response.status_code == 200
    assert response.json()["url"] == f"{connection.link.base_url}/rest/api/2/here"


async def test_a_503_without_retry_after_is_answered_at_once(connection, waits) -> None:
    """Only a 503 with Retry-After asks the caller to slow down; a plain one is Jira's answer,
    and no rate limit to warn or signal about."""
    transport, seen = answering(httpx.Response(503))
    received: list[dict[str, object]] = []
    signals.rate_limited.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="a503")
    session = AsyncJiraSession(connection, transport=transport)
    try:
        async with session:
            assert (await session.get(ISSUE)).status_code == 503
    finally:
        signals.rate_limited.disconnect(dispatch_uid="a503")
    assert len(seen) == 1
    assert waits == []
    assert received == []


async def test_a_rate_limited_call_is_logged_and_signalled(connection, jira, waits, caplog) -> None:
    limit(jira, capacity=1, rate_limit_retry_after_zero=True, rate_limit_interval=2)
    received: list[dict[str, object]] = []
    signals.rate_limited.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="arl")
    caplog.set_level(logging.WARNING, logger=ratelimit.LOGGER_NAME)
    try:
        async with await (await fetched(connection.pk)).asession() as session:
            for _ in range(2):
                assert (await session.get(ISSUE + "?fields=summary")).status_code == 200
    finally:
        signals.rate_limited.disconnect(dispatch_uid="arl")
    [warning] = [r for r in caplog.records if r.name == ratelimit.LOGGER_NAME]
    message = warning.getMessage()
    assert f"connection {connection.pk}: HTTP 429 to GET " in message
    assert "/rest/api/2/issue/ACME-1 " in message
    assert "fields=summary" not in message
    [sent] = received
    assert sent["status_code"] == 429


async def test_the_bearer_stays_off_another_port_of_jiras_host(connection) -> None:
    """The simulator listens on a port of its own: the same host on another port is not Jira."""
    transport, seen = answering()
    session = AsyncJiraSession(connection, transport=transport)
    base = httpx.URL(connection.link.base_url)
    assert base.port is not None
    async with session:
        await session.get(str(base.copy_with(port=base.port + 1)))
        await session.get(MYSELF)
    assert seen == ["", f"Bearer {connection.access_token}"]


async def test_a_token_without_a_known_expiry_is_used_until_jira_rejects_it(
    connection, jira
) -> None:
    await JiraConnection.objects.filter(pk=connection.pk).aupdate(expires_at=None)
    async with await (await fetched(connection.pk)).asession() as session:
        assert (await session.get(MYSELF)).status_code == 200
        assert refreshes(jira) == 0
        jira.expire_access_tokens()
        assert (await session.get(MYSELF)).status_code == 200
    assert refreshes(jira) == 1


async def test_one_rejection_per_call_may_lead_to_a_refresh_even_across_a_rate_limit(
    connection, jira, waits
) -> None:
    """401, then (with another worker's token) a rate limit, then 401 again: the call ends
    with Jira's 401 rather than a second go at the token."""
    transport, seen = answering(
        httpx.Response(401), httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(401)
    )
    async with await (await fetched(connection.pk)).asession() as opened:
        session = AsyncJiraSession(opened.connection, transport=transport)
    await (await fetched(connection.pk)).arefresh()  # another worker rotates the pair
    async with session:
        assert (await session.get(ISSUE)).status_code == 401
    assert len(seen) == 3
    assert waits == [1.0]
    assert refreshes(jira) == 1  # the other worker's


async def test_a_request_sent_to_jira_then_elsewhere_leaves_the_bearer_behind(connection) -> None:
    """``send()`` puts the bearer on the caller's request object; sending that object on to
    another host (a mirror, a retry queue) must not take the token along."""
    transport, seen = answering()
    session = AsyncJiraSession(connection, transport=transport)
    async with session:
        request = session.build_request("GET", MYSELF)
        await session.send(request)
        request.url = httpx.URL("https://mirror.example.com/rest/api/2/myself")
        await session.send(request)
    assert seen == [f"Bearer {connection.access_token}", ""]


# --- what a failed token call says ----------------------------------------------------------------


async def test_a_token_call_jira_hangs_up_on_says_where_and_how(connection, jira) -> None:
    await sync_to_async(expire)(connection)
    jira.inject("token", "reset")
    with pytest.raises(JiraUnavailable) as info:
        await (await fetched(connection.pk)).arefresh()
    assert str(info.value) == (
        f"Could not send the token request to Jira at http://127.0.0.1:{jira.port}: "
        "RemoteProtocolError."
    )


async def test_a_token_call_that_cannot_connect_names_jiras_origin(connection, jira) -> None:
    """The origin as a person would write it: no port when it is the scheme's default."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 80)) == 0:
            pytest.skip("something listens on port 80 here")
    await JiraLink.objects.filter(pk=connection.link_id).aupdate(
        base_url="http://127.0.0.1:80/jira"
    )
    with pytest.raises(JiraUnavailable) as info:
        await (await fetched(connection.pk)).arefresh()
    assert str(info.value) == "Could not connect to Jira at http://127.0.0.1: ConnectError."


# --- the async refresh engine ----------------------------------------------------------------------


def token_answer(size: int) -> Reply:
    """A token answer of exactly ``size`` bytes (JSON, then spaces), as a gateway might send."""
    body = json.dumps(
        {
            "access_token": "gateway-access",
            "refresh_token": "gateway-refresh",
            "token_type": "bearer",
            "expires_in": 3600,
            "scope": "WRITE",
        }
    ).encode()
    return Reply(200, body + b" " * (size - len(body)), (("Content-Type", "application/json"),))


async def test_a_token_answer_up_to_the_limit_is_read_whole(proxied, gateway, jira) -> None:
    """1 MiB arrives in many chunks: every one of them counts, and exactly the limit is fine."""
    gateway.replies.append(token_answer(DEFAULT_MAX_RESPONSE_BYTES))
    await (await fetched(proxied.pk)).arefresh()
    row = await stored()
    assert (row.access_token, row.refresh_token) == ("gateway-access", "gateway-refresh")


async def test_a_token_answer_over_the_limit_is_refused(proxied, gateway, jira) -> None:
    gateway.replies.append(token_answer(DEFAULT_MAX_RESPONSE_BYTES + 1))
    with pytest.raises(JiraUnavailable) as info:
        await (await fetched(proxied.pk)).arefresh()
    assert str(info.value) == (
        f"Jira's answer to the token request is larger than {DEFAULT_MAX_RESPONSE_BYTES} bytes "
        f"(HTTP 200): is something other than Jira answering at {gateway.base_url}?"
    )
    assert info.value.status_code == 200
    assert (await stored()).refresh_token == proxied.refresh_token


async def test_an_expired_token_another_worker_renewed_costs_no_refresh(connection, jira) -> None:
    await sync_to_async(expire)(connection)
    async with await (await fetched(connection.pk)).asession() as session:
        await (await fetched(connection.pk)).arefresh()  # another worker, meanwhile
        assert (await session.get(MYSELF)).status_code == 200
        assert session.connection.access_token == (await stored()).access_token
    assert refreshes(jira) == 1


async def test_the_refresh_runs_in_a_thread_named_for_it(connection) -> None:
    """Log records and thread dumps say which thread is the refresh's (signals are sent there)."""
    names: list[str] = []
    signals.token_refreshed.connect(
        lambda **kw: names.append(threading.current_thread().name), weak=False, dispatch_uid="tn"
    )
    try:
        await (await fetched(connection.pk)).arefresh()
    finally:
        signals.token_refreshed.disconnect(dispatch_uid="tn")
    [name] = names
    assert name.startswith("jira-connect-refresh_")


async def test_refreshing_a_connection_deleted_meanwhile_says_so(connection, jira) -> None:
    mine = await fetched(connection.pk)
    await JiraConnection.objects.filter(pk=connection.pk).adelete()
    with pytest.raises(JiraConnection.DoesNotExist):
        await mine.arefresh()
    assert refreshes(jira) == 0


async def test_the_coroutines_locks_go_when_their_refreshes_end(connection, jira) -> None:
    """One lock per connection while coroutines wait for its refresh, none after."""
    await sync_to_async(expire)(connection)
    mines = [await fetched(connection.pk) for _ in range(4)]
    await asyncio.gather(*(arefreshing.arefresh_connection(mine) for mine in mines))
    assert refreshes(jira) == 1
    assert len(arefreshing._locks) == 0


async def test_an_unexpected_error_in_the_async_token_call_leaves_nothing_locked(
    connection, jira, monkeypatch
) -> None:
    """The caller gets the error itself; the flight's locks and transaction end with it, so the
    next refresh, async or from a thread, goes ahead."""

    class Unexpected(Exception):
        pass

    async def explode(*args: object, **kwargs: object) -> None:
        raise Unexpected("boom")

    await sync_to_async(expire)(connection)
    with monkeypatch.context() as patched:
        patched.setattr(arefreshing, "_refresh", explode)
        with pytest.raises(Unexpected, match="boom"):
            await (await fetched(connection.pk)).arefresh()
    await asyncio.wait_for((await fetched(connection.pk)).arefresh(), timeout=60)

    def refresh_in_a_thread() -> None:
        try:
            JiraConnection.objects.select_related("link").get().refresh()
        finally:
            connections.close_all()

    await asyncio.wait_for(asyncio.to_thread(refresh_in_a_thread), timeout=60)
    assert refreshes(jira) == 2
    assert jira.is_valid_refresh_token((await stored()).refresh_token)
