"""A queued refresh decides again once the row is locked: what was due may be fresh by then."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jira_connect import tasks

pytestmark = pytest.mark.django_db


def run_task(pk: int, **kwargs: int) -> str:
    return str(tasks.refresh_connection.apply(args=(pk,), kwargs=kwargs).get())


def test_a_connection_refreshed_meanwhile_is_left_alone(grant, jira) -> None:
    fresh = grant(expires_in=timedelta(hours=1), last_refreshed_at=timezone.now())
    assert run_task(fresh.pk) == "fresh"
    assert run_task(fresh.pk, idle_days=30) == "fresh"
    assert jira.token_requests(grant_type="refresh_token") == 0


def test_an_expiring_connection_is_refreshed_once(grant, jira) -> None:
    due = grant(expires_in=timedelta(minutes=-5))
    assert run_task(due.pk) == "refreshed"
    assert run_task(due.pk) == "fresh"
    assert jira.token_requests(grant_type="refresh_token") == 1


def test_an_idle_connection_is_refreshed_before_its_refresh_token_runs_out(grant, jira) -> None:
    idle = grant(last_refreshed_at=timezone.now() - timedelta(days=40))
    assert run_task(idle.pk, idle_days=30) == "refreshed"
    assert run_task(idle.pk, idle_days=30) == "fresh"
    assert jira.token_requests(grant_type="refresh_token") == 1


def test_a_connection_without_access_token_is_refreshed(grant, jira) -> None:
    empty = grant(access_token="")
    assert run_task(empty.pk) == "refreshed"
