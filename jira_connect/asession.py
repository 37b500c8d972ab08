"""``await connection.asession()``: an ``httpx.AsyncClient`` that is always authorised.

The async twin of ``jira_connect.session.JiraSession``, with the same rules:
paths resolve against the link's base URL (context path kept); the bearer
token goes only to the link's origin (httpx drops it on a redirect that
leaves it); the link's TLS settings, ``HTTP_TIMEOUT``, the User-Agent and
``Accept: application/json``; a refresh shortly before expiry and once after
a 401 or an anonymous answer; rate-limited idempotent calls retried by
``jira_connect.ratelimit``'s rules; the storm guard. A body is sent again
only when it can be, by the sync session's rule: one httpx holds in memory
(bytes, text, forms, ``json=``), and a ``files=`` upload whose files are all
bytes, text or seekable files (rewound first); a one-shot stream (an async
generator, a file that cannot seek) is not, and the caller gets Jira's
answer rather than a second, empty or half-read upload.

While the token is valid a call costs no database query. Refreshes go
through ``jira_connect.arefreshing``: the same single flight as sync
callers, with the token call on the event loop. The storm guard's reads and
writes are small ORM queries, run through ``sync_to_async`` on the rare
paths that need them (a rejected token).

Import only with httpx installed (``django-jira-connect[async]``).
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
from asgiref.sync import sync_to_async
from django.utils.translation import gettext as _

from jira_connect import arefreshing, ratelimit, stormguard, transport
from jira_connect.conf import app_settings
from jira_connect.exceptions import ReauthorizationRequired
from jira_connect.fields import require_readable
from jira_connect.models import ConnectionStatus, JiraConnection, JiraLink
from jira_connect.session import body_rewinder, is_plain_path

if TYPE_CHECKING:
    from datetime import datetime


async def asleep(seconds: float) -> None:
    """Wait before a retry. The one place the async session waits: tests patch it."""
    await asyncio.sleep(seconds)


async def open_session(connection: JiraConnection) -> AsyncJiraSession:
    """The session for ``connection``, loading its link without blocking the event loop."""
    if not JiraConnection.link.is_cached(connection):
        using = connection._state.db
        connection.link = await JiraLink.objects.using(using).aget(pk=connection.link_id)
    # Built in a thread: httpx loads the CA certificates into a new SSL context, which takes
    # longer than an event loop should ever be blocked.
    return await asyncio.to_thread(AsyncJiraSession, connection)


class AsyncJiraSession(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` bound to one connection's link.

    ``await session.get("rest/api/2/myself")`` and ``"/rest/api/2/myself"``
    both go to ``{base_url}/rest/api/2/myself``. Use it as ``async with``
    (or ``await session.aclose()``) to close its connections. One session
    may serve many coroutines of its event loop at once.
    """

    def __init__(self, connection: JiraConnection, **kwargs: Any) -> None:
        link = connection.link
        transport.ensure_allowed(link)
        require_readable(connection.access_token, connection.refresh_token)
        base_url = link.base_url.rstrip("/") + "/"
        # The site's options (ASYNC_CLIENT_OPTIONS), then the caller's; TLS, redirects, auth
        # and the base URL stay the app's (transport.APP_CLIENT_OPTIONS).
        site = transport.async_client_options(link)
        headers = {"User-Agent": transport.USER_AGENT, "Accept": "application/json"}
        headers.update(site.pop("headers", None) or {})
        headers.update(kwargs.pop("headers", None) or {})
        options = {**site, **kwargs}
        options.setdefault("timeout", arefreshing.httpx_timeout(app_settings.HTTP_TIMEOUT))
        super().__init__(
            base_url=base_url, verify=transport.tls_verify(link), headers=headers, **options
        )
        self._connection = connection
        self._base = str(self.base_url)  # httpx's form of it, ending in "/"
        self._origin = _origin(httpx.URL(base_url))
        self._token_lock = asyncio.Lock()
        self._access_token: str = connection.access_token
        self._renew_at = math.inf
        self._set_expiry(connection.expires_at)

    def __repr__(self) -> str:
        return (
            f"<AsyncJiraSession connection={self._connection.pk} base_url={str(self.base_url)!r}>"
        )

    @property
    def connection(self) -> JiraConnection:
        return self._connection

    def build_request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Request:
        """httpx's request, noting how to send a ``files=`` upload again (see ``_rewinder``).

        A plain path is appended to the base URL here, as httpx's own merge would append it:
        parsing it as a relative URL and merging it costs more than the rest of a call's own
        work in the session (about 15 µs).
        """
        if isinstance(url, str) and is_plain_path(url):
            url = self._base + url.lstrip("/")
        request = super().build_request(method, url, **kwargs)
        files = kwargs.get("files")
        if files:
            # httpx streams an upload from its files: whether it can be sent again depends on
            # them, by the sync session's rule (seekable files are rewound, others are not).
            _uploads[request] = body_rewinder({"files": files})
        return request

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        if _origin(request.url) != self._origin:
            return await super().send(request, **kwargs)  # the caller's headers, as given
        rewind = _rewinder(request)
        retries = 0
        may_refresh = True  # at most one 401-driven refresh per call
        while True:
            token = await self._fresh_token()
            response = await self._send(request, token, **kwargs)
            if may_refresh and ratelimit.rejects_token(response.status_code, response.headers):
                may_refresh = False
                retry_token, refreshed = await self._token_after_rejection(
                    stale=token, hold_for=stormguard.hold_for(_timeouts(request))
                )
                if retry_token is None or rewind is None:
                    # Jira's answer stands (refreshes paused), or the body was streamed and
                    # cannot be sent again: the token is fresh for the next call.
                    return response
                await response.aclose()
                rewind()
                response = await self._send(request, retry_token, **kwargs)
                if refreshed and ratelimit.rejects_token(response.status_code, response.headers):
                    await sync_to_async(stormguard.pause_refreshes)(self._connection)
            status, headers = response.status_code, response.headers
            if status not in ratelimit.SLOW_DOWN or not ratelimit.is_rate_limited(status, headers):
                return response
            method, url = request.method, str(request.url)
            await sync_to_async(ratelimit.note_rate_limited)(
                self._connection, method, url, status, headers
            )
            wait = ratelimit.wait_before_retry(method, status, headers, retries)
            if wait is None or rewind is None:
                return response
            await response.aclose()
            rewind()
            await asleep(wait)
            retries += 1

    async def _send(self, request: httpx.Request, token: str, **kwargs: Any) -> httpx.Response:
        """Send ``request`` with the bearer token, then give it back its own ``Authorization``.

        The bearer is on the request only while it is sent: a request object the caller
        keeps (``response.request``, or one built for Jira and later sent elsewhere) never
        carries the token off the link's origin, and the caller's own header to another host
        is left alone, as in ``session()``.
        """
        own = request.headers.get("Authorization")
        request.headers["Authorization"] = f"Bearer {token}"
        try:
            return await super().send(request, **kwargs)
        except httpx.HTTPError as err:
            tls = arefreshing.tls_error(err, str(request.url))
            if tls is not None:
                raise tls from None
            raise
        finally:
            if own is None:
                del request.headers["Authorization"]
            else:
                request.headers["Authorization"] = own

    async def _fresh_token(self) -> str:
        if self._connection.status != ConnectionStatus.ACTIVE:
            raise ReauthorizationRequired(
                _("This Jira connection must be reconnected."),
                reconnect_url=self._connection.reconnect_url,
                connection=self._connection,
            )
        if self._access_token and time.time() < self._renew_at:
            return self._access_token
        return await self._refreshed_token(stale=self._access_token)

    def _set_expiry(self, expires_at: datetime | None) -> None:
        """Note when the token must be renewed: ``REFRESH_LEEWAY`` seconds before it expires
        (read once per token, so a call while it is valid reads no setting)."""
        if expires_at is None:
            self._renew_at = math.inf
        else:
            self._renew_at = expires_at.timestamp() - app_settings.REFRESH_LEEWAY

    async def _token_after_rejection(
        self, *, stale: str, hold_for: float | None
    ) -> tuple[str | None, bool]:
        """The token to retry with after Jira rejected ``stale`` (None: return Jira's answer),
        and whether it comes from a refresh asked for by this call, which holds 401-driven
        refreshes for ``hold_for`` seconds (``stormguard``)."""
        if self._access_token != stale:  # another coroutine of this session refreshed
            return self._access_token, False
        stored = await sync_to_async(stormguard.stored_token)(self._connection)
        if stored.access_token and stored.access_token != stale:
            # Another worker refreshed: its token costs no refresh, paused or not.
            if self._access_token == stale:
                self._access_token = stored.access_token
                self._set_expiry(stored.expires_at)
                self._connection.access_token = stored.access_token
                self._connection.expires_at = stored.expires_at
            return self._access_token, False
        if stored.paused:
            return None, False
        token = await self._refreshed_token(stale=stale, hold_for=hold_for)
        if token == stale:  # paused meanwhile: the engine decided under the row lock
            return None, False
        return token, True

    async def _refreshed_token(self, *, stale: str, hold_for: float | None = None) -> str:
        async with self._token_lock:
            if self._access_token != stale:  # another coroutine of this session refreshed
                return self._access_token
            connection = await arefreshing.arefresh_connection(
                self._connection, stale_access_token=stale, hold_for=hold_for
            )
            self._access_token = str(connection.access_token)
            self._set_expiry(connection.expires_at)
            return self._access_token


#: How to send each ``files=`` upload again (None: it cannot be), until the request is gone.
_uploads: weakref.WeakKeyDictionary[httpx.Request, Callable[[], None] | None] = (
    weakref.WeakKeyDictionary()
)


def _rewinder(request: httpx.Request) -> Callable[[], None] | None:
    """How to make the body ready to be sent again, or None when it cannot be.

    A ``files=`` upload built by this session: as its files allow (``build_request``). Any
    other body: when httpx holds it in memory (bytes, text, a form, ``json=``); a stream (an
    async generator, or an upload built elsewhere) is read once.
    """
    if request in _uploads:
        return _uploads[request]
    try:
        request.content  # noqa: B018 (raises RequestNotRead for a streamed body)
    except httpx.RequestNotRead:
        return None
    return _nothing_to_rewind


def _nothing_to_rewind() -> None:
    """A body held in memory is sent again as it is."""


def _timeouts(request: httpx.Request) -> tuple[object, object]:
    """The request's connect and read timeouts, for the storm guard's hold."""
    timeout = request.extensions.get("timeout") or {}
    return timeout.get("connect"), timeout.get("read")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default
