"""A flow started through the JSON API ends back on the front end's ``next``, outcome in the query."""

from __future__ import annotations

import pytest

from jira_connect.models import JiraConnection
from tests.flow.conftest import local, query

pytestmark = pytest.mark.django_db


def start(spa, jira, body=None, *, allow: bool = True) -> str:
    """Connect through the API, play the user on Jira; return the callback path."""
    response = spa.connect("acme", body)
    assert response.status_code == 200, response.content
    return local(jira.authorize(response.json()["authorize_url"], allow=allow))


def test_connected(spa, user, link, jira) -> None:
    callback = start(spa, jira, {"next": "/spa/?tab=jira#/settings"})
    response = spa.client.get(callback)
    assert response.status_code == 302
    assert response["Location"] == (
        "/spa/?tab=jira&jira_connect=connected&jira_connect_link=acme#/settings"
    )
    connection = spa.links().json()["links"][0]["connection"]
    assert connection["status"] == "active"
    assert connection["jira"]["name"] == "alice"
    assert JiraConnection.objects.filter(user=user, link=link).exists()
    # The front end reads the outcome itself: nothing waits in the messages framework.
    assert not list(spa.client.get("/jira/").context["messages"])


def test_reconnected_replaces_stale_outcome_parameters(spa, link, jira) -> None:
    spa.client.get(start(spa, jira))
    callback = start(spa, jira, {"next": "/spa/?jira_connect=error&jira_connect_error=x&a=1"})
    location = spa.client.get(callback)["Location"]
    assert query(location) == {"a": "1", "jira_connect": "connected", "jira_connect_link": "acme"}


def test_without_next_back_to_the_connections_page(spa, link, jira) -> None:
    response = spa.client.get(start(spa, jira))
    assert response["Location"] == "/jira/?jira_connect=connected&jira_connect_link=acme"


def test_denied(spa, user, link, jira) -> None:
    response = spa.client.get(start(spa, jira, {"next": "/spa/"}, allow=False))
    assert response["Location"] == "/spa/?jira_connect=denied&jira_connect_link=acme"
    assert not JiraConnection.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    ("fault", "target", "code"),
    [
        ("invalid_grant", "token", "invalid_grant"),
        ("invalid_client", "token", "invalid_client"),
        ("server_error", "token", "unavailable"),
        ("anonymous", "api", "not_recognised"),
    ],
)
def test_errors(spa, user, link, jira, fault, target, code) -> None:
    callback = start(spa, jira, {"next": "/spa/"})
    jira.inject(target, fault)
    response = spa.client.get(callback)
    assert response.status_code == 302
    assert query(response["Location"]) == {
        "jira_connect": "error",
        "jira_connect_link": "acme",
        "jira_connect_error": code,
    }
    assert not JiraConnection.objects.filter(user=user).exists()


def test_link_gone_meanwhile(spa, link, jira) -> None:
    callback = start(spa, jira, {"next": "/spa/"})
    link.is_active = False
    link.save()
    location = spa.client.get(callback)["Location"]
    assert query(location)["jira_connect_error"] == "access_lost"


def test_a_forged_state_still_gets_the_error_page(spa, link, jira) -> None:
    """Without a flow of our own there is no trustworthy ``next`` to go back to."""
    start(spa, jira, {"next": "/spa/"})
    response = spa.client.get("/jira/callback/?state=forged&code=x")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_html_flow_is_unchanged(spa, link, jira) -> None:
    response = spa.client.post(
        "/jira/acme/connect/",
        {"next": "/spa/", "csrfmiddlewaretoken": spa.links().json()["csrf_token"]},
    )
    assert response.status_code == 302
    callback = local(jira.authorize(response["Location"]))
    response = spa.client.get(callback)
    assert response["Location"] == "/spa/"
    messages = [str(m) for m in spa.client.get("/jira/").context["messages"]]
    assert messages == ["Connected to Acme Jira as Alice Example."]
