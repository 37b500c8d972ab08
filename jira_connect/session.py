"""``connection.session()``: a ``requests.Session`` that is always authorised.

The access token lives in the session object, so a call while it is valid
costs no database query. It is refreshed, through the single-flight
``refreshing.refresh_connection``, shortly before it expires and once after a
401 (Jira rotates tokens, so another worker may have refreshed and killed
ours): one refresh and one retry, never more.

An idempotent call Jira rate-limits (429, or 503 with ``Retry-After``) is
retried after the wait ``jira_connect.ratelimit`` decides, and a 429 never
counts as a rejected token. When even a freshly refreshed token is rejected,
``jira_connect.stormguard`` pauses 401-driven refreshes for that connection.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests
from django.utils.translation import gettext as _

from jira_connect import ratelimit, refreshing, stormguard, transport
from jira_connect._environment import EnvironmentOnce
from jira_connect._http import describe_tls_failure, no_auth
from jira_connect.conf import app_settings
from jira_connect.exceptions import (
    JiraTLSError,
    ReauthorizationRequired,
    SyncSessionInAsyncContext,
)
from jira_connect.fields import require_readable
from jira_connect.models import ConnectionStatus

if TYPE_CHECKING:
    from datetime import datetime

    from jira_connect.models import JiraConnection


class JiraSession(EnvironmentOnce):
    """A session bound to one connection's link; paths resolve against its base URL.

    ``session.get("rest/api/2/myself")`` and ``session.get("/rest/api/2/myself")``
    both go to ``{base_url}/rest/api/2/myself`` (the context path is kept);
    absolute URLs on the same origin as the link work too. The bearer token is
    never sent to another host.
    """

    def __init__(self, connection: JiraConnection) -> None:
        _refuse_event_loop()
        super().__init__()
        transport.ensure_allowed(connection.link)
        require_readable(connection.access_token, connection.refresh_token)
        self._connection = connection
        self._base_url = connection.link.base_url.rstrip("/") + "/"
        # Whether a plain relative path may simply be appended (see _absolute): true for
        # every base URL in normal form, which urljoin leaves as it is.
        self._appendable = urljoin(self._base_url, "x") == self._base_url + "x"
        self._origin = _origin(self._base_url)
        self._token_lock = threading.Lock()
        self._access_token: str = connection.access_token
        self._expires_ts = _timestamp(connection.expires_at)
        self.headers["User-Agent"] = transport.USER_AGENT
        self.headers["Accept"] = "application/json"
        # The site's say (proxies, a client certificate, headers, hooks): CONFIGURE_SESSION.
        app_settings.CONFIGURE_SESSION(self, connection.link)
        # Then what is the app's, whatever the site set: the link's TLS settings win over
        # REQUESTS_CA_BUNDLE for every call to its origin, and no other credentials apply
        # (a ~/.netrc login, which requests uses only when no auth is set, never does).
        # Proxies and CA bundles from the environment apply, as to the token calls.
        transport.mount_link_adapter(self, self._base_url, transport.tls_verify(connection.link))
        self.auth = no_auth

    def __repr__(self) -> str:
        return f"<JiraSession connection={self._connection.pk} base_url={self._base_url!r}>"

    @property
    def connection(self) -> JiraConnection:
        return self._connection

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        url = self._absolute(url.decode() if isinstance(url, bytes) else url)
        kwargs.setdefault("timeout", app_settings.HTTP_TIMEOUT)
        ours = _origin(url) == self._origin
        if not ours:
            return super().request(method, url, *args, **kwargs)
        verb = method.decode() if isinstance(method, bytes) else method
        rewind = body_rewinder(kwargs)
        retries = 0
        may_refresh = True  # at most one 401-driven refresh per call
        while True:
            token = self._fresh_token()
            response = self._send(verb, url, token, *args, **kwargs)
            if may_refresh and ratelimit.rejects_token(response.status_code, response.headers):
                may_refresh = False
                retry_token, refreshed = self._token_after_rejection(
                    stale=token, hold_for=stormguard.hold_for(kwargs["timeout"])
                )
                if retry_token is None or rewind is None:
                    # Jira's answer stands (refreshes paused), or the body was read from a
                    # stream or generator and cannot be sent again: the token is fresh for
                    # the next call, and this one answers with Jira's rejection.
                    return response
                response.close()
                rewind()
                response = self._send(verb, url, retry_token, *args, **kwargs)
                if refreshed and ratelimit.rejects_token(response.status_code, response.headers):
                    stormguard.pause_refreshes(self._connection)
            status, headers = response.status_code, response.headers
            if status not in ratelimit.SLOW_DOWN or not ratelimit.is_rate_limited(status, headers):
                return response
            ratelimit.note_rate_limited(self._connection, verb, url, status, headers)
            wait = ratelimit.wait_before_retry(verb, status, headers, retries)
            if wait is None or rewind is None:
                return response
            response.close()
            rewind()
            ratelimit.sleep(wait)
            retries += 1

    def _send(
        self, method: str | bytes, url: str, token: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        headers["Authorization"] = f"Bearer {token}"
        kwargs["headers"] = headers
        try:
            return super().request(method, url, *args, **kwargs)
        except requests.exceptions.SSLError as err:
            raise JiraTLSError(describe_tls_failure(err, url)) from err

    def _absolute(self, url: str) -> str:
        """``url`` resolved against the base URL, exactly as ``urljoin`` resolves it.

        A plain path (no scheme, dot segments, ``//`` or parameters) is appended
        to the base URL without parsing it, which is what ``urljoin`` would
        return for it, at a fraction of the cost; anything else goes through
        ``urljoin``.
        """
        if self._appendable and is_plain_path(url):
            return self._base_url + url.lstrip("/")
        if urlsplit(url).scheme:
            return url
        return urljoin(self._base_url, url.lstrip("/"))

    def _fresh_token(self) -> str:
        if self._connection.status != ConnectionStatus.ACTIVE:
            # Known at no cost: the user must reconnect (Jira refused the grant, or staff
            # raised the link's scope). Same answer refresh_connection would give.
            raise ReauthorizationRequired(
                _("This Jira connection must be reconnected."),
                reconnect_url=self._connection.reconnect_url,
                connection=self._connection,
            )
        with self._token_lock:
            leeway = app_settings.REFRESH_LEEWAY
            expiring = self._expires_ts is not None and self._expires_ts - time.time() <= leeway
            if self._access_token and not expiring:
                return self._access_token
        return self._refreshed_token(stale=self._access_token)

    def _token_after_rejection(
        self, *, stale: str, hold_for: float | None
    ) -> tuple[str | None, bool]:
        """The token to retry with after Jira rejected ``stale`` (None: return Jira's answer),
        and whether it comes from a refresh asked for by this call, which holds 401-driven
        refreshes for ``hold_for`` seconds (``stormguard``)."""
        with self._token_lock:
            if self._access_token != stale:  # another thread of this session refreshed
                return self._access_token, False
        stored = stormguard.stored_token(self._connection)
        if stored.access_token and stored.access_token != stale:
            # Another worker refreshed: its token costs no refresh, paused or not.
            with self._token_lock:
                if self._access_token == stale:
                    self._access_token = stored.access_token
                    self._expires_ts = _timestamp(stored.expires_at)
                    self._connection.access_token = stored.access_token
                    self._connection.expires_at = stored.expires_at
                return self._access_token, False
        if stored.paused:
            return None, False
        token = self._refreshed_token(stale=stale, hold_for=hold_for)
        if token == stale:  # paused meanwhile: the engine decided under the row lock
            return None, False
        return token, True

    def _refreshed_token(self, *, stale: str, hold_for: float | None = None) -> str:
        with self._token_lock:
            if self._access_token != stale:  # another thread of this session refreshed
                return self._access_token
            connection = refreshing.refresh_connection(
                self._connection, stale_access_token=stale, hold_for=hold_for
            )
            self._access_token = str(connection.access_token)
            self._expires_ts = _timestamp(connection.expires_at)
            return self._access_token

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        """Drop the bearer token when a redirect leaves the link's origin.

        Replaces requests' own version, which would also apply a ~/.netrc login
        for the redirect's host over the bearer token.
        """
        if prepared_request.url and _origin(prepared_request.url) != self._origin:
            prepared_request.headers.pop("Authorization", None)


def _refuse_event_loop() -> None:
    """Refuse to be used from async code: the calls would block its event loop.

    ``DJANGO_ALLOW_ASYNC_UNSAFE`` lifts the refusal, as it lifts Django's own
    (a notebook, or a tool that keeps a loop running in the thread).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    if os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE"):
        return
    raise SyncSessionInAsyncContext(
        "connection.session() cannot be used while an event loop is running in this thread "
        "(async code): use `await connection.asession()` (an httpx.AsyncClient), or call "
        "session() inside sync_to_async()."
    )


def body_rewinder(kwargs: dict[str, Any]) -> Callable[[], None] | None:
    """How to send this request's body again after a 401, or None when it cannot be.

    Plain values (bytes, str, dicts, ``json=``) can be resent as they are;
    seekable files are rewound to where they started; generators and other
    one-shot streams cannot be replayed.
    """
    bodies: list[Any] = [kwargs.get("data")]
    files = kwargs.get("files")
    if files:
        values = files.values() if isinstance(files, dict) else [item[1] for item in files]
        for value in values:
            bodies.append(
                value[1] if isinstance(value, (tuple, list)) and len(value) > 1 else value
            )
    positions: list[tuple[Any, int]] = []
    for body in bodies:
        if body is None or isinstance(body, (str, bytes, bytearray, dict, list, tuple)):
            continue
        seek, tell = getattr(body, "seek", None), getattr(body, "tell", None)
        if seek is None or tell is None:
            return None
        try:
            # A stream that knows its position but cannot go back (a download's .raw) says so.
            if not getattr(body, "seekable", lambda: True)():
                return None
            positions.append((body, tell()))
        except (OSError, ValueError):
            return None

    def rewind() -> None:
        for body, position in positions:
            body.seek(position)

    return rewind


#: What makes a relative URL more than a path to append to the base URL: a scheme, dot
#: segments, ";" parameters, a fragment, empty segments, a trailing "?", or characters that
#: urlsplit strips or removes. Such URLs go through urljoin.
_NEEDS_URLJOIN = re.compile(r"[:.;\\#\x00-\x20\x7f]|//|\?$")


def is_plain_path(url: str) -> bool:
    """Whether ``url`` is a path (and query) that resolves against a base URL ending in "/" by
    being appended to it: what ``urljoin`` and httpx's ``base_url`` merge both give it, at a
    fraction of their cost. Both sessions use it for the paths callers pass."""
    return not _NEEDS_URLJOIN.search(url)


def _timestamp(moment: datetime | None) -> float | None:
    """Seconds since the epoch, to compare with ``time.time()`` at no cost per call."""
    return None if moment is None else moment.timestamp()


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
