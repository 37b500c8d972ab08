"""The refresh engine for async callers: the same single flight, without blocking the event loop.

A ``refreshing.Flight`` in three phases: (a) lock, re-read and decide, and
(c) store, commit and signal, run in one thread of the flight's own (they
hold a database connection, its transaction and the row lock, which belong
to one thread); (b) the call to Jira's token endpoint runs on the event loop
with httpx, so a slow Jira holds no thread and no database connection
waits on it beyond the row lock that makes it a single flight.

Coroutines of one event loop queue on an ``asyncio.Lock`` per connection
first, so 100 coroutines waiting for one refresh cost no thread and no
database connection each; threads and other processes queue on the row lock
as before (see ``refreshing.Flight`` for how the locks relate).

Once started, a flight runs to its end even if the coroutine that started it
is cancelled (a client that went away): Jira may already have rotated the
pair, and only the flight's phase (c) makes the new one durable.

Import only with httpx installed (``django-jira-connect[async]``).
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

import httpx
from django.db import connections
from django.views.decorators.debug import sensitive_variables

from jira_connect import oauth, refreshing, transport
from jira_connect.exceptions import JiraTLSError, JiraUnavailable
from jira_connect.models import JiraConnection
from jira_connect.transport import Verify

_T = TypeVar("_T")
#: Runs a step (database work, or loading certificates) in a thread: ``Lane.run``.
Runner = Callable[[Callable[[], Any]], Awaitable[Any]]


class _LoopLocks:
    """One ``asyncio.Lock`` per connection and event loop, kept only while in use.

    asyncio locks belong to one event loop; a registry keyed weakly by loop
    drops a loop's locks with the loop, and each lock goes when its last
    waiter leaves, so memory stays flat.
    """

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple[str, int], tuple[asyncio.Lock, list[int]]]
        ] = weakref.WeakKeyDictionary()

    @asynccontextmanager
    async def hold(self, key: tuple[str, int]) -> AsyncIterator[None]:
        held = self._by_loop.setdefault(asyncio.get_running_loop(), {})
        lock, users = held.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del held[key]

    def __len__(self) -> int:
        return sum(len(held) for held in self._by_loop.values())


_locks = _LoopLocks()
#: Flights under way, so a flight whose caller was cancelled is not garbage-collected.
_running: set[asyncio.Task[bool]] = set()


async def arefresh_connection(
    connection: JiraConnection,
    *,
    stale_access_token: str | None = None,
    force: bool = False,
    hold_for: float | None = None,
) -> JiraConnection:
    """``refreshing.refresh_connection`` for async callers: same decision, outcomes, signals."""
    needs = refreshing.wanting(
        stale_access_token=stale_access_token, force=force, rejected=hold_for is not None
    )
    await single_flight(connection, needs, hold_for=hold_for)
    return connection


async def single_flight(
    connection: JiraConnection,
    needs_refresh: Callable[[JiraConnection], bool],
    *,
    hold_for: float | None = None,
    lane: Lane | None = None,
) -> bool:
    """Refresh ``connection`` if ``needs_refresh`` says so once its row is locked and re-read.

    ``lane``: a bulk refresh's thread and HTTP clients to use (``Lane``); without one, the
    flight has a thread of its own and a client of its own. Returns whether this call refreshed.
    """
    flight = refreshing.Flight(connection, needs_refresh, hold_for=hold_for)
    async with _locks.hold(flight.key):
        task = asyncio.ensure_future(_fly(flight, lane))
        _running.add(task)
        task.add_done_callback(_running.discard)
        return await asyncio.shield(task)


class TLSContexts:
    """The SSL contexts of a bulk refresh's token calls, one per TLS setting, shared by its
    lanes: building one loads the CA certificates, tens of milliseconds of CPU each time."""

    def __init__(self) -> None:
        self._contexts: dict[object, ssl.SSLContext] = {}
        self._lock = asyncio.Lock()

    async def get(self, verify: Verify, in_thread: Runner) -> ssl.SSLContext:
        """The context for ``verify`` (built in a thread the first time)."""
        if isinstance(verify, ssl.SSLContext):
            return verify  # a link's own CAs: built once already (transport.tls_verify)
        async with self._lock:
            context = self._contexts.get(verify)
            if context is None:
                context = await in_thread(lambda: httpx.create_ssl_context(verify=verify))
                self._contexts[verify] = context
        return context


class Lane:
    """What a bulk refresh lends the flights it runs one after another: a thread kept for
    them, whose database connection stays open from one flight to the next (as a sync
    ``--workers`` thread's does) rather than opened and closed for each, and httpx clients for
    the token calls, each keeping its one connection to Jira open. One client per lane, not one
    for the run: httpcore checks every connection of its pool on each request, so a pool shared
    by N lanes costs N checks per call. Close it with ``await lane.aclose()``."""

    def __init__(self, contexts: TLSContexts) -> None:
        self._contexts = contexts
        self._clients: dict[tuple[object, object], httpx.AsyncClient] = {}
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jira-connect-lane")

    def run(self, step: Callable[[], _T]) -> asyncio.Future[_T]:
        """Run ``step`` (database work) in the lane's thread."""
        return asyncio.get_running_loop().run_in_executor(self._thread, step)

    async def token_client(self, client: oauth.OAuthClient) -> httpx.AsyncClient:
        """The lane's httpx client for ``client``'s TLS settings and timeout."""
        key = (client.verify, client.timeout)
        http = self._clients.get(key)
        if http is None:
            context = await self._contexts.get(client.verify, self.run)
            one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
            http = await self.run(lambda: _token_client(client, verify=context, limits=one))
            self._clients[key] = http
        return http

    async def aclose(self) -> None:
        """Close the lane's HTTP clients and its thread's database connection."""
        try:
            for http in self._clients.values():
                await http.aclose()
            await self.run(connections.close_all)
        finally:
            self._thread.shutdown(wait=False)


async def _fly(flight: refreshing.Flight, lane: Lane | None) -> bool:
    thread: ThreadPoolExecutor | None = None
    if lane is None:
        loop = asyncio.get_running_loop()
        own = thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jira-connect-refresh")

        def in_thread(step: Callable[[], _T]) -> asyncio.Future[_T]:
            return loop.run_in_executor(own, step)

        last: Callable[[Callable[[], _T]], _T] = _closing
    else:
        in_thread = lane.run
        last = _plain
    try:
        try:
            call = await in_thread(flight.open)
        except BaseException:
            await in_thread(connections.close_all)
            raise
        result: oauth.TokenSet | Exception | None = None
        if call is not None:
            try:
                result = await _refresh(call, in_thread, lane)
            except refreshing.TOKEN_CALL_ERRORS as err:
                result = err
            except BaseException as err:
                failure = err
                await in_thread(lambda: last(lambda: flight.abort(failure)))
                raise
        return await in_thread(lambda: last(lambda: flight.finish(result)))
    finally:
        if thread is not None:
            thread.shutdown(wait=False)


def _closing(step: Callable[[], _T]) -> _T:
    """Run the flight's last step, then close the thread's database connections (the thread
    ends with the flight)."""
    try:
        return step()
    finally:
        connections.close_all()


def _plain(step: Callable[[], _T]) -> _T:
    """Run the flight's last step in a lane's thread, which keeps its database connection."""
    return step()


def _token_client(
    client: oauth.OAuthClient,
    *,
    verify: Verify | None = None,
    limits: httpx.Limits | None = None,
    options: dict[str, Any] | None = None,
) -> httpx.AsyncClient:
    """An httpx client for ``client``'s token calls: the site's ``options`` for the link
    (``ASYNC_CLIENT_OPTIONS``), then its TLS settings (or the ``verify`` context built from
    them) and timeout. Redirects are refused by each call (``exchange``)."""
    kwargs: dict[str, Any] = dict(options or {})
    if limits is not None:
        kwargs["limits"] = limits
    return httpx.AsyncClient(
        **kwargs,
        verify=client.verify if verify is None else verify,
        timeout=httpx_timeout(client.timeout),
    )


@sensitive_variables()
async def _refresh(
    call: refreshing.TokenCall, in_thread: Runner, lane: Lane | None = None
) -> oauth.TokenSet:
    """Phase (b): ``oauth.refresh`` over httpx: no redirects, bounded read, the same parsing.

    The client is a bulk refresh's lane's, or one built for this call in the flight's thread:
    loading CA certificates into its SSL context would block the event loop for a noticeable
    time.
    """
    client = call.client
    request = oauth.refresh_request(client, call.refresh_token)
    link = call.link
    options = transport.async_client_options(link) if link is not None else {}
    if lane is not None and not options:
        kept = await lane.token_client(client)
        issued_at = datetime.now(timezone.utc)
        answer = await _token_exchange(kept, client, request)
    else:
        # The site's ASYNC_CLIENT_OPTIONS are its link's: such a client is never shared.
        http: httpx.AsyncClient = await in_thread(lambda: _token_client(client, options=options))
        issued_at = datetime.now(timezone.utc)
        async with http:
            answer = await _token_exchange(http, client, request)
    return oauth.parse_token_answer(
        request,
        status=answer.status_code,
        headers=answer.headers,
        content=answer.content,
        url=answer.url,
        issued_at=issued_at,
    )


@sensitive_variables()
async def _token_exchange(
    http: httpx.AsyncClient, client: oauth.OAuthClient, request: oauth.TokenRequest
) -> Answer:
    return await exchange(
        http,
        request.method,
        request.url,
        headers=request.headers,
        content=request.body,
        max_bytes=client.max_response_bytes,
        what="the token request",
    )


async def exchange(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    content: bytes | None = None,
    max_bytes: int,
    what: str,
) -> Answer:
    """One bounded, redirect-free exchange with Jira over httpx (``_http.send``'s rules): at most
    ``max_bytes`` of the body read, every transport failure a ``JiraUnavailable`` naming
    ``what``."""
    try:
        async with http.stream(
            method, url, headers=dict(headers), content=content, follow_redirects=False
        ) as response:
            body = await _bounded(response, max_bytes, url, what)
    except httpx.HTTPError as err:
        raise JiraUnavailable(describe_failure(err, url, what)) from None
    return Answer(response.status_code, response.headers, body, str(response.url))


@dataclass(frozen=True)
class Answer:
    """Jira's answer to an ``exchange``, its body read."""

    status_code: int
    headers: httpx.Headers
    content: bytes = field(repr=False)
    url: str


async def _bounded(response: httpx.Response, limit: int, url: str, what: str) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise JiraUnavailable(
                f"Jira's answer to {what} is larger than {limit} bytes (HTTP "
                f"{response.status_code}): is something other than Jira answering at "
                f"{_origin(url)}?",
                status_code=response.status_code,
            )
    return bytes(body)


def httpx_timeout(timeout: float | tuple[float, float]) -> httpx.Timeout:
    """``HTTP_TIMEOUT`` (seconds, or requests' ``(connect, read)``) as httpx's timeout."""
    if isinstance(timeout, tuple):
        connect, read = timeout
        return httpx.Timeout(read, connect=connect)
    return httpx.Timeout(timeout)


def describe_failure(err: httpx.HTTPError, url: str, what: str) -> str:
    """A sentence a person can act on, with no request body or header in it."""
    where = _origin(url)
    if _is_tls_failure(err):
        return (
            f"TLS verification failed for Jira at {where}. If Jira's certificate comes from a "
            "private CA, configure that CA bundle for this link."
        )
    if isinstance(err, httpx.ConnectTimeout):
        return f"Could not connect to Jira at {where} in time."
    if isinstance(err, httpx.TimeoutException):
        return f"Jira at {where} did not answer {what} in time."
    if isinstance(err, httpx.ConnectError):
        return f"Could not connect to Jira at {where}: {type(err).__name__}."
    return f"Could not send {what} to Jira at {where}: {type(err).__name__}."


def tls_error(err: httpx.HTTPError, url: str) -> JiraTLSError | None:
    """The app's TLS error for a failed call, when TLS verification is what failed."""
    if not _is_tls_failure(err):
        return None
    return JiraTLSError(describe_failure(err, url, "the request"))


def _is_tls_failure(err: BaseException) -> bool:
    import ssl

    seen: BaseException | None = err
    for _ in range(6):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"
