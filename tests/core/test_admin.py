"""The admin never renders a secret, and a blank secret field keeps the stored one."""

from __future__ import annotations

import pytest
from django.urls import reverse

from jira_connect.models import JiraConnection, JiraLink
from tests.conftest import ACCESS_TOKEN, CLIENT_SECRET, REFRESH_TOKEN, link_form

pytestmark = pytest.mark.django_db

SECRETS = (CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN)


@pytest.fixture
def staff_client(client, user_factory):
    client.force_login(user_factory(is_staff=True, is_superuser=True))
    return client


def form_data(**overrides):
    return link_form(
        **{
            "tenant": "acme",
            "base_url": "https://jira.acme.test/jira/",
            "client_id": "abc123",
            "client_secret": "s3cr3t-value",
            "scope": ["READ", "WRITE"],
            **overrides,
        }
    )


def assert_no_secret(html: str, *extra: str) -> None:
    for secret in (*SECRETS, *extra):
        assert secret not in html


def test_add_link_stores_normalised_values(staff_client) -> None:
    response = staff_client.post(reverse("admin:jira_connect_jiralink_add"), form_data())
    assert response.status_code == 302, response.content.decode()
    link = JiraLink.objects.get(slug="acme")
    assert link.client_secret == "s3cr3t-value"
    assert link.base_url == "https://jira.acme.test/jira"
    assert link.scope == "WRITE"


def test_add_link_requires_a_secret(staff_client) -> None:
    response = staff_client.post(
        reverse("admin:jira_connect_jiralink_add"), form_data(client_secret="")
    )
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not JiraLink.objects.exists()


def test_change_page_never_renders_the_secret(staff_client, connection_factory) -> None:
    connection = connection_factory()
    for url in (
        reverse("admin:jira_connect_jiralink_change", args=[connection.link.pk]),
        reverse("admin:jira_connect_jiralink_changelist"),
        reverse("admin:jira_connect_jiraconnection_change", args=[connection.pk]),
        reverse("admin:jira_connect_jiraconnection_changelist"),
    ):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert_no_secret(response.content.decode())


def test_connection_page_shows_token_presence(staff_client, connection_factory) -> None:
    connection = connection_factory(refresh_token="")
    html = staff_client.get(
        reverse("admin:jira_connect_jiraconnection_change", args=[connection.pk])
    ).content.decode()
    assert "access token present" in html
    assert "no refresh token" in html


def test_blank_secret_on_change_keeps_the_stored_one(staff_client, link_factory) -> None:
    link = link_factory(slug="acme")
    url = reverse("admin:jira_connect_jiralink_change", args=[link.pk])
    response = staff_client.post(url, form_data(client_secret="", name="Renamed"))
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.name == "Renamed"
    assert link.client_secret == CLIENT_SECRET


def test_new_secret_on_change_replaces_it(staff_client, link_factory) -> None:
    link = link_factory(slug="acme")
    staff_client.post(
        reverse("admin:jira_connect_jiralink_change", args=[link.pk]),
        form_data(client_secret="brand-new"),
    )
    link.refresh_from_db()
    assert link.client_secret == "brand-new"


def test_invalid_form_does_not_echo_the_typed_secret(staff_client) -> None:
    response = staff_client.post(
        reverse("admin:jira_connect_jiralink_add"),
        form_data(base_url="http://", client_secret="typed-secret-xyz"),
    )
    assert response.status_code == 200
    assert_no_secret(response.content.decode(), "typed-secret-xyz")
    assert not JiraLink.objects.exists()


def test_invalid_change_keeps_everything_stored(staff_client, link_factory) -> None:
    link = link_factory(slug="acme", scope="READ")
    response = staff_client.post(
        reverse("admin:jira_connect_jiralink_change", args=[link.pk]),
        form_data(scope=["read:jira-work"], client_secret=""),
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    link.refresh_from_db()
    assert link.scope == "READ"
    assert link.client_secret == CLIENT_SECRET


@pytest.mark.parametrize(
    ("url_name", "lookup"),
    [
        ("admin:jira_connect_jiralink_changelist", "client_secret__startswith=c"),
        ("admin:jira_connect_jiraconnection_changelist", "access_token__isnull=False"),
        ("admin:jira_connect_jiraconnection_changelist", "link__client_secret__startswith=c"),
    ],
)
def test_lookups_on_secrets_are_refused(staff_client, connection_factory, url_name, lookup) -> None:
    connection_factory()
    response = staff_client.get(f"{reverse(url_name)}?{lookup}")
    # Django answers a disallowed lookup with a redirect carrying ?e=1, never a filtered list.
    assert response.status_code in {302, 400}
    assert_no_secret(response.content.decode())


def test_changelist_search(staff_client, connection_factory) -> None:
    connection_factory(jira_display_name="Zelda Findme")
    connection_factory(jira_display_name="Other Person")
    html = staff_client.get(
        reverse("admin:jira_connect_jiraconnection_changelist") + "?q=findme"
    ).content.decode()
    assert "Zelda Findme" in html
    assert "Other Person" not in html
    assert JiraConnection.objects.count() == 2
