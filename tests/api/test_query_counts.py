"""DESIGN §5: api-links makes the same number of queries for 1 link as for 20, connected or not."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import LINKS

pytestmark = pytest.mark.django_db


def make_links(count: int, user, link_factory, connection_factory) -> None:
    for number in range(count):
        link = link_factory()
        status = ("active", "reauth_required", "revoked")[number % 3]
        if number % 4 != 3:  # most connected, in every status; some not
            connection_factory(user=user, link=link, status=status, scope="READ")


def queries_for(spa, path: str) -> list[str]:
    with CaptureQueriesContext(db) as queries:
        response = spa.client.get(path)
    assert response.status_code == 200
    return [query["sql"] for query in queries.captured_queries]


def test_one_link_and_twenty_cost_the_same(spa, user, link_factory, connection_factory) -> None:
    make_links(1, user, link_factory, connection_factory)
    spa.client.get(LINKS)  # the session's first read, paid once
    one = queries_for(spa, LINKS)
    make_links(19, user, link_factory, connection_factory)
    twenty = queries_for(spa, LINKS)
    assert len(spa.client.get(LINKS).json()["links"]) == 20
    assert len(twenty) == len(one), "\n".join(twenty)
    # The session, the user, the links, the user's connections, staff's disconnection notices.
    assert len(one) == 5, "\n".join(one)


def test_api_connect_costs_what_the_html_connect_costs(spa, link, jira) -> None:
    """DESIGN §5: at most 3 queries of the app's own, as for the HTML ``connect``."""
    spa.links()
    with CaptureQueriesContext(db) as queries:
        assert spa.connect("acme", {"next": "/spa/"}).status_code == 200
    app_queries = [
        query["sql"]
        for query in queries.captured_queries
        if "SAVEPOINT" not in query["sql"]
        and not query["sql"].startswith('SELECT "django_session"')
        and not query["sql"].startswith('SELECT "auth_user"')
    ]
    assert len(app_queries) <= 3, "\n".join(app_queries)
