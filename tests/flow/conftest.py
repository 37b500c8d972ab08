from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from jira_connect.models import JiraLink
from jira_connect.testing import JiraDCSimulator
from jira_connect.testing.connections import create_link

CALLBACK = "http://testserver/jira/callback/"


@pytest.fixture
def jira(jira_simulator_factory) -> JiraDCSimulator:
    """A simulated Jira under a context path, as many real installations are."""
    return jira_simulator_factory(context_path="/jira", server_title="Acme Jira")


@pytest.fixture
def link(jira, db) -> JiraLink:
    """The testing kit's link (`create_link`), named for the flow's assertions."""
    return create_link(jira, name="Acme Jira", slug="acme", redirect_uri=CALLBACK)


@pytest.fixture
def user(user_factory):
    return user_factory(username="carol")


@pytest.fixture
def browser(client: Client, user) -> Client:
    client.force_login(user)
    return client


def start(browser: Client, link: JiraLink, **data) -> str:
    """POST the connect form; return Jira's authorise URL."""
    response = browser.post(f"/jira/{link.slug}/connect/", data)
    assert response.status_code == 302, response.content
    return response["Location"]


def local(url: str) -> str:
    """The path and query of an absolute URL, for Django's test client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def connect(browser: Client, jira: JiraDCSimulator, link: JiraLink, *, user: str = "alice", **data):
    """The whole dance: start, approve on Jira as ``user``, come back."""
    callback = jira.authorize(start(browser, link, **data), user=user)
    return browser.get(local(callback))
