"""connection.session() under Jira's rate limits, against the simulator's limiter.

Waits are observed (and replaced by moving the simulator's clock) through the ``waits``
fixture; the request log's timestamps, on the simulator's clock, show the gaps Jira saw.
"""

from __future__ import annotations

import io
import itertools
import logging
from unittest import mock

import pytest
import requests
from django.test import override_settings

from jira_connect import ratelimit, signals
from jira_connect.models import JiraConnection
from tests.conftest import jira_connect_settings
from tests.ratelimit.conftest import api_records, limit

pytestmark = pytest.mark.django_db

ISSUE = "rest/api/2/issue/ACME-1"


def test_calls_over_the_limit_wait_and_get_through(connection, jira, waits) -> None:
    limit(jira, capacity=2, rate_limit_fill_rate=1, rate_limit_interval=1)
    session = connection.session()
    statuses = [session.get(ISSUE).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 200]
    assert [record.status for record in api_records(jira)] == [200, 200, 429, 200, 429, 200]
    assert waits == [1.0, 1.0]
    assert jira.token_requests(grant_type="refresh_token") == 0  # a 429 never refreshes


def test_retry_after_zero_still_waits_a_second(connection, jira, waits) -> None:
    limit(jira, capacity=1, rate_limit_interval=3, rate_limit_retry_after_zero=True)
    session = connection.session()
    assert session.get(ISSUE).status_code == 200
    assert session.get(ISSUE).status_code == 200
    records = api_records(jira)
    assert [record.status for record in records] == [200, 429, 429, 429, 200]
    assert waits == [1.0, 1.0, 1.0]
    # What Jira saw: every retry at least a second after the 429 before it.
    gaps = [after.time - before.time for before, after in itertools.pairwise(records)]
    assert all(gap >= 1.0 for gap in gaps[1:])


def test_retry_after_is_a_minimum_and_is_honoured(connection, jira, waits) -> None:
    limit(jira, capacity=1, rate_limit_interval=5)
    session = connection.session()
    session.get(ISSUE)
    response = session.get(ISSUE)
    assert response.status_code == 200
    assert waits == [5.0]


def test_retries_exhausted_return_jiras_429(connection, jira, waits) -> None:
    limit(jira, capacity=1, rate_limit_interval=3600, rate_limit_retry_after_zero=True)
    session = connection.session()
    session.get(ISSUE)
    response = session.get(ISSUE)
    assert response.status_code == 429
    assert "Too Many Requests" in response.text  # Tomcat's HTML page, handed over as it is
    assert response.headers["Content-Type"].startswith("text/html")
    assert len(api_records(jira)) == 1 + 3 + 1  # the first call, then RATE_LIMIT_RETRIES + 1
    assert waits == [1.0, 1.0, 1.0]
    assert jira.token_requests(grant_type="refresh_token") == 0
    assert JiraConnection.objects.get().status == JiraConnection.Status.ACTIVE


@pytest.mark.parametrize("retries", [1, 5])
def test_the_number_of_retries_is_the_setting(connection, jira, waits, retries) -> None:
    limit(jira, capacity=1, rate_limit_interval=3600, rate_limit_retry_after_zero=True)
    with override_settings(JIRA_CONNECT=jira_connect_settings(RATE_LIMIT_RETRIES=retries)):
        session = connection.session()
        session.get(ISSUE)
        assert session.get(ISSUE).status_code == 429
    assert len(api_records(jira)) == 1 + retries + 1
    assert len(waits) == retries


def test_retries_off(connection, jira, waits) -> None:
    limit(jira, capacity=1)
    with override_settings(JIRA_CONNECT=jira_connect_settings(RATE_LIMIT_RETRIES=0)):
        session = connection.session()
        session.get(ISSUE)
        assert session.get(ISSUE).status_code == 429
    assert len(api_records(jira)) == 2
    assert waits == []


def test_a_long_retry_after_is_answered_at_once(connection, jira, waits) -> None:
    limit(jira, capacity=1, rate_limit_interval=120)  # Retry-After: 120 > RATE_LIMIT_MAX_WAIT
    session = connection.session()
    session.get(ISSUE)
    response = session.get(ISSUE)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "120"
    assert waits == []
    assert len(api_records(jira)) == 2
    with override_settings(JIRA_CONNECT=jira_connect_settings(RATE_LIMIT_MAX_WAIT=120)):
        assert session.get(ISSUE).status_code == 200
    assert waits == [120.0]


def test_post_is_never_retried(connection, jira, waits) -> None:
    limit(jira, capacity=1, rate_limit_retry_after_zero=True)
    session = connection.session()
    session.get(ISSUE)
    response = session.post("rest/api/2/search", json={"jql": "project = ACME"})
    assert response.status_code == 429
    assert waits == []
    assert len(api_records(jira)) == 2


def test_503_with_retry_after_is_retried(connection, jira, waits) -> None:
    jira.inject("api", "unavailable", retry_after=2)
    response = connection.session().get(ISSUE)
    assert response.status_code == 200
    assert waits == [2.0]
    assert [record.status for record in api_records(jira)] == [503, 200]


def test_503_without_retry_after_is_not(connection, jira, waits) -> None:
    jira.inject("api", "unavailable")
    assert connection.session().get(ISSUE).status_code == 503
    assert waits == []


@pytest.mark.parametrize("headers", ["partial", "none"])
def test_missing_headers_are_not_an_error(connection, jira, waits, headers) -> None:
    limit(jira, capacity=1, rate_limit_headers=headers)
    session = connection.session()
    first = session.get(ISSUE)
    second = session.get(ISSUE)
    assert second.status_code == 200
    assert waits == [1.0]  # no Retry-After ("none"): the one-second minimum
    limits = ratelimit.rate_limit(first)
    assert limits.fill_rate is None
    assert limits.interval_seconds is None
    if headers == "partial":
        assert (limits.limit, limits.remaining) == (1, 0)
    else:
        assert not limits.present


def test_rate_limit_headers_are_readable_from_any_answer(connection, jira, waits) -> None:
    limit(jira, capacity=10, rate_limit_fill_rate=5, rate_limit_interval=2)
    response = connection.session().get(ISSUE)
    assert ratelimit.rate_limit(response) == ratelimit.RateLimit(
        limit=10, remaining=9, fill_rate=5, interval_seconds=2, retry_after=None
    )


def test_file_bodies_are_rewound_for_a_retry(connection, jira, waits) -> None:
    limit(jira, capacity=1)
    session = connection.session()
    session.get(ISSUE)
    body = io.BytesIO(b'{"fields": {"summary": "Renamed"}}')
    lengths: list[str] = []
    send = requests.adapters.HTTPAdapter.send

    def spy(adapter, request, *args, **kwargs):
        lengths.append(request.headers.get("Content-Length", ""))
        return send(adapter, request, *args, **kwargs)

    with mock.patch.object(requests.adapters.HTTPAdapter, "send", autospec=True, side_effect=spy):
        response = session.put(ISSUE, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 405  # the simulator edits no issue: Jira's answer all the same
    assert [record.status for record in api_records(jira)][-2:] == [429, 405]
    assert lengths == ["34", "34"]  # the whole body both times


def test_a_one_shot_body_is_not_retried(connection, jira, waits) -> None:
    limit(jira, capacity=1)
    session = connection.session()
    session.get(ISSUE)
    chunks = iter([b'{"fields": ', b'{"summary": "Renamed"}}'])
    response = session.put(ISSUE, data=chunks, headers={"Content-Type": "application/json"})
    assert response.status_code == 429
    assert waits == []


def test_one_warning_and_one_signal_per_burst(connection, jira, waits, caplog) -> None:
    limit(jira, capacity=1, rate_limit_retry_after_zero=True, rate_limit_interval=2)
    received: list[dict[str, object]] = []
    signals.rate_limited.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="rl")
    caplog.set_level(logging.DEBUG, logger=ratelimit.LOGGER_NAME)
    try:
        session = connection.session()
        for _ in range(3):
            assert session.get(ISSUE + "?fields=summary").status_code == 200
    finally:
        signals.rate_limited.disconnect(dispatch_uid="rl")
    records = [r for r in caplog.records if r.name == ratelimit.LOGGER_NAME]
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len([r for r in api_records(jira) if r.status == 429]) == 4
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert f"connection {connection.pk}" in message
    assert "GET " in message
    assert "/rest/api/2/issue/ACME-1 " in message
    assert "fields=summary" not in message  # no query string
    for record in records:
        assert connection.access_token not in record.getMessage()
        assert connection.refresh_token not in record.getMessage()
    assert len(received) == 1
    assert received[0]["connection"] is connection
    assert received[0]["status_code"] == 429
    rate_limit = received[0]["rate_limit"]
    assert isinstance(rate_limit, ratelimit.RateLimit)
    assert (rate_limit.limit, rate_limit.remaining, rate_limit.retry_after) == (1, 0, 0.0)


def test_a_new_burst_warns_again(connection, jira, waits, caplog, monkeypatch) -> None:
    limit(jira, capacity=1, rate_limit_interval=3600)
    session = connection.session()
    session.get(ISSUE)
    clock = [1000.0]
    monkeypatch.setattr("jira_connect.ratelimit.time.monotonic", lambda: clock[0])
    with caplog.at_level(logging.WARNING, logger=ratelimit.LOGGER_NAME):
        session.get(ISSUE)
        clock[0] += ratelimit.BURST_QUIET_SECONDS - 1
        session.get(ISSUE)
        clock[0] += ratelimit.BURST_QUIET_SECONDS + 1
        session.get(ISSUE)
    assert len([r for r in caplog.records if r.name == ratelimit.LOGGER_NAME]) == 2


def test_another_hosts_answers_are_not_retried(connection, jira, waits) -> None:
    """Only calls to the link's own origin are Jira's: a 429 from elsewhere goes back as it is."""
    import responses

    with responses.RequestsMock() as mocked:
        mocked.add(
            "GET", "https://elsewhere.example.com/x", status=429, headers={"Retry-After": "1"}
        )
        assert connection.session().get("https://elsewhere.example.com/x").status_code == 429
        assert len(mocked.calls) == 1
    assert waits == []
