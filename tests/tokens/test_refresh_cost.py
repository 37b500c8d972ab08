"""What one proactive refresh costs the database: the minimum, whatever the number due.

Each refresh is one transaction: lock and read the row (with its link), write the new pair,
commit. Nothing is read before the lock (the lock reads the row anyway), and the health
page's daily counts of a bulk run are written together at its end (``health.counting_in_bulk``),
not with one more ``UPDATE`` and commit of the same row per refresh.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from jira_connect import refresher
from jira_connect.models import JiraConnection, RefreshDay

pytestmark = pytest.mark.django_db(transaction=True)  # the refresh commits on its own

CONNECTIONS = 3


def statements(queries: CaptureQueriesContext, table: str = "") -> list[str]:
    """The first word of each captured statement, of those naming ``table`` if given."""
    return [q["sql"].split()[0] for q in queries.captured_queries if table in q["sql"]]


def test_each_refresh_is_lock_and_read_write_commit(grant, jira) -> None:
    for _ in range(CONNECTIONS):
        grant(expires_in=timedelta(minutes=2))
    pks = refresher.due_connections()
    with CaptureQueriesContext(db) as queries:
        summary = refresher.refresh_due(pks, workers=1)
    assert summary.refreshed == CONNECTIONS
    features = db.features
    # Without FOR UPDATE OF (MariaDB, MySQL) the row's lock is a query of its own, so that the
    # link's row is not locked too (refreshing._lock_row).
    lock = (
        ["SELECT"]
        if features.has_select_for_update_of or not features.has_select_for_update
        else ["SELECT", "SELECT"]
    )
    one = ["BEGIN", *lock, "UPDATE", "COMMIT"]
    assert statements(queries)[: len(one) * CONNECTIONS] == one * CONNECTIONS
    assert statements(queries, "jira_connect_jiraconnection") == [*lock, "UPDATE"] * CONNECTIONS
    # The link comes with the row, not in a query of its own.
    reads = [q["sql"] for q in queries.captured_queries if "jira_connect_jiralink" in q["sql"]]
    assert len(reads) == CONNECTIONS
    if features.has_select_for_update_of:
        assert all('FOR UPDATE OF "jira_connect_jiraconnection"' in sql for sql in reads)


def test_the_health_counts_of_a_run_are_written_once(grant, jira) -> None:
    for _ in range(CONNECTIONS):
        grant(expires_in=timedelta(minutes=2))
    with CaptureQueriesContext(db) as queries:
        refresher.refresh_due(refresher.due_connections(), workers=1)
    # The day's row does not exist yet: one UPDATE finds nothing, one INSERT makes it.
    assert statements(queries, "jira_connect_refreshday") == ["UPDATE", "INSERT"]
    assert RefreshDay.objects.get().refreshed == CONNECTIONS
    grant(expires_in=timedelta(minutes=2))
    with CaptureQueriesContext(db) as queries:
        refresher.refresh_due(refresher.due_connections(), workers=1)
    assert statements(queries, "jira_connect_refreshday") == ["UPDATE"]
    assert RefreshDay.objects.get().refreshed == CONNECTIONS + 1


def test_a_connection_gone_before_its_turn_is_fresh(grant, jira) -> None:
    connection = grant(expires_in=timedelta(minutes=2))
    pks = refresher.due_connections()
    JiraConnection.objects.filter(pk=connection.pk).delete()
    assert refresher.refresh_one(pks[0]) == "fresh"
    assert jira.token_requests(grant_type="refresh_token") == 0
