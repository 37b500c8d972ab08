"""The async refresh's own token call and single flight: what the sync path's tests cannot show.

The token call goes over httpx on the event loop, with the link's settings (timeout, no
redirects); the flight's lock is per connection; and the storm guard's decision is taken again
under the row lock.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from jira_connect.exceptions import JiraUnavailable
from jira_connect.models import JiraConnection, JiraLink
from tests.conftest import jira_connect_settings, skip_without_row_locks
from tests.tokens.conftest import granted, pause_after_the_look

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]

MYSELF = "rest/api/2/myself"

#: What the token client of a link (by slug) is given through ASYNC_CLIENT_OPTIONS.
TRANSPORTS: dict[str, httpx.AsyncBaseTransport] = {}


def options_by_link(link: JiraLink) -> dict[str, Any]:
    transport = TRANSPORTS.get(link.slug)
    return {} if transport is None else {"transport": transport}


@pytest.fixture
def by_link() -> Any:
    TRANSPORTS.clear()
    settings = jira_connect_settings(ASYNC_CLIENT_OPTIONS=f"{__name__}.options_by_link")
    with override_settings(JIRA_CONNECT=settings):
        yield TRANSPORTS
    TRANSPORTS.clear()


def refreshes(jira: Any) -> int:
    return jira.token_requests(grant_type="refresh_token")


async def make(jira: Any, user_factory: Any) -> JiraConnection:
    """A connection on a link of its own, loaded as an async view loads it."""
    connection = await sync_to_async(lambda: granted(jira, user_factory()))()
    return await JiraConnection.objects.select_related("link").aget(pk=connection.pk)


async def test_the_token_call_keeps_to_the_http_timeout(jira, user_factory) -> None:
    mine = await make(jira, user_factory)
    jira.inject("token", "delay", delay=3)
    settings = jira_connect_settings(HTTP_TIMEOUT=0.5)
    with override_settings(JIRA_CONNECT=settings), pytest.raises(JiraUnavailable) as info:
        await mine.arefresh()
    assert info.value.retryable
    row = await JiraConnection.objects.aget(pk=mine.pk)
    assert (row.status, row.last_failure_kind) == ("active", "transient")


async def test_a_redirected_token_call_is_not_followed_and_says_where_to(
    jira, user_factory, by_link
) -> None:
    """A login page in front of Jira: the refresh is not sent on to it, and the message names
    where Jira pointed (the relative address resolved, its query left out)."""
    mine = await make(jira, user_factory)
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(302, headers={"Location": "/login.jsp?os_destination=%2Fsecret"})

    by_link[mine.link.slug] = httpx.MockTransport(answer)
    with pytest.raises(JiraUnavailable) as info:
        await mine.arefresh()
    origin = str(httpx.URL(jira.base_url).copy_with(path="/", query=None)).rstrip("/")
    assert asked == [f"{jira.base_url}/rest/oauth2/latest/token"]
    assert f"to {origin}/login.jsp:" in str(info.value)
    assert "secret" not in str(info.value)


class Gated(httpx.AsyncBaseTransport):
    """Jira, reached only once ``opened`` is set; ``entered`` tells a request is waiting."""

    def __init__(self) -> None:
        self.entered, self.opened = asyncio.Event(), asyncio.Event()
        self._jira = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.entered.set()
        await self.opened.wait()
        return await self._jira.handle_async_request(request)

    async def aclose(self) -> None:
        await self._jira.aclose()


async def test_a_slow_refresh_holds_up_no_other_connections_refresh(
    jira, user_factory, by_link
) -> None:
    """The coroutines of one event loop wait for the refresh of their own connection only."""
    skip_without_row_locks()  # SQLite runs one refresh at a time whatever the connection
    slow, other = await make(jira, user_factory), await make(jira, user_factory)
    gate = by_link[slow.link.slug] = Gated()
    waiting = asyncio.ensure_future(slow.arefresh())
    await gate.entered.wait()  # the slow refresh is under way, its lock held
    await asyncio.wait_for(other.arefresh(), timeout=30)
    assert refreshes(jira) == 1
    gate.opened.set()
    await waiting
    assert refreshes(jira) == 2


async def test_a_pause_set_after_the_sessions_look_still_stops_its_refresh(
    jira, user_factory, monkeypatch
) -> None:
    """Another worker trips the storm guard between this session's look at the row and the
    row's lock: the decision taken under the lock sees the pause, and the 401 is Jira's
    answer, with no refresh."""
    mine = await make(jira, user_factory)
    pause_after_the_look(monkeypatch)
    jira.inject("api", "unauthorized")
    async with await mine.asession() as session:
        assert (await session.get(MYSELF)).status_code == 401
    assert refreshes(jira) == 0
