"""Fixtures for the rate-limit tests: a connection made through the real flow, and waits that
move the simulator's clock instead of sleeping."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jira_connect import ratelimit
from jira_connect.testing import JiraDCSimulator, RequestRecord
from tests.flow.conftest import browser, jira, link, user  # noqa: F401
from tests.tokens.conftest import connection, expire, grant  # noqa: F401


@pytest.fixture(autouse=True)
def _new_bursts() -> Iterator[None]:
    """Each test starts outside any burst, so its first rate-limited answer warns."""
    ratelimit.forget_bursts()
    yield
    ratelimit.forget_bursts()


@pytest.fixture
def waits(jira: JiraDCSimulator, monkeypatch: pytest.MonkeyPatch) -> list[float]:  # noqa: F811
    """Every wait the session makes, in seconds; waiting moves the simulator's clock instead,
    so its buckets refill as they would have, and the test does not sleep."""
    seen: list[float] = []

    def wait(seconds: float) -> None:
        seen.append(seconds)
        jira.advance(seconds)

    monkeypatch.setattr(ratelimit, "sleep", wait)
    return seen


def limit(jira: JiraDCSimulator, capacity: int = 1, **switches: object) -> None:  # noqa: F811
    """Turn the simulator's rate limiter on (after connecting: the flow's identity call is not
    counted), with a fresh bucket per user."""
    jira.configure(rate_limit_capacity=capacity, **switches)


def api_records(jira: JiraDCSimulator) -> list[RequestRecord]:  # noqa: F811
    """The REST calls Jira received, after the connect flow's identity call."""
    return [record for record in jira.requests if record.target == "api"][1:]
