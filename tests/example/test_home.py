"""The example site's home page and issues API, on the plugin's ``jira_*`` fixtures."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from example_project.demo.views import LinkPanel
from jira_connect.models import JiraConnection

RECONNECT = "Jira no longer accepts this connection: reconnect to see your issues."


def visit(client: Client, connection: JiraConnection) -> Any:
    client.force_login(connection.user)
    response = client.get("/")
    assert response.status_code == 200
    return response


def home(client: Client, connection: JiraConnection) -> list[LinkPanel]:
    return visit(client, connection).context["panels"]


@pytest.mark.django_db
def test_a_user_without_a_connection_is_offered_the_link(client, jira_link, django_user_model):
    client.force_login(django_user_model.objects.create_user("dora"))
    page = client.get("/").content.decode()
    assert jira_link.name in page
    assert f'action="/jira/{jira_link.slug}/connect/"' in page


def test_a_connected_user_sees_their_issues(client, jira_connection, jira_simulator):
    [panel] = home(client, jira_connection)
    assert panel.problem == ""
    assert panel.issues
    keys = [issue["key"] for issue in panel.issues]
    assert all(key.split("-")[0] in {"ACME", "OPS", "MOB"} for key in keys)
    assert jira_simulator.api_requests("search") == 1


def test_an_expired_connection_refreshes_once(client, jira_expired_connection, jira_simulator):
    assert home(client, jira_expired_connection)[0].issues
    assert home(client, jira_expired_connection)[0].issues
    assert jira_simulator.token_requests(grant_type="refresh_token") == 1


def test_a_revoked_grant_asks_to_reconnect(client, jira_must_reconnect_connection):
    connection = jira_must_reconnect_connection
    [panel] = home(client, connection)
    assert panel.problem == RECONNECT
    assert panel.issues == []
    connection.refresh_from_db()
    assert connection.status == JiraConnection.Status.REAUTH_REQUIRED
    # The next visit no longer asks Jira: the button offers to reconnect instead.
    response = visit(client, connection)
    assert response.context["panels"][0].problem == ""
    assert "Reconnect" in response.content.decode()


def test_each_user_sees_their_own_issues(client, jira_connection_factory):
    alice = jira_connection_factory()
    bob = jira_connection_factory(jira_user="bob")
    [alices] = home(client, alice)
    [bobs] = home(client, bob)
    assert alices.issues
    assert bobs.issues
    assert {issue["key"] for issue in alices.issues}.isdisjoint(
        issue["key"] for issue in bobs.issues
    )


def test_the_issues_api_answers_per_link(client, jira_connection, jira_simulator):
    client.force_login(jira_connection.user)
    response = client.get("/issues.json")
    assert response.status_code == 200
    [panel] = response.json()["links"]
    assert panel["link"] == jira_connection.link.slug
    assert panel["problem"] == ""
    assert panel["issues"]
