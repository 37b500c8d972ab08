"""The storm guard: rate-limited calls answered with anonymous 401s cause at most one refresh."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from jira_connect import ratelimit, stormguard
from jira_connect.exceptions import ReauthorizationRequired
from jira_connect.models import JiraConnection
from jira_connect.session import JiraSession
from tests.ratelimit.conftest import api_records, limit
from tests.tokens.conftest import assert_paused, expire, on_database, run_bounded

pytestmark = pytest.mark.django_db

ISSUE = "rest/api/2/issue/ACME-1"


def refreshes(jira) -> int:
    return jira.token_requests(grant_type="refresh_token")


def test_ten_rate_limited_401s_cause_one_refresh(connection, jira, waits, caplog) -> None:
    limit(jira, capacity=1, rate_limit_interval=3600, rate_limit_anonymous_401=True)
    session = connection.session()
    assert session.get(ISSUE).status_code == 200
    with caplog.at_level(logging.WARNING, logger=ratelimit.LOGGER_NAME):
        statuses = [session.get(ISSUE).status_code for _ in range(10)]
    assert statuses == [401] * 10  # Jira's answer, handed back
    assert refreshes(jira) == 1
    stored = JiraConnection.objects.get()
    assert stored.status == JiraConnection.Status.ACTIVE
    assert stored.refresh_paused_until is not None
    assert stored.refresh_paused_until > timezone.now() + timedelta(seconds=25)
    assert jira.is_valid_refresh_token(stored.refresh_token)  # the chain survived
    assert len(api_records(jira)) == 1 + 2 + 9  # one retry after the one refresh, then none
    assert waits == []  # a 401 is not a rate limit the session could recognise
    trips = [r for r in caplog.records if "right after a refresh" in r.getMessage()]
    assert len(trips) == 1
    assert stored.access_token not in trips[0].getMessage()


def test_other_sessions_and_processes_see_the_pause(connection, jira, waits) -> None:
    """The pause is in the row: a session built later (another worker) does not refresh."""
    limit(jira, capacity=1, rate_limit_interval=3600, rate_limit_anonymous_401=True)
    session = connection.session()
    session.get(ISSUE)
    session.get(ISSUE)
    assert refreshes(jira) == 1
    for _ in range(3):
        other = JiraConnection.objects.select_related("link").get().session()
        assert other.get(ISSUE).status_code == 401
    assert refreshes(jira) == 1


def test_refreshes_for_expiry_are_not_paused(connection, jira, waits) -> None:
    stormguard.pause_refreshes(connection)
    expire(connection)
    assert connection.session().get(ISSUE).status_code == 200
    assert refreshes(jira) == 1


def test_a_token_stored_by_another_worker_is_used_while_paused(connection, jira) -> None:
    session = connection.session()
    stormguard.pause_refreshes(connection)
    JiraConnection.objects.get().refresh()  # another worker rotates: this session's token is dead
    assert session.get(ISSUE).status_code == 200
    assert refreshes(jira) == 1  # only the other worker's


def test_while_paused_a_401_is_jiras_answer_then_refreshes_resume(connection, jira) -> None:
    session = connection.session()
    stormguard.pause_refreshes(connection)
    jira.expire_access_tokens()  # Jira rejects the token though it looks valid here
    assert session.get(ISSUE).status_code == 401
    assert refreshes(jira) == 0
    JiraConnection.objects.filter(pk=connection.pk).update(
        refresh_paused_until=timezone.now() - timedelta(seconds=1)  # 30 seconds later
    )
    assert session.get(ISSUE).status_code == 200
    assert refreshes(jira) == 1


def test_a_revoked_token_still_refreshes_at_once(connection, jira, grant) -> None:
    """The pause belongs to one connection; a first 401 elsewhere refreshes, and a revoked
    grant still means reconnect."""
    other = grant()
    stormguard.pause_refreshes(other)
    jira.revoke(user="alice")
    with pytest.raises(ReauthorizationRequired):
        connection.session().get(ISSUE)
    assert JiraConnection.objects.get(pk=connection.pk).status == (
        JiraConnection.Status.REAUTH_REQUIRED
    )
    assert JiraConnection.objects.get(pk=other.pk).status == JiraConnection.Status.ACTIVE


def test_a_first_401_refreshes_and_holds_refreshes_only_for_its_retry(connection, jira) -> None:
    jira.expire_access_tokens()
    before = timezone.now()
    assert connection.session().get(ISSUE).status_code == 200
    assert refreshes(jira) == 1
    held = JiraConnection.objects.get().refresh_paused_until
    assert held is not None
    # HTTP_TIMEOUT 10 s for connecting and 10 s for reading, and a second: not the 30 s pause.
    assert held <= before + timedelta(seconds=21.5)


def test_no_second_refresh_before_the_first_ones_verdict(connection, jira) -> None:
    """Another worker that picked up the refreshed token and was rejected while the refresh's
    retry was on its way does not refresh again (the storm's race across processes)."""
    jira.expire_access_tokens()
    assert connection.session().get(ISSUE).status_code == 200  # 401, refresh, retry: 200
    other = JiraConnection.objects.select_related("link").get().session()  # the new token
    jira.inject("api", "unauthorized")
    assert other.get(ISSUE).status_code == 401
    assert refreshes(jira) == 1


def test_resume_lifts_the_pause(connection, jira) -> None:
    stormguard.pause_refreshes(connection)
    stormguard.resume_refreshes(connection)
    assert JiraConnection.objects.get().refresh_paused_until is None
    jira.expire_access_tokens()
    assert connection.session().get(ISSUE).status_code == 200
    assert refreshes(jira) == 1


def test_a_429_answered_anonymously_is_not_a_rejected_token(connection, jira, waits) -> None:
    import responses

    base = connection.link.base_url
    with responses.RequestsMock() as mocked:
        mocked.add(
            "GET",
            f"{base}/{ISSUE}",
            status=429,
            headers={"X-AUSERNAME": "anonymous", "Retry-After": "0"},
        )
        mocked.add("GET", f"{base}/{ISSUE}", json={"key": "ACME-1"})
        assert connection.session().get(ISSUE).json() == {"key": "ACME-1"}
    assert refreshes(jira) == 0
    assert waits == [1.0]


@pytest.mark.django_db(transaction=True)
def test_the_pause_survives_the_callers_rollback(connection, jira, waits) -> None:
    """Tripped inside ``atomic()`` (ATOMIC_REQUESTS), the pause is committed at once."""
    from django.db import connection as db
    from django.db import transaction

    limit(jira, capacity=1, rate_limit_interval=3600, rate_limit_anonymous_401=True)
    session = connection.session()
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012
        trip(session)
        raise RuntimeError("the view fails")
    stored = JiraConnection.objects.get()
    assert refreshes(jira) == 1
    if db.vendor != "sqlite":  # SQLite has one writer: there both join the caller's transaction
        assert jira.is_valid_refresh_token(stored.refresh_token)
        assert_paused(stored)


@pytest.mark.django_db(transaction=True)
def test_no_second_refresh_in_the_instant_after_the_first_one_commits(connection, jira) -> None:
    """The hold is stored with the refreshed token, in one write: a worker that picks up the
    new token the instant it is committed, and is rejected, finds the hold already there.

    (It used to be a second write after the refresh: on a loaded machine, a worker whose
    rejected call fell between the two refreshed again, as the rate-limit benchmark saw.)
    """
    from jira_connect import signals

    outcomes: list[int] = []

    def another_worker_in_between(connection: JiraConnection, **kwargs: object) -> None:
        signals.token_refreshed.disconnect(another_worker_in_between)
        jira.inject("api", "unauthorized")  # the gateway answers its call anonymously
        other = JiraConnection.objects.select_related("link").get().session()  # the new token
        outcomes.append(other.get(ISSUE).status_code)

    jira.expire_access_tokens()
    signals.token_refreshed.connect(another_worker_in_between)
    try:
        assert connection.session().get(ISSUE).status_code == 200  # 401, refresh, retry: 200
    finally:
        signals.token_refreshed.disconnect(another_worker_in_between)
    assert outcomes == [401]  # Jira's answer, handed back
    assert refreshes(jira) == 1


def trip(session: JiraSession) -> None:
    """One call that works, then a rate-limited one answered anonymously: refresh, retry,
    rejected again, pause. The short timeout keeps the refresh's own hold (twice it) short."""
    session.get(ISSUE)
    assert session.get(ISSUE, timeout=2).status_code == 401


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@pytest.mark.parametrize("alias", ["default", "other"])
def test_the_pause_is_stored_in_the_connections_own_database(
    connection, jira, waits, alias
) -> None:
    """A connection read from another database (no router): its pause is written there."""
    mine = on_database(connection, alias)
    limit(jira, capacity=1, rate_limit_interval=3600, rate_limit_anonymous_401=True)
    trip(mine.session())
    assert refreshes(jira) == 1
    assert_paused(JiraConnection.objects.using(alias).get(pk=mine.pk))


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@pytest.mark.parametrize("alias", ["default", "other"])
def test_a_pause_inside_a_transaction_that_holds_the_row(connection, jira, waits, alias) -> None:
    """Tripped inside a transaction that has written the row (so holds its lock), the pause
    neither waits for that transaction, which would wait for ever, nor is lost: it commits
    with it."""
    from django.db import connection as db
    from django.db import transaction

    if db.vendor == "sqlite":
        pytest.skip("needs a database with row locks")
    mine = on_database(connection, alias)
    limit(jira, capacity=1, rate_limit_interval=3600, rate_limit_anonymous_401=True)
    rows = JiraConnection.objects.using(alias).filter(pk=mine.pk)

    def work() -> None:
        with transaction.atomic(using=alias):
            rows.update(jira_display_name="Alice (edited)")
            trip(mine.session())

    run_bounded(work)
    assert refreshes(jira) == 1
    assert jira.is_valid_refresh_token(rows.get().refresh_token)
    assert_paused(rows.get())
