"""One bounded, redirect-free HTTP exchange with Jira, and the words for what went wrong.

Used by ``jira_connect.oauth`` for the token and identity calls; ``jira_connect.session``
borrows its no-credentials auth and its words for a failure. Every call here:

- uses the caller's timeout and the link's TLS verification (``transport``);
- follows no redirect (a 3xx comes back as the response);
- reads at most ``max_bytes + 1`` bytes of the body, from a response hook, so
  requests never reads an unbounded body behind our back (it does read the
  body of a redirect response it will not follow);
- turns every requests failure into ``JiraUnavailable`` with a sentence a
  person can act on, after stripping the request body and credentials from
  the original exception, which stays chained as ``__cause__``;
- runs on a session of its own that keeps no cookie, or, inside
  ``keeping_connections()`` and unless the site configures sessions
  (``CONFIGURE_SESSION``), on the thread's session for that origin, so a
  worker's calls share a kept-alive connection.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import urllib3.exceptions

from jira_connect._environment import EnvironmentOnce
from jira_connect.conf import Timeout
from jira_connect.exceptions import JiraUnavailable
from jira_connect.transport import Verify, mount_link_adapter, origin_prefix

REDACTED = "[redacted]"
_SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]+")
_CONNECTION_PREFIX = re.compile(r"^<?[\w.]*(?:Connection|Pool)[^:]*:\s*")


class ResponseTooLarge(Exception):
    """Jira's answer is bigger than the configured limit (raised inside requests' hook)."""

    def __init__(self, response: requests.Response, limit: int) -> None:
        self.status_code = response.status_code
        self.limit = limit
        super().__init__(f"response larger than {limit} bytes")


def no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Session auth that adds nothing, so requests never applies credentials from ~/.netrc."""
    return request


def send(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    verify: Verify,
    timeout: Timeout,
    max_bytes: int,
    data: bytes | None = None,
    configure: Callable[[requests.Session], None] | None = None,
    what: str,
) -> requests.Response:
    """Send one request and return the response with its (bounded) body already read.

    ``what`` names the exchange for error messages ("the token request").
    ``configure`` is the site's ``CONFIGURE_SESSION`` for the link; what it sets
    stays unless it is what this function owns (TLS for the origin, auth,
    redirects, the bounded read, which runs before the site's response hooks).
    A session the site configures is its link's alone: it is never kept.
    Raises ``JiraUnavailable`` for every transport failure and oversized body.
    """

    def read_bounded(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        _read_bounded(response, max_bytes)
        return response

    kept: dict[tuple[str, Verify], requests.Session] | None = getattr(_kept, "sessions", None)
    if kept is None or configure is not None:
        with _session(url, verify, configure) as session:
            return _send(session, method, url, headers, timeout, data, what, read_bounded)
    key = (origin_prefix(url), verify)
    session = kept.get(key) or _keep(kept, key, _session(url, verify))
    return _send(session, method, url, headers, timeout, data, what, read_bounded)


#: A cookie policy that accepts no cookie: see ``_session``.
_NO_COOKIES = http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
#: ``keeping_connections()``: this thread's sessions, by origin and TLS verification.
_kept = threading.local()
#: Sessions a thread keeps at most; past that, the oldest is closed.
MAX_KEPT_SESSIONS = 16


@contextmanager
def keeping_connections() -> Iterator[None]:
    """Within the block, this thread's calls to one origin share a session and its connections.

    For a thread that makes many calls to Jira in a row (a worker of ``jira_connect_refresh``):
    each call otherwise opens a TCP (and TLS) connection of its own and builds a session. A
    kept-alive connection is used again only while it stays open: urllib3 checks that it was
    not closed before it sends on it, and opens a new one if it was. The sessions read the
    environment (proxies, CA bundle) once, when they are made. Everything is closed when the
    block ends; a block inside another shares the outer one's sessions.
    """
    if getattr(_kept, "sessions", None) is not None:
        yield
        return
    _kept.sessions = {}
    try:
        yield
    finally:
        sessions, _kept.sessions = _kept.sessions, None
        for session in sessions.values():
            session.close()


def _keep(
    kept: dict[tuple[str, Verify], requests.Session],
    key: tuple[str, Verify],
    session: requests.Session,
) -> requests.Session:
    if len(kept) >= MAX_KEPT_SESSIONS:
        kept.pop(next(iter(kept))).close()
    kept[key] = session
    return session


def _session(
    url: str, verify: Verify, configure: Callable[[requests.Session], None] | None = None
) -> requests.Session:
    session = EnvironmentOnce()
    if configure is not None:
        configure(session)
    session.auth = no_auth
    # Each call stands alone, kept session or not: no cookie Jira sets on one answer (a Tomcat
    # session, of another user's grant) goes out with the next call.
    session.cookies.set_policy(_NO_COOKIES)
    mount_link_adapter(session, url, verify)
    return session


def _send(
    session: requests.Session,
    method: str,
    url: str,
    headers: Mapping[str, str],
    timeout: Timeout,
    data: bytes | None,
    what: str,
    read_bounded: Callable[..., requests.Response],
) -> requests.Response:
    try:
        return session.request(
            method,
            url,
            headers=dict(headers),
            data=data,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
            # A request's own hooks replace the session's in requests: keep the site's, after ours.
            hooks={"response": [read_bounded, *session.hooks.get("response", [])]},
        )
    except ResponseTooLarge as err:
        raise JiraUnavailable(
            f"Jira's answer to {what} is larger than {err.limit} bytes "
            f"(HTTP {err.status_code}): is something other than Jira answering at {origin(url)}?",
            status_code=err.status_code,
        ) from err
    except requests.RequestException as err:
        _sanitize(err)
        raise JiraUnavailable(describe_failure(err, url, timeout, what)) from err
    except (ValueError, UnicodeError):
        # requests works out a redirect's target even when it will not follow it, and a
        # garbled Location header (bad bytes, a broken IPv6 host) fails there.
        raise JiraUnavailable(
            f"Jira answered {what} with a redirect to an invalid address: is something other "
            f"than Jira answering at {origin(url)}?"
        ) from None


def _read_bounded(response: requests.Response, limit: int) -> None:
    """Read at most ``limit + 1`` bytes of the body into ``response``, or raise ResponseTooLarge."""
    try:
        declared = response.headers.get("Content-Length", "").strip()
        # isascii(): str.isdigit() also accepts "²", which int() refuses.
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            raise ResponseTooLarge(response, limit)
        try:
            body = response.raw.read(limit + 1, decode_content=True) if response.raw else b""
        except urllib3.exceptions.ReadTimeoutError as err:
            raise requests.exceptions.ReadTimeout(err, request=response.request) from err
        except urllib3.exceptions.SSLError as err:
            raise requests.exceptions.SSLError(err, request=response.request) from err
        except urllib3.exceptions.DecodeError as err:
            raise requests.exceptions.ContentDecodingError(err, request=response.request) from err
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise requests.exceptions.ChunkedEncodingError(err, request=response.request) from err
        if len(body) > limit:
            raise ResponseTooLarge(response, limit)
    finally:
        response.close()
    response._content = body
    # Declared by requests itself but not by its type stubs.
    object.__setattr__(response, "_content_consumed", True)


def _sanitize(err: requests.RequestException) -> None:
    """Drop the body and credentials of the request a requests exception carries."""
    if err.request is not None:
        err.request = redacted_request(err.request)
    if err.response is not None:
        redact_response(err.response)


def redacted_request(
    request: requests.PreparedRequest | requests.Request,
) -> requests.PreparedRequest:
    """A copy of ``request`` without body and with credential headers replaced."""
    copy = requests.PreparedRequest()
    copy.method = request.method
    copy.url = request.url if isinstance(request.url, str) else None
    copy.headers = requests.structures.CaseInsensitiveDict(
        {
            name: (REDACTED if name.lower() in _SENSITIVE_HEADERS else value)
            for name, value in (request.headers or {}).items()
        }
    )
    copy.body = None
    return copy


def redact_response(response: requests.Response) -> None:
    """Replace ``response.request`` with a copy that holds no credential or body."""
    if response.request is not None:
        response.request = redacted_request(response.request)


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], "", "", ""))


def describe_failure(err: requests.RequestException, url: str, timeout: Timeout, what: str) -> str:
    where = origin(url)
    connect_timeout, read_timeout = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    if isinstance(err, requests.exceptions.SSLError):
        return describe_tls_failure(err, url)
    if isinstance(err, requests.exceptions.ConnectTimeout):
        return f"Could not connect to Jira at {where} within {connect_timeout:g} s."
    if isinstance(err, requests.exceptions.Timeout):
        return f"Jira at {where} did not answer {what} within {read_timeout:g} s."
    if isinstance(err, requests.exceptions.ProxyError):
        return f"Could not reach Jira at {where} through the HTTP proxy: {_reason(err)}."
    if isinstance(
        err, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
    ):
        return f"Jira's answer to {what} from {where} was cut off or could not be decoded: {_reason(err)}."
    if isinstance(err, requests.exceptions.ConnectionError):
        return f"Could not connect to Jira at {where}: {_reason(err)}."
    return f"Could not send {what} to Jira at {where}: {type(err).__name__}: {_reason(err)}."


def describe_tls_failure(err: requests.exceptions.SSLError, url: str) -> str:
    """What to configure on the link when Jira's certificate is refused: the same words for
    the token calls and for the calls through ``connection.session()``."""
    return (
        f"TLS verification failed for Jira at {origin(url)} ({_reason(err)}). If Jira's "
        "certificate comes from a private CA, configure that CA bundle for this link."
    )


def _reason(err: BaseException) -> str:
    """The innermost human part of a requests/urllib3 error, without pool boilerplate."""
    reason: object = err
    for _ in range(5):
        args = getattr(reason, "args", ())
        inner = getattr(reason, "reason", None)
        if isinstance(inner, BaseException):
            reason = inner
        elif args and isinstance(args[0], BaseException):
            reason = args[0]
        else:
            break
    text = _CONNECTION_PREFIX.sub("", str(reason)) or type(reason).__name__
    return clean_text(text, limit=200)


def clean_text(text: str, *, limit: int = 300, redact: Iterable[str] = ()) -> str:
    """One line of at most ``limit`` characters with every secret replaced."""
    for secret in redact:
        if secret:
            text = text.replace(secret, REDACTED)
    text = " ".join(_UNPRINTABLE.sub(" ", text).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def json_object(response: requests.Response) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one."""
    content = response.content or b""
    try:
        value = json.loads(content)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, absurd nesting
        return None
    return value if isinstance(value, dict) else None


def describe_body(response: requests.Response) -> str:
    """Say what Jira sent instead of a JSON object ("an HTML page (HTTP 502) instead of JSON...")."""
    status = response.status_code
    content_type = response.headers.get("Content-Type", "")
    body = (response.content or b"").lstrip()
    if "html" in content_type.lower() or body[:1] == b"<":
        return (
            f"an HTML page (HTTP {status}) instead of JSON: is a proxy or SSO page in front of "
            "the base URL?"
        )
    if not body:
        return f"an empty body (HTTP {status}) instead of JSON"
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        kind = clean_text(content_type, limit=80) or "no content type"
        return f"a body that is not valid JSON (HTTP {status}, {kind})"
    return f"JSON that is not an object (HTTP {status})"


def describe_redirect(response: requests.Response, what: str) -> str:
    """Explain a 3xx: almost always a wrong base URL or a login page in front of Jira."""
    location = response.headers.get("Location", "")
    to = ""
    if location:
        try:
            target = urlsplit(urljoin(response.url or "", location))
            # Drop the query: SSO redirects carry request tokens there.
            shown = clean_text(
                urlunsplit((target.scheme, target.netloc, target.path, "", "")), limit=200
            )
            to = f" to {shown}"
        except (ValueError, UnicodeError):
            to = " to an invalid address"
    return (
        f"Jira redirected {what} (HTTP {response.status_code}){to}: the base URL is probably "
        "wrong (http instead of https, or a missing or extra context path), or a proxy or SSO "
        "page is in front of Jira."
    )


def detail(payload: Mapping[str, Any] | None, *, redact: Iterable[str] = ()) -> str:
    """The human part of a Jira or OAuth error body, or ""."""
    if not payload:
        return ""
    candidates: list[object] = [
        payload.get("error_description"),
        payload.get("message"),
        payload.get("errorMessage"),
    ]
    messages = payload.get("errorMessages")
    if isinstance(messages, list) and messages:
        candidates.append(messages[0])
    candidates.append(payload.get("error"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return clean_text(candidate, redact=redact)
    return ""
