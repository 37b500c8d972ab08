from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import connection as database
from django.test import Client
from django.test.utils import CaptureQueriesContext

from jira_connect.models import JiraLink
from jira_connect.testing.connections import create_link
from tests.flow.conftest import CALLBACK, browser, connect, jira, link, user  # noqa: F401


def page_queries(client: Client, url: str) -> int:
    """The queries one successful GET of ``url`` costs: the admin pages' query-count tests
    compare this as the rows grow, on the list and on the health page alike."""
    with CaptureQueriesContext(database) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.fixture
def staff(user_factory) -> Client:
    client = Client()
    client.force_login(user_factory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def viewer(user_factory) -> Client:
    """Limited staff: may only view links and connections."""
    member = user_factory(username="viewer", is_staff=True)
    member.user_permissions.set(
        Permission.objects.filter(codename__in=["view_jiralink", "view_jiraconnection"])
    )
    client = Client()
    client.force_login(member)
    return client


@pytest.fixture
def sim_link(jira, db) -> JiraLink:  # noqa: F811
    return create_link(jira, name="Sim Jira", slug="sim", redirect_uri=CALLBACK)
