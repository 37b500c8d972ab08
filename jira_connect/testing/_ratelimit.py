"""Jira Data Center's REST rate limiting: a token bucket per user, and how Jira answers over it.

Jira DC (8.6+), when an administrator turns rate limiting on, gives each user a bucket of
``capacity`` tokens ("Max requests"); every ``interval`` seconds ``fill_rate`` tokens are added
("Requests allowed"), up to the capacity; each REST call takes one. Answers carry
``X-RateLimit-Limit``, ``X-RateLimit-Remaining``, ``X-RateLimit-FillRate`` and
``X-RateLimit-Interval-Seconds``; over the limit Jira answers 429 with ``Retry-After`` (seconds
until the next tokens) and Tomcat's HTML error page. What integrators saw besides, each a switch
of the simulator: ``Retry-After: 0`` on a 429 (Jira 9.12), some headers missing, and gateways
answering an anonymous 401 instead of the 429.

Not thread-safe on its own: the simulator calls it with its lock held.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from jira_connect.testing import _pages
from jira_connect.testing._http import Response, html_response
from jira_connect.testing._models import SimulatorOptions
from jira_connect.testing._rest import unauthorized


@dataclass
class _Bucket:
    tokens: int
    filled_at: float  # the time of the last refill tick


@dataclass(frozen=True)
class Admission:
    """The limiter's verdict on one call: let through or not, and the headers to add."""

    allowed: bool
    headers: list[tuple[str, str]]
    retry_after: int


class RateLimiter:
    """One bucket per user key, on the simulator's clock (so ``advance()`` refills them)."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}

    def forget(self) -> None:
        self._buckets.clear()

    def admit(self, user_key: str, options: SimulatorOptions, now: float) -> Admission | None:
        """Take a token for ``user_key``; None when rate limiting is off."""
        capacity = options.rate_limit_capacity
        if capacity <= 0:
            return None
        interval, fill_rate = options.rate_limit_interval, options.rate_limit_fill_rate
        bucket = self._buckets.get(user_key)
        if bucket is None:
            bucket = self._buckets[user_key] = _Bucket(capacity, now)
        ticks = math.floor((now - bucket.filled_at) / interval)
        if ticks > 0:
            bucket.tokens = min(capacity, bucket.tokens + ticks * fill_rate)
            bucket.filled_at += ticks * interval
        bucket.tokens = min(bucket.tokens, capacity)  # the capacity may have been lowered
        allowed = bucket.tokens > 0
        if allowed:
            bucket.tokens -= 1
        wait = max(1, math.ceil(bucket.filled_at + interval - now))
        retry_after = 0 if options.rate_limit_retry_after_zero else wait
        headers: list[tuple[str, str]] = []
        if options.rate_limit_headers != "none":
            headers += [
                ("X-RateLimit-Limit", str(capacity)),
                ("X-RateLimit-Remaining", str(bucket.tokens)),
            ]
        if options.rate_limit_headers == "all":
            headers += [
                ("X-RateLimit-FillRate", str(fill_rate)),
                ("X-RateLimit-Interval-Seconds", str(interval)),
            ]
        return Admission(allowed, headers, retry_after)


def over_limit_response(admission: Admission, options: SimulatorOptions) -> Response:
    """What Jira (or its gateway) answers a call over the limit."""
    if options.rate_limit_anonymous_401:
        response = unauthorized()
        response.headers.append(("X-AUSERNAME", "anonymous"))
        return response
    return too_many_requests(
        admission.retry_after if options.rate_limit_headers != "none" else None,
        admission.headers,
    )


def too_many_requests(retry_after: int | None, headers: list[tuple[str, str]]) -> Response:
    """Tomcat's 429: an HTML page, ``Retry-After`` when given, and the rate-limit headers."""
    extra = list(headers)
    if retry_after is not None:
        extra.append(("Retry-After", str(retry_after)))
    return html_response(429, _pages.tomcat_status_page(429, "Too Many Requests"), *extra)


def service_unavailable(retry_after: int | None) -> Response:
    """A 503 from Jira or its proxy during maintenance, with ``Retry-After`` when given."""
    extra = [("Retry-After", str(retry_after))] if retry_after is not None else []
    return html_response(503, _pages.tomcat_status_page(503, "Service Unavailable"), *extra)
