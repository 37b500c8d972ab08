"""The link admin: setup guidance, scope choices, "Test this link", scope raises."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from jira_connect.models import JiraConnection
from tests.conftest import CLIENT_SECRET, link_form

pytestmark = pytest.mark.django_db


def change_url(link) -> str:
    return reverse("admin:jira_connect_jiralink_change", args=[link.pk])


def test_change_page_guides_the_setup(staff, link_factory) -> None:
    html = staff.get(change_url(link_factory())).content.decode()
    assert "Application links &gt; Create link &gt; External application &gt; Incoming" in html
    assert "<code class='jira-connect-redirect-url'>http://testserver/jira/callback/</code>" in html
    assert "Test this link" in html
    assert CLIENT_SECRET not in html


def test_add_page_shows_the_redirect_url_from_the_setting(staff, settings) -> None:
    settings.JIRA_CONNECT = {
        **settings.JIRA_CONNECT,
        "CALLBACK_URL": "https://app.example.com/jira/callback/",
    }
    html = staff.get(reverse("admin:jira_connect_jiralink_add")).content.decode()
    assert "https://app.example.com/jira/callback/" in html
    assert "Test this link" not in html  # nothing to test before saving


def test_scope_choices_explain_themselves(staff, link_factory) -> None:
    html = staff.get(change_url(link_factory(scope="WRITE"))).content.decode()
    assert "<strong>WRITE</strong>: Create, update and delete projects and issues" in html
    assert "includes READ" in html
    assert "Jira 10.3 and later" in html
    assert 'value="WRITE" checked' in html or 'value="WRITE"\n' in html or "checked" in html


def test_connection_count_column(staff, connection_factory) -> None:
    connection = connection_factory()
    connection_factory(link=connection.link)
    html = staff.get(reverse("admin:jira_connect_jiralink_changelist")).content.decode()
    assert f'?link__id__exact={connection.link.pk}">2</a>' in html


def test_ca_bundle_must_be_pem(staff, link_factory) -> None:
    link = link_factory()
    response = staff.post(change_url(link), link_form(link, ca_bundle="not a certificate"))
    assert response.status_code == 200
    assert "PEM certificates" in response.content.decode()


def run_test(staff, link) -> str:
    response = staff.post(reverse("admin:jira_connect_jiralink_test", args=[link.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_link_works(staff, sim_link) -> None:
    html = run_test(staff, sim_link)
    assert "Sim Jira works." in html
    assert "Jira answers at the base URL" in html
    assert "Acme Jira, Jira 10.3.0 (Server)" in html
    assert "Jira accepts the client ID and secret" in html
    assert CLIENT_SECRET not in html


def test_wrong_secret(staff, sim_link) -> None:
    sim_link.client_secret = "wrong"
    sim_link.save()
    html = run_test(staff, sim_link)
    assert "Jira does not accept the client ID and secret" in html
    assert "wrong" not in html.split("Jira does not accept")[1][:400]


def test_unknown_client_id(staff, sim_link) -> None:
    sim_link.client_id = "nobody"
    sim_link.save()
    assert "Jira does not accept the client ID and secret" in run_test(staff, sim_link)


def test_jira_unreachable(staff, sim_link, jira) -> None:
    jira.stop()
    html = run_test(staff, sim_link)
    assert "Jira is not reachable at the base URL" in html


def test_proxy_answers_html(staff, sim_link, jira) -> None:
    jira.inject("api", "bad_gateway_html")
    html = run_test(staff, sim_link)
    assert "Jira is not reachable at the base URL" in html
    assert "HTTP 502" in html


def test_wrong_context_path(staff, sim_link) -> None:
    sim_link.base_url = sim_link.base_url.removesuffix("/jira")
    sim_link.save()
    assert "Jira is not reachable at the base URL" in run_test(staff, sim_link)


def test_jira_calls_itself_otherwise(staff, jira_simulator_factory, link_factory) -> None:
    sim = jira_simulator_factory(advertised_base_url="https://jira.example.com")
    app = sim.register_client(redirect_uri="http://testserver/jira/callback/")
    link = link_factory(
        base_url=sim.base_url, client_id=app.client_id, client_secret=app.client_secret
    )
    html = run_test(staff, link)
    assert "Jira calls itself by another address" in html
    assert "works." in html  # a note, not a failure


def test_test_is_post_only_and_needs_change_permission(staff, viewer, sim_link) -> None:
    url = reverse("admin:jira_connect_jiralink_test", args=[sim_link.pk])
    assert staff.get(url).status_code == 405
    assert viewer.post(url).status_code == 403


def test_test_action(staff, sim_link, link_factory) -> None:
    broken = link_factory(base_url="http://127.0.0.1:9/jira")
    response = staff.post(
        reverse("admin:jira_connect_jiralink_changelist"),
        {"action": "test_links", "_selected_action": [sim_link.pk, broken.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "Sim Jira works." in html
    assert f"{broken.name} has a problem: Jira is not reachable at the base URL" in html


def test_viewer_sees_pages_without_secrets(viewer, connection_factory) -> None:
    connection = connection_factory()
    for url in (
        reverse("admin:jira_connect_jiralink_changelist"),
        change_url(connection.link),
        reverse("admin:jira_connect_jiraconnection_changelist"),
        reverse("admin:jira_connect_jiraconnection_change", args=[connection.pk]),
    ):
        response = viewer.get(url)
        assert response.status_code == 200, url
        assert CLIENT_SECRET not in response.content.decode()
        assert connection.access_token not in response.content.decode()
    assert "Test this link" not in viewer.get(change_url(connection.link)).content.decode()


def test_raising_the_scope_asks_connections_to_reconnect(
    connection_factory, link_factory, client, user_factory
) -> None:
    link = link_factory(scope="READ")
    read_grant = connection_factory(link=link, scope="READ")
    write_grant = connection_factory(link=link, scope="WRITE")  # e.g. granted before a lowering
    link.scope = "WRITE"
    link.save()
    read_grant.refresh_from_db()
    write_grant.refresh_from_db()
    assert read_grant.status == JiraConnection.Status.REAUTH_REQUIRED
    assert "now asks for WRITE" in read_grant.last_error
    assert write_grant.status == JiraConnection.Status.ACTIVE
    client.force_login(read_grant.user)
    html = client.get("/jira/").content.decode()
    assert "This link now asks for more access (WRITE). Reconnect to grant it." in html


def test_lowering_the_scope_changes_nothing(connection_factory, link_factory) -> None:
    link = link_factory(scope="WRITE")
    connection = connection_factory(link=link, scope="WRITE")
    link.scope = "READ"
    link.save()
    connection.refresh_from_db()
    assert connection.status == JiraConnection.Status.ACTIVE


def test_scope_raise_through_the_admin(staff, connection_factory, link_factory) -> None:
    link = link_factory(scope="READ")
    connection = connection_factory(link=link, scope="READ")
    data = link_form(link, scope=["WRITE"])
    asked = staff.post(change_url(link), data)
    assert asked.status_code == 200  # first, how many users must reconnect
    html = asked.content.decode()
    assert "Raising the scope to WRITE asks 1 connected user to reconnect" in html
    assert 'name="confirm_scope" value="WRITE"' in html
    connection.refresh_from_db()
    assert connection.status == JiraConnection.Status.ACTIVE
    assert staff.post(change_url(link), {**data, "confirm_scope": "WRITE"}).status_code == 302
    connection.refresh_from_db()
    assert connection.status == JiraConnection.Status.REAUTH_REQUIRED


@override_settings(LANGUAGE_CODE="en")
def test_link_list_search(staff, link_factory) -> None:
    link_factory(name="Findable Jira")
    link_factory(name="Other")
    html = staff.get(
        reverse("admin:jira_connect_jiralink_changelist") + "?q=findable"
    ).content.decode()
    assert "Findable Jira" in html
    assert ">Other<" not in html


@pytest.mark.parametrize("page", ["add", "change"])
def test_every_described_by_reference_exists(staff, link_factory, page) -> None:
    """Screen readers read a field's help through ``aria-describedby``: an id that names no
    element on the page (as the admin's help text has none for a radio group) reads nothing."""
    from html.parser import HTMLParser

    url = (
        reverse("admin:jira_connect_jiralink_add") if page == "add" else change_url(link_factory())
    )
    html = staff.get(url).content.decode()

    class Ids(HTMLParser):
        ids: set[str] = set()
        references: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found = dict(attrs)
            if found.get("id"):
                self.ids.add(str(found["id"]))
            self.references += str(found.get("aria-describedby") or "").split()

    parser = Ids()
    parser.ids, parser.references = set(), []
    parser.feed(html)
    assert parser.references
    assert [ref for ref in parser.references if ref not in parser.ids] == []
