"""The recipes under Jira's rate limits: one layer retries, the session; retries never multiply.

atlassian-python-api retries a 429 that has a ``Retry-After`` once more by itself
(``retry_with_header=True``, its default), sleeping whatever the header says (``0`` included),
and retries with backoff when ``backoff_and_retry`` is on: the recipe turns the first off and
leaves the second off. jira's own retries live in its ``ResilientSession``, which the recipe
replaces. The simulator's limiter plays Jira DC; the session's waits move its clock.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from jira_connect.models import JiraConnection
from tests.flow.conftest import browser, jira, link, user  # noqa: F401
from tests.ratelimit.conftest import _new_bursts, api_records, limit, waits  # noqa: F401
from tests.recipes.test_recipes import atlassian_jira, jira_client
from tests.tokens.conftest import connection  # noqa: F401

pytestmark = pytest.mark.django_db

EXHAUSTED = {"rate_limit_interval": 3600, "rate_limit_retry_after_zero": True}


def statuses(sim: Any) -> list[int | None]:
    return [record.status for record in api_records(sim)]


@pytest.mark.usefixtures("atlassian")
def test_atlassian_python_api_waits_through_the_limit(connection, jira, waits) -> None:  # noqa: F811
    limit(jira, capacity=2, rate_limit_retry_after_zero=True)
    client = atlassian_jira(connection)
    for _ in range(4):
        assert client.issue("ACME-1")["key"] == "ACME-1"
    assert statuses(jira) == [200, 200, 429, 200, 429, 200]
    assert waits == [1.0, 1.0]  # the session's, never atlassian's zero-second sleep
    assert jira.token_requests(grant_type="refresh_token") == 0


@pytest.mark.usefixtures("atlassian")
def test_atlassian_python_api_does_not_multiply_retries(connection, jira, waits) -> None:  # noqa: F811
    limit(jira, **EXHAUSTED)
    client = atlassian_jira(connection)
    client.issue("ACME-1")
    with pytest.raises(requests.HTTPError):
        client.issue("ACME-1")
    assert len(api_records(jira)) == 1 + 3 + 1  # RATE_LIMIT_RETRIES + 1, as without the library


@pytest.mark.usefixtures("atlassian")
def test_atlassian_python_api_defaults_would_multiply_them(connection, jira, waits) -> None:  # noqa: F811
    """Why the recipe passes ``retry_with_header=False``: left on, a 429 the session gave up on
    is sent again by the library, and the session retries it again."""
    from atlassian import Jira  # type: ignore[import-not-found, unused-ignore]

    limit(jira, **EXHAUSTED)
    client = Jira(url=connection.link.base_url, session=connection.session(), timeout=10)
    client.issue("ACME-1")
    with pytest.raises(requests.HTTPError):
        client.issue("ACME-1")
    assert len(api_records(jira)) == 1 + 2 * (3 + 1)


@pytest.fixture
def atlassian() -> None:
    pytest.importorskip("atlassian", reason="the recipes extra is not installed")


@pytest.fixture
def pycontribs_jira() -> None:
    pytest.importorskip("jira", reason="the recipes extra is not installed")


@pytest.mark.usefixtures("pycontribs_jira")
def test_jira_waits_through_the_limit(connection, jira, waits) -> None:  # noqa: F811
    client = jira_client(connection)  # asks serverInfo, anonymously: not counted by Jira
    limit(jira, capacity=2, rate_limit_retry_after_zero=True)
    for _ in range(4):
        assert client.issue("ACME-1").key == "ACME-1"
    assert statuses(jira)[-6:] == [200, 200, 429, 200, 429, 200]
    assert waits == [1.0, 1.0]


@pytest.mark.usefixtures("pycontribs_jira")
def test_jira_does_not_multiply_retries(connection, jira, waits) -> None:  # noqa: F811
    JIRAError = pytest.importorskip("jira.exceptions").JIRAError

    client = jira_client(connection)
    limit(jira, **EXHAUSTED)
    before = len(api_records(jira))
    client.issue("ACME-1")
    with pytest.raises(JIRAError) as info:
        client.issue("ACME-1")
    assert info.value.status_code == 429
    assert len(api_records(jira)) - before == 1 + 3 + 1
    assert JiraConnection.objects.get().status == JiraConnection.Status.ACTIVE
