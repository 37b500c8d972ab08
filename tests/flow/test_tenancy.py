"""Tenant isolation: a user of tenant A can never start, complete, disconnect or use B's link."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from jira_connect.exceptions import LinkAccessDenied
from jira_connect.models import JiraConnection
from jira_connect.testing.connections import create_link
from tests.conftest import jira_connect_settings
from tests.flow.conftest import CALLBACK, local

pytestmark = pytest.mark.django_db

RESOLVER = "tests.flow.tenants.from_header"


@pytest.fixture(autouse=True)
def tenant_settings(settings):
    settings.JIRA_CONNECT = {**settings.JIRA_CONNECT, "TENANT_RESOLVER": RESOLVER}


@pytest.fixture
def links(jira_simulator_factory, db):
    acme_jira = jira_simulator_factory(context_path="/jira")
    globex_jira = jira_simulator_factory()
    shared_jira = jira_simulator_factory()
    made = {}
    for tenant, sim in (("acme", acme_jira), ("globex", globex_jira), ("shared", shared_jira)):
        fields = {"tenant": tenant} if tenant != "shared" else {}
        link = create_link(
            sim, name=f"{tenant.title()} Jira", slug=tenant, redirect_uri=CALLBACK, **fields
        )
        made[tenant] = (link, sim)
    return made


def browser_for(tenant: str, user) -> Client:
    client = Client(HTTP_X_TENANT=tenant)
    client.force_login(user)
    return client


def test_connections_page_shows_own_and_shared_links_only(links, user) -> None:
    html = browser_for("acme", user).get("/jira/").content.decode()
    assert "Acme Jira" in html
    assert "Shared Jira" in html
    assert "Globex Jira" not in html


def test_no_tenant_sees_only_shared_links(links, user) -> None:
    client = Client()
    client.force_login(user)
    html = client.get("/jira/").content.decode()
    assert "Shared Jira" in html
    assert "Acme Jira" not in html


def test_cannot_start_on_another_tenants_link(links, user) -> None:
    browser = browser_for("acme", user)
    assert browser.get("/jira/globex/connect/").status_code == 404
    assert browser.post("/jira/globex/connect/").status_code == 404
    assert links["globex"][1].authorize_requests() == 0


def test_cannot_complete_with_own_state_under_another_tenant(links, user) -> None:
    """A valid state of this user's, started under tenant B, completed under tenant A."""
    _link, sim = links["globex"]
    globex_browser = browser_for("globex", user)
    callback = local(sim.authorize(globex_browser.post("/jira/globex/connect/")["Location"]))
    # Same session (same cookies), now presenting as tenant acme.
    acme_browser = Client(HTTP_X_TENANT="acme")
    acme_browser.cookies = globex_browser.cookies
    response = acme_browser.get(callback)
    assert response.status_code == 403
    assert not JiraConnection.objects.exists()
    assert sim.token_requests() == 0


def test_callback_never_trusts_a_link_named_in_the_query(links, user) -> None:
    link, sim = links["acme"]
    browser = browser_for("acme", user)
    callback = local(sim.authorize(browser.post("/jira/acme/connect/")["Location"]))
    browser.get(callback + "&link=globex&slug=globex")
    connection = JiraConnection.objects.get()
    assert connection.link == link


def test_cannot_disconnect_on_another_tenants_link(links, user, connection_factory) -> None:
    connection_factory(user=user, link=links["globex"][0])
    response = browser_for("acme", user).post("/jira/globex/disconnect/")
    assert response.status_code == 404
    assert JiraConnection.objects.count() == 1


def test_python_api_applies_the_access_policy(links, user, connection_factory) -> None:
    connection = connection_factory(user=user, link=links["globex"][0])
    assert JiraConnection.objects.for_user(user, "globex") == connection
    with (
        override_settings(
            JIRA_CONNECT=jira_connect_settings(
                LINK_ACCESS_POLICY=lambda user, link: link.tenant in ("", "acme")
            )
        ),
        pytest.raises(LinkAccessDenied),
    ):
        JiraConnection.objects.for_user(user, "globex")


def test_full_flow_per_tenant(links, user) -> None:
    for tenant in ("acme", "globex"):
        _link, sim = links[tenant]
        browser = browser_for(tenant, user)
        callback = local(sim.authorize(browser.post(f"/jira/{tenant}/connect/")["Location"]))
        assert browser.get(callback).status_code == 302
    assert {c.link.slug for c in JiraConnection.objects.all()} == {"acme", "globex"}
