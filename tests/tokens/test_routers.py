"""A site whose database router sends the app to another database (DESIGN §4 invariant 11a).

Every model goes to ``other`` (tests/routers.py): a transaction opened on
``default`` while the rows live on ``other`` would leave ``select_for_update``
outside any transaction (Django refuses it) and the rotated pair outside the
refresh's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from jira_connect import refresher
from jira_connect.models import JiraConnection, JiraLink

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])


@pytest.fixture(autouse=True)
def routed() -> Iterator[None]:
    with override_settings(DATABASE_ROUTERS=["tests.routers.EverythingToOther"]):
        yield


def expire(connection: JiraConnection) -> None:
    JiraConnection.objects.filter(pk=connection.pk).update(
        expires_at=timezone.now() - timedelta(seconds=5)
    )
    connection.refresh_from_db()


def test_the_flow_and_refresh_use_the_routed_database(jira, connection) -> None:
    assert JiraConnection.objects.using("other").count() == 1
    assert JiraConnection.objects.using("default").count() == 0
    assert JiraLink.objects.using("default").count() == 0
    expire(connection)
    assert connection.session().get("rest/api/2/myself").status_code == 200
    connection.refresh()
    assert jira.token_requests("refresh_token") == 2
    row = JiraConnection.objects.using("other").get(pk=connection.pk)
    assert jira.is_valid_refresh_token(row.refresh_token)


def test_a_rollback_on_the_routed_database_keeps_the_new_pair(jira, connection) -> None:
    expire(connection)

    def refresh_then_fail() -> None:
        with transaction.atomic(using="other"):
            connection.refresh()
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        refresh_then_fail()
    row = JiraConnection.objects.using("other").get(pk=connection.pk)
    if transaction.get_connection("other").vendor != "sqlite":
        assert jira.is_valid_refresh_token(row.refresh_token)
    assert row.session().get("rest/api/2/myself").status_code == 200
    row.refresh()
    assert jira.is_valid_refresh_token(
        JiraConnection.objects.using("other").get(pk=connection.pk).refresh_token
    )


def test_token_refreshed_is_sent_when_the_routed_databases_transaction_commits(
    jira, connection
) -> None:
    """Receivers hear of the new token once it is committed where it lives, not before."""
    from jira_connect import signals

    expire(connection)
    received: list[str] = []
    signals.token_refreshed.connect(
        lambda connection, **kw: received.append(connection.access_token),
        weak=False,
        dispatch_uid="routed",
    )
    try:
        with transaction.atomic(using="other"):
            JiraConnection.objects.filter(pk=connection.pk).update(jira_display_name="Alice")
            connection.refresh()  # joins the transaction: it holds the row
            assert received == []
    finally:
        signals.token_refreshed.disconnect(dispatch_uid="routed")
    assert received == [JiraConnection.objects.using("other").get(pk=connection.pk).access_token]


def test_bulk_refresh_revoke_disconnect_and_key_rotation(jira, connection, browser) -> None:
    expire(connection)
    summary = refresher.refresh_due(refresher.due_connections(), workers=2)
    assert (summary.refreshed, summary.failed) == (1, 0)
    call_command("jira_connect_rotate_keys", verbosity=0)
    from jira_connect import lifecycle

    lifecycle.revoke(JiraConnection.objects.get(pk=connection.pk))
    assert JiraConnection.objects.get(pk=connection.pk).status == JiraConnection.Status.REVOKED
    response = browser.post(f"/jira/{connection.link.slug}/disconnect/")
    assert response.status_code == 302
    assert not JiraConnection.objects.using("other").exists()
    assert get_user_model().objects.using("default").count() == 0
