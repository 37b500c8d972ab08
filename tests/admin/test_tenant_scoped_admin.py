"""A customer's own admin (staff whose requests resolve to a tenant) sees only their tenant."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from jira_connect.models import JiraConnection, JiraLink
from tests.conftest import link_form

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def tenant_from_header(settings):
    settings.JIRA_CONNECT = {
        **settings.JIRA_CONNECT,
        "TENANT_RESOLVER": "tests.flow.tenants.from_header",
    }


@pytest.fixture
def acme_admin(user_factory) -> Client:
    member = user_factory(username="acme-admin", is_staff=True)
    member.user_permissions.set(Permission.objects.filter(content_type__app_label="jira_connect"))
    client = Client(HTTP_X_TENANT="acme")
    client.force_login(member)
    return client


@pytest.fixture
def two_tenants(link_factory, connection_factory):
    acme = link_factory(name="Acme Jira", slug="acme", tenant="acme")
    globex = link_factory(name="Globex Jira", slug="globex", tenant="globex")
    connection_factory(link=acme, jira_display_name="Acme Person")
    connection_factory(link=globex, jira_display_name="Globex Person")
    return acme, globex


def test_lists_show_only_the_own_tenant(acme_admin, two_tenants) -> None:
    links = acme_admin.get(reverse("admin:jira_connect_jiralink_changelist")).content.decode()
    assert "Acme Jira" in links
    assert "Globex" not in links
    connections = acme_admin.get(
        reverse("admin:jira_connect_jiraconnection_changelist")
    ).content.decode()
    assert "Acme Person" in connections
    assert "Globex" not in connections  # neither the row nor a filter choice names it


def test_other_tenants_pages_are_out_of_reach(acme_admin, two_tenants) -> None:
    _, globex = two_tenants
    response = acme_admin.get(reverse("admin:jira_connect_jiralink_change", args=[globex.pk]))
    assert response.status_code == 302  # the admin's "does not exist" redirect
    assert (
        acme_admin.post(reverse("admin:jira_connect_jiralink_test", args=[globex.pk])).status_code
        == 404
    )
    other = JiraConnection.objects.get(link=globex)
    assert (
        acme_admin.get(
            reverse("admin:jira_connect_jiraconnection_change", args=[other.pk])
        ).status_code
        == 302
    )


def test_actions_cannot_reach_another_tenant(acme_admin, two_tenants) -> None:
    _, globex = two_tenants
    other = JiraConnection.objects.get(link=globex)
    acme_admin.post(
        reverse("admin:jira_connect_jiraconnection_changelist"),
        {"action": "disconnect", "_selected_action": [other.pk]},
    )
    assert JiraConnection.objects.filter(pk=other.pk).exists()


def test_links_added_belong_to_the_own_tenant(acme_admin) -> None:
    response = acme_admin.post(
        reverse("admin:jira_connect_jiralink_add"),
        link_form(
            name="Acme Two",
            slug="acme-two",
            tenant="globex",
            base_url="https://jira2.acme.test",
            client_id="x",
            client_secret="y",
        ),
    )
    assert response.status_code == 302
    assert JiraLink.objects.get(slug="acme-two").tenant == "acme"


def test_superusers_see_every_tenant(user_factory, two_tenants) -> None:
    client = Client(HTTP_X_TENANT="acme")
    client.force_login(user_factory(is_staff=True, is_superuser=True))
    html = client.get(reverse("admin:jira_connect_jiralink_changelist")).content.decode()
    assert "Acme Jira" in html
    assert "Globex Jira" in html
