"""A rotated token pair outlives the caller's rollback (DESIGN §4 invariant 11).

Jira retires the old refresh token as soon as it answers a refresh, so a
pair rolled back with the caller's transaction would leave the database
holding a dead token, and the user would have to reconnect. Each scenario
refreshes inside a transaction that is then rolled back, and checks that the
connection keeps working and that Jira (the simulator) still accepts the
stored refresh token: the chain is intact.

The ``committed`` tests run with rows committed beforehand (a real site);
the ``uncommitted`` ones inside the test's own transaction (Django's
``TestCase``, pytest-django's ``django_db``).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection as db
from django.db import connections, transaction
from django.db.utils import DatabaseError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path
from django.utils import timezone

from jira_connect import refreshing
from jira_connect.exceptions import ReauthorizationRequired
from jira_connect.models import JiraConnection
from jira_connect.testing import JiraDCSimulator
from tests.conftest import test_database_url
from tests.tokens.conftest import on_database, run_bounded

committed = pytest.mark.django_db(transaction=True)
uncommitted = pytest.mark.django_db


class Rollback(Exception):
    """What the caller's code raises after the refresh."""


@pytest.fixture
def expired(grant) -> JiraConnection:
    """A connection whose access token is past its expiry: the next call refreshes it."""
    connection = grant()
    JiraConnection.objects.filter(pk=connection.pk).update(
        expires_at=timezone.now() - timedelta(seconds=5)
    )
    return JiraConnection.objects.select_related("link").get(pk=connection.pk)


def stored(connection: JiraConnection) -> JiraConnection:
    return JiraConnection.objects.select_related("link").get(pk=connection.pk)


def durable_at_once() -> bool:
    """Whether the pair is committed before the refresh returns (a server database and rows
    committed beforehand), rather than put back by the next refresh in this process."""
    return db.vendor != "sqlite" and not db.in_atomic_block


def assert_chain_intact(jira: JiraDCSimulator, connection: JiraConnection) -> None:
    """A new session works, the stored refresh token refreshes, and Jira still takes it."""
    if durable_at_once():
        assert jira.is_valid_refresh_token(stored(connection).refresh_token)
    response = stored(connection).session().get("rest/api/2/myself")
    assert response.status_code == 200
    assert response.json()["name"] == "alice"
    row = stored(connection)
    row.refresh()  # the stored refresh token really refreshes
    row = stored(connection)
    assert row.status == "active"
    assert jira.is_valid_refresh_token(row.refresh_token)


def refresh_then_fail(connection: JiraConnection) -> None:
    with transaction.atomic():
        assert connection.session().get("rest/api/2/myself").status_code == 200
        raise Rollback


def refresh_in_rolled_back_savepoint(connection: JiraConnection) -> None:
    with transaction.atomic():
        try:
            with transaction.atomic():
                connection.refresh()
                raise Rollback
        except Rollback:
            pass


SCENARIOS: dict[str, Callable[[JiraConnection], None]] = {
    "atomic block that raises": refresh_then_fail,
    "rolled-back savepoint": refresh_in_rolled_back_savepoint,
}


@committed
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_rollback_by_the_caller_keeps_the_new_pair(jira, expired, scenario) -> None:
    with pytest.raises(Rollback) if scenario == "atomic block that raises" else nullcontext():
        SCENARIOS[scenario](expired)
    assert jira.token_requests("refresh_token") == 1
    assert_chain_intact(jira, expired)
    assert jira.token_requests("refresh_token") == 2  # the one assert_chain_intact asked for


@uncommitted
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_rollback_inside_the_tests_own_transaction_keeps_the_chain(
    jira, expired, scenario
) -> None:
    with pytest.raises(Rollback) if scenario == "atomic block that raises" else nullcontext():
        SCENARIOS[scenario](expired)
    assert jira.token_requests("refresh_token") == 1
    assert_chain_intact(jira, expired)
    assert jira.token_requests("refresh_token") == 2


@uncommitted
def test_a_put_back_pair_survives_a_second_rollback(jira, expired) -> None:
    """The pair a rollback discarded is put back by the next flight in this process; if that
    flight's transaction is rolled back too, the pair must still be there to put back."""
    from jira_connect import refreshing

    def put_back_then_fail() -> None:
        with transaction.atomic():
            # Puts the pair back (nothing is due after that), then the caller fails again.
            assert refreshing.refresh_if_due(stored(expired), within=0) is False
            raise Rollback

    with pytest.raises(Rollback):
        refresh_then_fail(expired)
    with pytest.raises(Rollback):
        put_back_then_fail()
    assert jira.token_requests("refresh_token") == 1
    assert_chain_intact(jira, expired)


@uncommitted
def test_the_pair_put_back_is_the_whole_pair_jira_issued(jira, expired, caplog) -> None:
    """What the next flight puts back after a rollback is the pair as it was stored: tokens,
    expiry, scope and when it was refreshed; and it says so in the log."""
    with pytest.raises(Rollback), transaction.atomic():  # noqa: PT012
        assert expired.session().get("rest/api/2/myself").status_code == 200
        issued = stored(expired)
        raise Rollback
    assert stored(expired).refresh_token != issued.refresh_token  # rolled back
    with caplog.at_level(logging.WARNING):
        assert refreshing.refresh_if_due(stored(expired), within=0) is False  # put back only
    row = stored(expired)
    fields = ("access_token", "refresh_token", "expires_at", "scope", "last_refreshed_at")
    assert [getattr(row, name) for name in fields] == [getattr(issued, name) for name in fields]
    assert (
        f"Put back the Jira tokens of connection {expired.pk} that a rolled-back transaction "
        "had discarded"
    ) in caplog.messages
    assert jira.token_requests("refresh_token") == 1


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_a_put_back_pair_survives_a_second_rollback_on_the_connections_own_database(
    jira, expired
) -> None:
    """The same, for a connection kept in another database (no router): the pair is put back
    there, and kept until that database's transaction commits."""
    mine = on_database(expired, "other")

    def reloaded() -> JiraConnection:
        return JiraConnection.objects.using("other").select_related("link").get(pk=mine.pk)

    with pytest.raises(Rollback), transaction.atomic(using="other"):  # noqa: PT012
        mine.refresh()
        raise Rollback
    with pytest.raises(Rollback), transaction.atomic(using="other"):  # noqa: PT012
        assert refreshing.refresh_if_due(reloaded(), within=0) is False
        raise Rollback
    reloaded().refresh()  # the pair Jira issued first, put back (or committed) where it lives
    assert jira.token_requests("refresh_token") == 2
    assert jira.is_valid_refresh_token(reloaded().refresh_token)


def test_the_journal_keeps_the_newest_pairs_within_its_bound() -> None:
    """The in-process journal of pairs a caller's transaction may roll back holds the newest
    1,024 (docs/deployment.md), one per connection, forgetting the oldest first."""
    journal = refreshing._Journal()
    now = timezone.now()

    def pair(number: int) -> refreshing._UnsavedPair:
        return refreshing._UnsavedPair(
            retired_refresh_token=f"retired-{number}",
            access_token=f"access-{number}",
            refresh_token=f"refresh-{number}",
            expires_at=now,
            scope="WRITE",
            refreshed_at=now,
        )

    pairs = [pair(number) for number in range(1026)]
    for number in range(1025):
        journal.keep(("default", number), pairs[number])
    kept = [
        number
        for number in range(1025)
        if journal.lost(("default", number), f"retired-{number}") is pairs[number]
    ]
    assert kept == list(range(1, 1025))  # the oldest forgotten, 1,024 kept
    journal.keep(("default", 1), pairs[1])  # kept again: the newest now
    journal.keep(("default", 1025), pairs[1025])
    assert journal.lost(("default", 1), "retired-1") is pairs[1]
    assert journal.lost(("default", 2), "retired-2") is None


@committed
def test_the_row_lock_ends_with_the_refresh(jira, expired) -> None:
    """Inside the caller's transaction, other workers can refresh as soon as ours is done."""
    if not db.features.has_select_for_update_nowait or db.vendor == "sqlite":
        pytest.skip("needs a database with row locks")
    free: list[bool] = []

    def try_lock() -> None:
        try:
            with transaction.atomic():
                JiraConnection.objects.select_for_update(nowait=True).filter(
                    pk=expired.pk
                ).values_list("pk").get()
            free.append(True)
        except OperationalError:
            free.append(False)
        finally:
            connections.close_all()

    with transaction.atomic():
        expired.refresh()
        other = threading.Thread(target=try_lock)
        other.start()
        other.join(30)
    assert free == [True]


# --- ATOMIC_REQUESTS ----------------------------------------------------------------------------


def failing_view(request: HttpRequest) -> HttpResponse:
    connection = JiraConnection.objects.select_related("link").get(pk=request.GET["pk"])
    connection.session().get("rest/api/2/myself")
    raise RuntimeError("the view fails after calling Jira")


urlpatterns = [path("fails-after-jira/", failing_view)]


@pytest.fixture
def atomic_requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(db.settings_dict, "ATOMIC_REQUESTS", True)
    with override_settings(ROOT_URLCONF=__name__):
        yield


@committed
@pytest.mark.usefixtures("atomic_requests")
def test_a_view_under_atomic_requests_that_fails_keeps_the_new_pair(jira, expired, client) -> None:
    client.raise_request_exception = False
    response = client.get(f"/fails-after-jira/?pk={expired.pk}")
    assert response.status_code == 500
    assert jira.token_requests("refresh_token") == 1
    assert_chain_intact(jira, expired)


# --- the caller's own locks -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@pytest.mark.parametrize("alias", ["default", "other"])
@pytest.mark.parametrize("how", ["select_for_update", "update"])
def test_no_deadlock_when_the_callers_transaction_holds_the_row(jira, expired, how, alias) -> None:
    if alias != "default" and db.vendor == "sqlite":
        pytest.skip("SQLite's refresh joins the caller's transaction on any database")
    mine = on_database(expired, alias)

    def work() -> None:
        with transaction.atomic(using=alias):
            rows = JiraConnection.objects.using(alias).filter(pk=mine.pk)
            if how == "select_for_update":
                rows.select_for_update().values_list("pk").get()
            else:
                rows.update(jira_display_name="Alice (edited)")
            mine.refresh()

    run_bounded(work)
    assert jira.token_requests("refresh_token") == 1
    if alias == "default":
        assert_chain_intact(jira, expired)
    else:
        row = JiraConnection.objects.using(alias).get(pk=mine.pk)
        assert jira.is_valid_refresh_token(row.refresh_token)


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@pytest.mark.parametrize("alias", ["default", "other"])
def test_a_database_error_in_the_refresh_leaves_the_callers_transaction_usable(
    jira, expired, monkeypatch, alias
) -> None:
    """The refresh runs in a savepoint of the caller's transaction when that transaction holds
    the row: a database error while storing rolls back to it, and the caller's transaction
    (PostgreSQL would refuse every later query in it) carries on."""
    if not db.features.has_select_for_update_nowait or db.vendor == "sqlite":
        pytest.skip("needs a database with row locks")

    def settle_fails(current: JiraConnection, *args: Any, **kwargs: Any) -> None:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT no_such_column FROM jira_connect_jiraconnection")

    monkeypatch.setattr(refreshing, "_settle", settle_fails)
    mine = on_database(expired, alias)
    rows = JiraConnection.objects.using(alias).filter(pk=mine.pk)

    def work() -> None:
        with transaction.atomic(using=alias):
            rows.update(jira_display_name="Alice (edited)")
            with pytest.raises(DatabaseError):
                mine.refresh()
            assert rows.get().jira_display_name == "Alice (edited)"

    run_bounded(work)
    assert rows.get().jira_display_name == "Alice (edited)"  # the caller's work committed


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
@pytest.mark.parametrize("alias", ["default", "other"])
def test_a_refresh_that_waited_for_another_workers_lock_outlives_the_callers_rollback(
    jira, expired, alias, monkeypatch
) -> None:
    """Another worker holds the row (staff saving it, say) while our caller, in a transaction
    of its own that does not hold it, refreshes: the refresh waits for the row on a
    connection of its own and commits there, so the pair outlives the caller's rollback, and
    the caller's transaction stays usable meanwhile."""
    if not db.features.has_select_for_update_nowait or db.vendor == "sqlite":
        pytest.skip("needs a database with row locks")
    mine = on_database(expired, alias)
    locked, checked = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        try:
            with transaction.atomic(using=alias):
                rows = JiraConnection.objects.using(alias).select_for_update()
                rows.filter(pk=mine.pk).values_list("pk").get()
                locked.set()
                checked.wait(10)  # until our caller has found the row locked by someone else
        finally:
            connections.close_all()

    real = refreshing._caller_holds_lock

    def asked(alias: str, pk: int) -> bool:
        held = real(alias, pk)
        checked.set()
        return held

    monkeypatch.setattr(refreshing, "_caller_holds_lock", asked)
    other = threading.Thread(target=hold_the_row)
    other.start()
    assert locked.wait(10)
    with pytest.raises(Rollback), transaction.atomic(using=alias):  # noqa: PT012
        assert mine.session().get("rest/api/2/myself").status_code == 200
        assert JiraConnection.objects.using(alias).filter(pk=mine.pk).exists()  # still usable
        raise Rollback
    other.join(30)
    assert checked.is_set()  # the caller asked whether the lock was its own
    assert jira.token_requests("refresh_token") == 1
    row = JiraConnection.objects.using(alias).get(pk=mine.pk)
    assert jira.is_valid_refresh_token(row.refresh_token)  # committed before the rollback


@committed
def test_a_refresh_waits_for_a_row_another_worker_holds(jira, expired) -> None:
    """Outside any transaction, a refresh that finds the row locked by another worker (another
    process refreshing it, or staff saving it) waits for it rather than failing."""
    if db.vendor == "sqlite":
        pytest.skip("needs a database with row locks")
    locked = threading.Event()

    def hold_the_row() -> None:
        try:
            with transaction.atomic():
                JiraConnection.objects.select_for_update().filter(pk=expired.pk).get()
                locked.set()
                threading.Event().wait(2)  # long enough for the refresh to find it locked
        finally:
            connections.close_all()

    other = threading.Thread(target=hold_the_row)
    other.start()
    assert locked.wait(10)
    expired.refresh()
    other.join(30)
    assert jira.token_requests("refresh_token") == 1
    assert jira.is_valid_refresh_token(stored(expired).refresh_token)


@committed
def test_an_unexpected_error_while_locking_reaches_the_caller_as_itself(
    jira, expired, monkeypatch
) -> None:
    """An error that is not the database's (a bug, an interrupt) while the refresh locks the
    row on its own connection is what the caller gets, and it leaves nothing locked."""
    if not db.features.has_select_for_update_nowait or db.vendor == "sqlite":
        pytest.skip("needs a database with row locks")
    real = refreshing._lock_row

    def lock_row(alias: str, pk: int, *, nowait: bool = False) -> JiraConnection:
        if nowait:
            raise LookupError("a bug while locking")
        return real(alias, pk, nowait=nowait)

    monkeypatch.setattr(refreshing, "_lock_row", lock_row)
    with pytest.raises(LookupError, match="a bug while locking"), transaction.atomic():
        expired.refresh()
    monkeypatch.undo()
    run_bounded(stored(expired).refresh)  # neither the row nor the process's lock is held
    assert jira.token_requests("refresh_token") == 1


# --- a worker killed after Jira answered --------------------------------------------------------

KILLED_WORKER = textwrap.dedent(
    """
    import os, signal, sys
    import django
    django.setup()
    from jira_connect import oauth
    from jira_connect.models import JiraConnection

    real = oauth.refresh

    def refresh_then_die(*args, **kwargs):
        real(*args, **kwargs)  # Jira has issued the new pair and retired the old one
        os.kill(os.getpid(), signal.SIGKILL)

    oauth.refresh = refresh_then_die
    JiraConnection.objects.select_related("link").get(pk=int(sys.argv[1])).refresh()
    """
)


@committed
def test_a_worker_killed_after_jira_answered_means_reconnect_not_a_hang(jira, expired) -> None:
    if db.vendor == "sqlite":
        pytest.skip("needs a database server shared with another process")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env["DATABASE_URL"] = test_database_url()
    worker = subprocess.run(
        [sys.executable, "-c", KILLED_WORKER, str(expired.pk)],
        env=env,
        timeout=60,
        check=False,
        capture_output=True,
    )
    assert worker.returncode == -signal.SIGKILL, worker.stderr.decode()[-2000:]
    assert jira.token_requests("refresh_token") == 1

    def call() -> None:
        with pytest.raises(ReauthorizationRequired):
            stored(expired).session().get("rest/api/2/myself")

    run_bounded(call)
    assert stored(expired).status == "reauth_required"
    assert stored(expired).last_failure_kind == "reauth"
