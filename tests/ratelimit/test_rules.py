"""The rules of jira_connect.ratelimit on their own: Retry-After, the headers, the decision,
and the two settings."""

from __future__ import annotations

import email.utils

import pytest
from django.test import override_settings
from requests.structures import CaseInsensitiveDict

from jira_connect.conf import DEFAULTS, app_settings
from jira_connect.ratelimit import RateLimit, parse_retry_after, wait_before_retry
from tests.conftest import jira_connect_settings

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("30", 30.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        (email.utils.formatdate(NOW + 42, usegmt=True), 42.0),
        (email.utils.formatdate(NOW - 42, usegmt=True), 0.0),  # in the past: at once
        (None, None),
        ("", None),
        ("soon", None),
        ("-1", None),
        ("1e3", None),
        ("٣", None),  # a digit, but not an ASCII one
        ("Wed, 99 Foo 2026 25:61:00 GMT", None),
        ("Wed, 02 Dec 2026 03:10:00 -0000", None),  # no time zone
    ],
)
def test_parse_retry_after(value, seconds) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_rate_limit_headers() -> None:
    headers = CaseInsensitiveDict(
        {
            "x-ratelimit-limit": "100",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-FillRate": "10",
            "X-RateLimit-Interval-Seconds": "1",
            "Retry-After": "0",
        }
    )
    limits = RateLimit.from_headers(headers)
    assert limits == RateLimit(
        limit=100, remaining=0, fill_rate=10, interval_seconds=1, retry_after=0.0
    )
    assert limits.present
    assert limits.describe() == "limit 100, 0 left, 10 every 1 s, Retry-After 0 s"


def test_absent_or_garbled_headers_are_none() -> None:
    limits = RateLimit.from_headers(
        CaseInsensitiveDict({"X-RateLimit-Limit": "lots", "X-RateLimit-Remaining": "-3"})
    )
    assert limits == RateLimit()
    assert not limits.present
    assert limits.describe() == "no rate-limit headers"


def answer(status: int, retry_after: str | None = None) -> CaseInsensitiveDict[str]:
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return headers


@pytest.mark.parametrize(
    ("method", "status", "retry_after", "done", "wait"),
    [
        ("GET", 429, "0", 0, 1.0),
        ("get", 429, "0", 0, 1.0),
        ("HEAD", 429, None, 0, 1.0),
        ("OPTIONS", 429, "3", 0, 3.0),
        ("PUT", 429, "0.2", 0, 1.0),
        ("DELETE", 429, "60", 0, 60.0),
        ("GET", 429, "61", 0, None),  # longer than RATE_LIMIT_MAX_WAIT: answered at once
        ("GET", 429, "0", 2, 1.0),
        ("GET", 429, "0", 3, None),  # RATE_LIMIT_RETRIES done
        ("POST", 429, "0", 0, None),
        ("PATCH", 429, "0", 0, None),
        ("GET", 503, "5", 0, 5.0),
        ("GET", 503, None, 0, None),
        ("GET", 503, "later", 0, None),
        ("GET", 500, "5", 0, None),
        ("GET", 502, "5", 0, None),
        ("GET", 401, "5", 0, None),
        ("GET", 200, "0", 0, None),
    ],
)
def test_wait_before_retry(method, status, retry_after, done, wait) -> None:
    assert wait_before_retry(method, status, answer(status, retry_after), done) == wait


@override_settings(JIRA_CONNECT={})
def test_defaults() -> None:
    assert DEFAULTS["RATE_LIMIT_RETRIES"] == app_settings.RATE_LIMIT_RETRIES == 3
    assert DEFAULTS["RATE_LIMIT_MAX_WAIT"] == app_settings.RATE_LIMIT_MAX_WAIT == 60.0


def test_settings_are_read_live() -> None:
    with override_settings(
        JIRA_CONNECT=jira_connect_settings(RATE_LIMIT_RETRIES=0, RATE_LIMIT_MAX_WAIT=1.5)
    ):
        assert app_settings.RATE_LIMIT_RETRIES == 0
        assert app_settings.RATE_LIMIT_MAX_WAIT == 1.5
        assert wait_before_retry("GET", 429, answer(429, "0"), 0) is None


def test_a_bad_value_is_a_system_check_error() -> None:
    from django.core.checks import run_checks

    with override_settings(JIRA_CONNECT=jira_connect_settings(RATE_LIMIT_MAX_WAIT=0)):
        errors = [m for m in run_checks() if m.id == "jira_connect.E002"]
    assert any("RATE_LIMIT_MAX_WAIT" in m.msg for m in errors)
