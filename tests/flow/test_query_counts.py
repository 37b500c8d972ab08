"""DESIGN §5: the connect and callback views make at most 3 and 6 queries.

Counted without savepoints (the test's own transaction turns every atomic
block into one) and without the two queries every logged-in page pays (the
session and the user).
"""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from tests.flow.conftest import local, start

pytestmark = pytest.mark.django_db


def app_queries(queries: CaptureQueriesContext) -> list[str]:
    # MariaDB and MySQL quote names with backticks.
    statements = [query["sql"].replace("`", '"') for query in queries.captured_queries]
    return [
        sql
        for sql in statements
        if "SAVEPOINT" not in sql
        and not sql.startswith('SELECT "django_session"')
        and not sql.startswith('SELECT "auth_user"')
    ]


def test_connect_and_callback_query_counts(browser, link, jira) -> None:
    with CaptureQueriesContext(db) as connect_queries:
        authorize_url = start(browser, link)
    callback = local(jira.authorize(authorize_url))
    with CaptureQueriesContext(db) as callback_queries:
        assert browser.get(callback).status_code == 302
    assert len(app_queries(connect_queries)) <= 3, app_queries(connect_queries)
    assert len(app_queries(callback_queries)) <= 6, app_queries(callback_queries)
