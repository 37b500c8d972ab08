"""jira_connect.tasks in Celery's eager mode (any database): what is refreshed, and each outcome."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

pytest.importorskip("celery", reason="the celery extra is not installed")

from jira_connect import tasks
from jira_connect.models import JiraConnection
from tests.celery.app import app
from tests.flow.conftest import jira, link  # noqa: F401
from tests.tokens.conftest import grant  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def eager(settings) -> Iterator[Any]:
    """Tasks run in the calling thread; no broker, no result backend."""
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    # Retries run at once in eager mode: no cool-down, or the retry would not ask Jira.
    settings.JIRA_CONNECT = {**settings.JIRA_CONNECT, "REFRESH_RETRY_AFTER": 0}
    yield app
    app.conf.task_always_eager = saved


def test_the_tasks_are_registered_under_their_documented_names() -> None:
    assert {
        "jira_connect.tasks.refresh_due_connections",
        "jira_connect.tasks.refresh_connection",
    } <= set(app.tasks)


def test_refreshes_what_is_due_and_only_that(grant, jira) -> None:  # noqa: F811
    soon = grant(expires_in=timedelta(minutes=2))
    expired = grant(expires_in=timedelta(minutes=-5))
    idle = grant(last_refreshed_at=timezone.now() - timedelta(days=40))
    fresh = grant()
    broken = grant(expires_in=timedelta(minutes=-5), status=JiraConnection.Status.REAUTH_REQUIRED)
    before = {c.pk: c.access_token for c in JiraConnection.objects.all()}

    assert tasks.refresh_due_connections.delay().get() == 3

    assert jira.token_requests(grant_type="refresh_token") == 3
    after = {c.pk: c for c in JiraConnection.objects.all()}
    for connection in (soon, expired, idle):
        assert after[connection.pk].access_token != before[connection.pk]
        assert jira.is_valid_access_token(after[connection.pk].access_token)
    for connection in (fresh, broken):
        assert after[connection.pk].access_token == before[connection.pk]
    assert tasks.refresh_due_connections.delay().get() == 0


def test_arguments_reach_due_connections(grant, jira, link) -> None:  # noqa: F811
    grant(last_refreshed_at=timezone.now() - timedelta(days=40))
    grant(expires_in=timedelta(minutes=20))
    assert tasks.refresh_due_connections.delay(idle_days=0).get() == 0
    assert tasks.refresh_due_connections.delay(tenant="someone-else").get() == 0
    assert tasks.refresh_due_connections.delay(link="another-link").get() == 0
    assert tasks.refresh_due_connections.delay(within=1800, idle_days=0, link=link.slug).get() == 1
    assert tasks.refresh_due_connections.delay(idle_days=30, tenant="").get() == 1
    assert jira.token_requests(grant_type="refresh_token") == 2


def test_outcomes(grant, jira) -> None:  # noqa: F811
    due = grant(expires_in=timedelta(minutes=-5))
    assert tasks.refresh_connection.delay(due.pk).get() == "refreshed"
    assert tasks.refresh_connection.delay(due.pk).get() == "fresh"  # another worker got there first
    assert tasks.refresh_connection.delay(grant().pk).get() == "fresh"
    assert tasks.refresh_connection.delay(due.pk + 1000).get() == "fresh"  # disconnected meanwhile
    assert jira.token_requests(grant_type="refresh_token") == 1


def test_within_and_idle_days_are_decided_again(grant, jira) -> None:  # noqa: F811
    soon = grant(expires_in=timedelta(minutes=20))
    assert tasks.refresh_connection.delay(soon.pk, 600, 30).get() == "fresh"
    assert tasks.refresh_connection.delay(soon.pk, 3600, 30).get() == "refreshed"
    idle = grant(last_refreshed_at=timezone.now() - timedelta(days=40))
    assert tasks.refresh_connection.delay(idle.pk, 600, 0).get() == "fresh"
    assert tasks.refresh_connection.delay(idle.pk, 600, 30).get() == "refreshed"


def test_a_transient_failure_is_retried(grant, jira) -> None:  # noqa: F811
    connection = grant(expires_in=timedelta(minutes=-5))
    jira.inject("token", "server_error", times=2)
    assert tasks.refresh_connection.delay(connection.pk).get() == "refreshed"
    assert jira.token_requests(grant_type="refresh_token") == 3
    stored = JiraConnection.objects.get()
    assert jira.is_valid_access_token(stored.access_token)
    assert stored.last_error == ""


def test_retries_are_bounded(grant, jira) -> None:  # noqa: F811
    connection = grant(expires_in=timedelta(minutes=-5))
    jira.inject("token", "server_error", times=None)
    assert tasks.refresh_connection.delay(connection.pk).get() == "failed"
    assert jira.token_requests(grant_type="refresh_token") == 1 + tasks.MAX_RETRIES
    stored = JiraConnection.objects.get()
    assert stored.status == JiraConnection.Status.ACTIVE
    assert stored.last_error


def test_the_cool_down_is_waited_out(grant, jira, settings, monkeypatch) -> None:  # noqa: F811
    """A retry comes after REFRESH_RETRY_AFTER, else it would fail at once without asking Jira."""
    settings.JIRA_CONNECT = {**settings.JIRA_CONNECT, "REFRESH_RETRY_AFTER": 45}
    countdowns: list[float] = []
    retry = tasks.refresh_connection.retry

    def spy(*args: Any, **kwargs: Any) -> Any:
        countdowns.append(kwargs["countdown"])
        return retry(*args, **kwargs)

    monkeypatch.setattr(tasks.refresh_connection, "retry", spy)
    connection = grant(expires_in=timedelta(minutes=-5))
    jira.inject("token", "server_error", times=None)
    assert tasks.refresh_connection.delay(connection.pk).get() == "failed"
    assert jira.token_requests(grant_type="refresh_token") == 1  # the rest hit the cool-down
    assert len(countdowns) == tasks.MAX_RETRIES
    for attempt, countdown in enumerate(countdowns):
        backoff = tasks.RETRY_BACKOFF * 2**attempt
        assert 45 + backoff <= countdown <= 45 + backoff + tasks.RETRY_BACKOFF


def test_a_rejected_grant_is_never_retried(grant, jira) -> None:  # noqa: F811
    connection = grant(expires_in=timedelta(minutes=-5))
    jira.revoke(user="alice")
    assert tasks.refresh_connection.delay(connection.pk).get() == "reauth_required"
    assert jira.token_requests(grant_type="refresh_token") == 1
    assert JiraConnection.objects.get().status == JiraConnection.Status.REAUTH_REQUIRED
    # Not due any more: the next run leaves it alone until the user reconnects.
    assert tasks.refresh_due_connections.delay().get() == 0


def test_configuration_errors_are_not_retried(grant, jira, settings, monkeypatch) -> None:  # noqa: F811
    """A host the settings no longer allow: retrying cannot help, so the task does not."""
    retries: list[Any] = []
    monkeypatch.setattr(tasks.refresh_connection, "retry", lambda *a, **k: retries.append(k))
    connection = grant(expires_in=timedelta(minutes=-5))
    settings.JIRA_CONNECT = {**settings.JIRA_CONNECT, "JIRA_HOSTS": ["jira.example.com"]}
    assert tasks.refresh_connection.delay(connection.pk).get() == "misconfigured"
    assert retries == []
    assert jira.token_requests(grant_type="refresh_token") == 0
