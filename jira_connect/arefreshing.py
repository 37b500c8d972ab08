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
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any, TypeVar

import httpx
from django.db import connections
from django.views.decorators.debug import sensitive_variables

from jira_connect import oauth, refreshing, transport
from jira_connect.exceptions import JiraTLSError, JiraUnavailable
from jira_connect.models import JiraConnection

_T = TypeVar("_T")


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
    connection: JiraConnection, *, stale_access_token: str | None = None, force: bool = False
) -> JiraConnection:
    """``refreshing.refresh_connection`` for async callers: same decision, outcomes, signals."""
    needs = refreshing.wanting(stale_access_token=stale_access_token, force=force)
    await single_flight(connection, needs)
    return connection


async def single_flight(
    connection: JiraConnection, needs_refresh: Callable[[JiraConnection], bool]
) -> bool:
    """Refresh ``connection`` if ``needs_refresh`` says so once its row is locked and re-read.

    Returns whether this call refreshed.
    """
    flight = refreshing.Flight(connection, needs_refresh)
    async with _locks.hold(flight.key):
        task = asyncio.ensure_future(_fly(flight))
        _running.add(task)
        task.add_done_callback(_running.discard)
        return await asyncio.shield(task)


async def _fly(flight: refreshing.Flight) -> bool:
    loop = asyncio.get_running_loop()
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jira-connect-refresh")

    def in_thread(step: Callable[[], _T]) -> asyncio.Future[_T]:
        return loop.run_in_executor(thread, step)

    try:
        try:
            call = await in_thread(flight.open)
        except BaseException:
            await in_thread(connections.close_all)
            raise
        result: oauth.TokenSet | Exception | None = None
        if call is not None:
            try:
                result = await _refresh(call, in_thread)
            except refreshing.TOKEN_CALL_ERRORS as err:
                result = err
            except BaseException as err:
                failure = err
                await in_thread(lambda: _closing(lambda: flight.abort(failure)))
                raise
        return await in_thread(lambda: _closing(lambda: flight.finish(result)))
    finally:
        thread.shutdown(wait=False)


def _closing(step: Callable[[], _T]) -> _T:
    """Run the flight's last step, then close the thread's database connections (the thread
    ends with the flight)."""
    try:
        return step()
    finally:
        connections.close_all()


@sensitive_variables()
async def _refresh(
    call: refreshing.TokenCall, in_thread: Callable[[Callable[[], Any]], Awaitable[Any]]
) -> oauth.TokenSet:
    """Phase (b): ``oauth.refresh`` over httpx: no redirects, bounded read, the same parsing.

    The client is built in the flight's thread: loading CA certificates into its SSL
    context would block the event loop for a noticeable time.
    """
    client = call.client
    request = oauth.refresh_request(client, call.refresh_token)
    timeout = httpx_timeout(client.timeout)
    link = call.link

    def build() -> httpx.AsyncClient:
        options = transport.async_client_options(link) if link is not None else {}
        return httpx.AsyncClient(
            **options, verify=client.verify, timeout=timeout, follow_redirects=False
        )

    http: httpx.AsyncClient = await in_thread(build)
    issued_at = datetime.now(timezone.utc)
    try:
        async with (
            http,
            http.stream(
                request.method, request.url, headers=request.headers, content=request.body
            ) as response,
        ):
            content = await _bounded(response, client.max_response_bytes, request.url)
    except httpx.HTTPError as err:
        raise JiraUnavailable(describe_failure(err, request.url, "the token request")) from None
    return oauth.parse_token_answer(
        request,
        status=response.status_code,
        headers=response.headers,
        content=content,
        url=str(response.url),
        issued_at=issued_at,
    )


async def _bounded(response: httpx.Response, limit: int, url: str) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise JiraUnavailable(
                f"Jira's answer to the token request is larger than {limit} bytes (HTTP "
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
