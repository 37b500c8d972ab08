"""One refresh per expiry, whatever the number of threads and processes (DESIGN §4, invariant 10)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connection as db

from jira_connect.models import JiraConnection
from tests.conftest import skip_without_row_locks
from tests.tokens.conftest import expire
from tests.tokens.race_worker import call_in_threads, outcomes_of, start_workers


@pytest.mark.django_db(transaction=True)
def test_threads_share_one_refresh(connection, jira) -> None:
    if db.vendor == "sqlite":
        pytest.skip("SQLite's shared in-memory test database locks tables across threads")
    expire(connection)
    outcomes = call_in_threads(connection.pk, 16)
    assert Counter(outcomes) == {"200": 16}
    assert jira.token_requests(grant_type="refresh_token") == 1


def run_workers(pk: int, processes: int, threads: int) -> list[str]:
    """The outcomes of ``processes`` race workers of ``threads`` threads each, calling at once."""
    children = start_workers(pk, processes, threads, start_at=time.time() + 3.0)
    return [outcome for child in children for outcome in outcomes_of(child)]


@pytest.mark.server_database
@pytest.mark.django_db(transaction=True)
def test_processes_and_threads_share_one_refresh(connection, jira) -> None:
    """8 processes x 8 threads on one expired token: exactly one refresh, 64 successful calls."""
    skip_without_row_locks()
    expire(connection)
    outcomes = run_workers(connection.pk, processes=8, threads=8)
    assert Counter(outcomes) == {"200": 64}
    assert jira.token_requests(grant_type="refresh_token") == 1
    stored = JiraConnection.objects.get()
    assert jira.is_valid_access_token(stored.access_token)
    assert stored.refresh_token
    assert jira.is_valid_refresh_token(stored.refresh_token)


@pytest.mark.server_database
@pytest.mark.django_db(transaction=True)
def test_revoked_grant_under_a_race(connection, jira) -> None:
    """The same race with the grant revoked: one refresh attempt, everyone told to reconnect."""
    skip_without_row_locks()
    expire(connection)
    jira.revoke(user="alice")
    outcomes = run_workers(connection.pk, processes=8, threads=8)
    assert Counter(outcomes) == {"ReauthorizationRequired": 64}
    assert jira.token_requests(grant_type="refresh_token") == 1
    assert JiraConnection.objects.get().status == JiraConnection.Status.REAUTH_REQUIRED


@pytest.mark.server_database
@pytest.mark.django_db(transaction=True)
def test_a_refresh_locks_the_connection_row_only(connection) -> None:
    """While one connection refreshes, other connections on the link (and the link) stay free."""
    from django.db import connections, transaction
    from django.db.utils import OperationalError

    from jira_connect.models import JiraLink
    from jira_connect.refreshing import _lock_row

    skip_without_row_locks()
    held = threading.Event()
    release = threading.Event()

    def hold_the_row() -> None:
        with transaction.atomic():
            _lock_row("default", connection.pk)
            held.set()
            release.wait(10)
        connections.close_all()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert held.wait(10)
        with transaction.atomic():
            # The link row is free...
            JiraLink.objects.select_for_update(nowait=True).get(pk=connection.link_id)
            # ...the connection row is not.
            with pytest.raises(OperationalError):
                JiraConnection.objects.select_for_update(nowait=True).get(pk=connection.pk)
    finally:
        release.set()
        holder.join()
