"""Jira's rate limits: when to retry, how long to wait, and how to tell operators.

Jira Data Center limits REST calls per user with a token bucket. Over the
limit it answers 429, often with ``Retry-After: 0`` (Jira 9.12) and Tomcat's
HTML error page, and with ``X-RateLimit-*`` headers that are not always all
there. The rules, from DESIGN §2:

- only idempotent methods are retried (GET, HEAD, OPTIONS, PUT, DELETE);
  POST and PATCH never are;
- a 429 is always retryable, a 503 only when it carries ``Retry-After``;
- the wait is ``max(1, Retry-After)`` seconds: ``Retry-After`` is a minimum
  and ``0`` does not mean "at once" (a tight loop against an overloaded Jira);
- a wait longer than ``RATE_LIMIT_MAX_WAIT`` is not waited: Jira's answer goes
  back at once, so no web request or worker is held for minutes;
- at most ``RATE_LIMIT_RETRIES`` retries, then Jira's answer goes back.

This module knows no transport: ``JiraSession`` (requests) and the async
session (httpx) both ask it, so both follow the same rules. It also keeps,
per process, which connections are in a burst of rate-limited answers, to
warn once per burst (logger ``jira_connect.ratelimit``) and send
``signals.rate_limited``.

Why not urllib3's ``Retry`` (it honours ``Retry-After``): it treats
``Retry-After: 0`` as no header and retries at once (its first backoff is 0);
it sleeps whatever ``Retry-After`` says up to ``retry_after_max`` (6 hours by
default) instead of answering at once beyond a cap; it raises on a
``Retry-After`` it cannot parse; and it retries inside the transport adapter,
where the session cannot warn, signal, keep a 429 from counting as a rejected
token, or share the rules with httpx. The rules are a few lines; this is them.
"""

from __future__ import annotations

import email.utils
import logging
import math
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jira_connect import signals
from jira_connect.conf import app_settings

if TYPE_CHECKING:
    from jira_connect.models import JiraConnection

#: The logger of rate-limit bursts and storm-guard trips, for operators' alerts.
LOGGER_NAME = "jira_connect.ratelimit"
logger = logging.getLogger(LOGGER_NAME)

#: Methods whose retry cannot do a thing twice.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

#: The shortest wait before a retry, whatever ``Retry-After`` says.
MIN_WAIT = 1.0

#: A connection's burst ends when no rate-limited answer came for this long.
BURST_QUIET_SECONDS = 60.0

_DELTA_SECONDS = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*$", re.ASCII)
_INTEGER = re.compile(r"^\s*([0-9]{1,18})\s*$", re.ASCII)


def sleep(seconds: float) -> None:
    """Wait before a retry. The one place the sync session waits: tests patch it."""
    time.sleep(seconds)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds that ``Retry-After`` asks for, or None when absent or unreadable.

    Takes delta-seconds (``"30"``, also ``"1.5"`` which some gateways send)
    or an HTTP date (``"Wed, 02 Dec 2026 03:10:00 GMT"``); a date in the past
    is 0. ``now`` (a Unix time) is for tests.
    """
    if value is None:
        return None
    match = _DELTA_SECONDS.match(value)
    if match:
        seconds = float(match.group(1))
        return seconds if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" or an obsolete zone: RFC 9110 dates are GMT
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


@dataclass(frozen=True)
class RateLimit:
    """What Jira said about a user's rate limit on one answer; None where it said nothing.

    ``limit`` is the bucket's size (``X-RateLimit-Limit``), ``remaining`` the
    tokens left (``X-RateLimit-Remaining``), ``fill_rate`` the tokens added
    every ``interval_seconds`` (``X-RateLimit-FillRate``,
    ``X-RateLimit-Interval-Seconds``), ``retry_after`` the seconds
    ``Retry-After`` asks for.
    """

    limit: int | None = None
    remaining: int | None = None
    fill_rate: int | None = None
    interval_seconds: int | None = None
    retry_after: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit:
        """Read the headers of an answer (a case-insensitive mapping: requests' or httpx's).

        A missing or unreadable header is None, never an error.
        """
        return cls(
            limit=_integer(headers.get("X-RateLimit-Limit")),
            remaining=_integer(headers.get("X-RateLimit-Remaining")),
            fill_rate=_integer(headers.get("X-RateLimit-FillRate")),
            interval_seconds=_integer(headers.get("X-RateLimit-Interval-Seconds")),
            retry_after=parse_retry_after(headers.get("Retry-After")),
        )

    @property
    def present(self) -> bool:
        """Whether Jira sent any of these headers at all."""
        return any(value is not None for value in vars(self).values())

    def describe(self) -> str:
        """A short phrase for logs: "limit 100, 0 left, 10 every 1 s, Retry-After 0 s"."""
        parts = []
        if self.limit is not None:
            parts.append(f"limit {self.limit}")
        if self.remaining is not None:
            parts.append(f"{self.remaining} left")
        if self.fill_rate is not None and self.interval_seconds is not None:
            parts.append(f"{self.fill_rate} every {self.interval_seconds} s")
        if self.retry_after is not None:
            parts.append(f"Retry-After {self.retry_after:g} s")
        return ", ".join(parts) or "no rate-limit headers"


def rate_limit(response: Any) -> RateLimit:
    """The ``RateLimit`` of a ``requests`` or ``httpx`` response from Jira."""
    return RateLimit.from_headers(response.headers)


def _integer(value: str | None) -> int | None:
    if value is None:
        return None
    match = _INTEGER.match(value)
    return int(match.group(1)) if match else None


#: Answers that may be a rate limit (a 503 only with ``Retry-After``): a quick test before
#: ``is_rate_limited``, and never a rejected token.
SLOW_DOWN = frozenset({429, 503})


def rejects_token(status: int, headers: Mapping[str, str]) -> bool:
    """Jira did not take the token: a 401, or an answer made anonymously.

    A rate-limited answer is never a rejected token, even when made anonymously
    (Jira answers rate-limited calls so): the sessions must not refresh for it.
    """
    if status == 401:
        return True
    if status in SLOW_DOWN:
        return False
    anonymous: str = headers.get("X-AUSERNAME", "")
    return anonymous.lower() == "anonymous"


def is_rate_limited(status: int, headers: Mapping[str, str]) -> bool:
    """A 429, or a 503 with ``Retry-After``: Jira (or its proxy) asks the caller to slow down."""
    return status == 429 or (status == 503 and headers.get("Retry-After") is not None)


def wait_before_retry(
    method: str, status: int, headers: Mapping[str, str], retries_done: int
) -> float | None:
    """Seconds to wait before retrying this answer, or None to hand it to the caller.

    Reads ``RATE_LIMIT_RETRIES`` and ``RATE_LIMIT_MAX_WAIT`` only for an
    answer that is rate-limited, so successful calls pay nothing for them.
    """
    if not is_rate_limited(status, headers) or method.upper() not in IDEMPOTENT_METHODS:
        return None
    if retries_done >= app_settings.RATE_LIMIT_RETRIES:
        return None
    asked = parse_retry_after(headers.get("Retry-After"))
    if status == 503 and asked is None:  # an unreadable Retry-After is no Retry-After
        return None
    wait = max(MIN_WAIT, asked or 0.0)
    if wait > app_settings.RATE_LIMIT_MAX_WAIT:
        return None
    return wait


# --- one warning per burst ------------------------------------------------------------------------

_bursts: dict[int, float] = {}  # connection pk -> monotonic time of its last rate-limited answer
_bursts_lock = threading.Lock()


def note_rate_limited(
    connection: JiraConnection, method: str, url: str, status: int, headers: Mapping[str, str]
) -> None:
    """Record a rate-limited answer; the first of a burst is logged and signalled.

    A burst is a run of rate-limited answers for one connection with gaps
    shorter than ``BURST_QUIET_SECONDS``, counted per process. The warning
    names the connection, the method, the path and the headers, never a token
    or a query string (which may hold a search).
    """
    now = time.monotonic()
    with _bursts_lock:
        last = _bursts.get(connection.pk)
        _bursts[connection.pk] = now
        if len(_bursts) > 10000:  # forget ended bursts so a long-lived process stays small
            for pk, seen in list(_bursts.items()):
                if now - seen > BURST_QUIET_SECONDS:
                    del _bursts[pk]
    limits = RateLimit.from_headers(headers)
    if last is not None and now - last <= BURST_QUIET_SECONDS:
        logger.debug(
            "Jira rate-limited connection %s again (HTTP %s, %s)",
            connection.pk,
            status,
            limits.describe(),
        )
        return
    logger.warning(
        "Jira rate-limited connection %s: HTTP %s to %s %s (%s); further rate-limited answers "
        "in this burst are logged at DEBUG",
        connection.pk,
        status,
        method.upper(),
        _path(url),
        limits.describe(),
    )
    signals.rate_limited.send(
        sender=type(connection), connection=connection, status_code=status, rate_limit=limits
    )


def _path(url: str) -> str:
    return url.split("?", 1)[0].split("#", 1)[0]


def forget_bursts() -> None:
    """Forget every burst (for tests: the next rate-limited answer warns again)."""
    with _bursts_lock:
        _bursts.clear()
