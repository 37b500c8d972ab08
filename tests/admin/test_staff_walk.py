"""What staff notice in the admin (issue #12, items 1-9): Cloud URLs, status, actions, tests."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from jira_connect.models import JiraConnection, JiraLink, LinkTestResult
from tests.conftest import jira_connect_settings, link_form
from tests.flow.conftest import connect

pytestmark = pytest.mark.django_db

ADD = "admin:jira_connect_jiralink_add"


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.atlassian.net",
        "https://acme.atlassian.net/jira",
        "https://ACME.atlassian.net/",
        "https://acme.jira.com",
        "https://acme.jira.com/wiki",
    ],
)
def test_jira_cloud_is_refused_with_what_to_use(staff, url) -> None:
    response = staff.post(reverse(ADD), link_form(base_url=url))
    assert response.status_code == 200
    html = response.content.decode()
    assert "is a Jira Cloud site" in html
    assert "This app connects to Jira Data Center" in html
    assert "OAuth 2.0 (3LO)" in html
    assert not JiraLink.objects.exists()


def test_a_data_center_host_that_only_resembles_cloud_is_fine(staff) -> None:
    response = staff.post(reverse(ADD), link_form(base_url="https://jira.notatlassian.net"))
    assert response.status_code == 302
    assert JiraLink.objects.get().base_url == "https://jira.notatlassian.net"


def change_url(connection) -> str:
    return reverse("admin:jira_connect_jiraconnection_change", args=[connection.pk])


def act_url(connection, action: str) -> str:
    return reverse("admin:jira_connect_jiraconnection_act", args=[connection.pk, action])


def test_status_is_not_editable(staff, connection_factory) -> None:
    connection = connection_factory(status=JiraConnection.Status.REVOKED, access_token="")
    html = staff.get(change_url(connection)).content.decode()
    assert '<select name="status"' not in html
    assert "Revoked" in html
    staff.post(change_url(connection), {"status": "active"})
    connection.refresh_from_db()
    assert connection.status == JiraConnection.Status.REVOKED


def test_change_page_has_the_actions_as_buttons(staff, connection_factory) -> None:
    connection = connection_factory()
    html = staff.get(change_url(connection)).content.decode()
    for action in ("refresh_now", "verify_identity", "revoke", "disconnect"):
        assert f'action="{act_url(connection, action)}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'class="jira-connect-tool"' in html


def test_buttons_run_the_action_and_come_back(staff, browser, jira, link) -> None:
    connect(browser, jira, link)
    connection = JiraConnection.objects.get()
    response = staff.post(act_url(connection, "refresh_now"))
    assert response["Location"] == change_url(connection)
    assert jira.token_requests(grant_type="refresh_token") == 1
    assert staff.get(act_url(connection, "refresh_now")).status_code == 405
    assert staff.post(act_url(connection, "nonsense")).status_code == 404


def test_revoke_button_asks_first(staff, connection_factory) -> None:
    connection = connection_factory()
    page = staff.post(act_url(connection, "revoke"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Revoke these connections?" in html
    assert f"on {connection.link.name} ({connection.link.slug})" in html
    connection.refresh_from_db()
    assert connection.status == JiraConnection.Status.ACTIVE
    staff.post(act_url(connection, "revoke"), {"post": "yes"})
    connection.refresh_from_db()
    assert connection.status == JiraConnection.Status.REVOKED


def test_bulk_disconnect_asks_first(staff, connection_factory) -> None:
    connection = connection_factory()
    changelist = reverse("admin:jira_connect_jiraconnection_changelist")
    page = staff.post(changelist, {"action": "disconnect", "_selected_action": [connection.pk]})
    assert "Disconnect these connections?" in page.content.decode()
    assert JiraConnection.objects.exists()
    done = staff.post(
        changelist,
        {"action": "disconnect", "_selected_action": [connection.pk], "post": "yes"},
        follow=True,
    )
    assert not JiraConnection.objects.exists()
    assert "Disconnected 1 connection: it is deleted, and its user is told why." in (
        done.content.decode()
    )


def test_viewer_sees_no_action_buttons(viewer, connection_factory) -> None:
    connection = connection_factory()
    html = viewer.get(change_url(connection)).content.decode()
    assert "jira-connect-tool" not in html
    assert viewer.post(act_url(connection, "revoke"), {"post": "yes"}).status_code == 403


def test_test_result_is_stored(staff, sim_link) -> None:
    staff.post(reverse("admin:jira_connect_jiralink_test", args=[sim_link.pk]))
    result = LinkTestResult.objects.get(link=sim_link)
    assert result.ok
    assert result.summary == "Sim Jira works."


def test_bulk_test_message_says_each_problem_once(staff, link_factory) -> None:
    broken = link_factory(name="Broken", base_url="https://127.0.0.1:9/jira")
    response = staff.post(
        reverse("admin:jira_connect_jiralink_changelist"),
        {"action": "test_links", "_selected_action": [broken.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert html.count("Jira is not reachable at the base URL") == 1
    assert "Broken has a problem: Jira is not reachable at the base URL: " in html
    assert not LinkTestResult.objects.get(link=broken).ok


def test_http_link_where_http_is_refused_names_the_https_rule(staff, link_factory) -> None:
    plain = link_factory(name="Plain", base_url="http://jira.example.com")
    with override_settings(JIRA_CONNECT=jira_connect_settings(ALLOW_HTTP=False)):
        response = staff.post(
            reverse("admin:jira_connect_jiralink_changelist"),
            {"action": "test_links", "_selected_action": [plain.pk]},
            follow=True,
        )
    html = response.content.decode()
    assert "This site may not connect to the base URL" in html
    assert "needs HTTPS" in html
    assert "not reachable" not in html


def test_a_failed_submit_keeps_the_pasted_secret_without_showing_it(staff) -> None:
    failed = staff.post(reverse(ADD), link_form(base_url="not a url"))
    assert failed.status_code == 200
    html = failed.content.decode()
    assert "secret-value-1234" not in html
    assert "The secret you pasted is kept (not shown)" in html
    token = failed.context["adminform"].form["secret_hold"].value()
    assert token
    assert f'name="secret_hold" value="{token}"' in html
    # The session holds it encrypted, not in plain text.
    assert "secret-value-1234" not in str(dict(staff.session))
    fixed = staff.post(reverse(ADD), link_form(client_secret="", secret_hold=token))
    assert fixed.status_code == 302
    assert JiraLink.objects.get().client_secret == "secret-value-1234"
    assert not staff.session.get("jira_connect.secret_holds")


def test_a_hold_is_only_good_in_its_own_session(staff, user_factory) -> None:
    from django.test import Client

    token = (
        staff.post(reverse(ADD), link_form(base_url="x"))
        .context["adminform"]
        .form["secret_hold"]
        .value()
    )
    other = Client()
    other.force_login(user_factory(username="other", is_staff=True, is_superuser=True))
    response = other.post(reverse(ADD), link_form(client_secret="", secret_hold=token))
    assert response.status_code == 200  # the secret is required: nothing held here
    assert not JiraLink.objects.exists()


def test_scope_is_one_choice_in_a_named_group(staff, link_factory) -> None:
    link = link_factory(scope="WRITE")
    html = staff.get(reverse("admin:jira_connect_jiralink_change", args=[link.pk])).content.decode()
    field = html.split('class="form-row field-scope"')[1].split('class="form-row')[0]
    assert "<fieldset" in field
    assert '<legend class="jira-connect-sr">Scope</legend>' in field
    assert field.count('type="radio"') == 6
    assert 'type="checkbox"' not in field
    assert 'value="WRITE"' in field.split("checked")[0] or 'value="WRITE" checked' in field
    assert 'aria-describedby="id_scope_description"' in field
    assert "READ and WRITE together are stored as WRITE" in field


def test_several_scopes_posted_are_folded(staff) -> None:
    staff.post(reverse(ADD), link_form(scope=["READ", "WRITE"]))
    assert JiraLink.objects.get().scope == "WRITE"


def test_a_two_group_scope_keeps_its_own_choice(staff, link_factory) -> None:
    link = link_factory(scope="ADMIN READ_ALL")
    html = staff.get(reverse("admin:jira_connect_jiralink_change", args=[link.pk])).content.decode()
    assert 'value="ADMIN READ_ALL"' in html
    data = link_form(slug=link.slug, name=link.name, client_secret="", scope="ADMIN READ_ALL")
    assert staff.post(reverse("admin:jira_connect_jiralink_change", args=[link.pk]), data)[
        "Location"
    ]
    link.refresh_from_db()
    assert link.scope == "ADMIN READ_ALL"


def test_raising_the_scope_without_connections_needs_no_confirmation(staff, link_factory) -> None:
    link = link_factory(scope="READ")
    data = link_form(slug=link.slug, name=link.name, client_secret="", scope="ADMIN")
    response = staff.post(reverse("admin:jira_connect_jiralink_change", args=[link.pk]), data)
    assert response.status_code == 302


def test_delete_confirmations_name_the_slug(staff, link_factory) -> None:
    first = link_factory(name="Globex Jira 2", slug="globex-2")
    second = link_factory(name="Globex Jira 2", slug="globex-2b")
    one = staff.get(reverse("admin:jira_connect_jiralink_delete", args=[first.pk]))
    assert "The link to delete: Globex Jira 2, slug “globex-2”." in one.content.decode()
    several = staff.post(
        reverse("admin:jira_connect_jiralink_changelist"),
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk]},
    ).content.decode()
    assert "Globex Jira 2, slug “globex-2”" in several
    assert "Globex Jira 2, slug “globex-2b”" in several


def test_secret_field_is_as_wide_as_the_others(staff) -> None:
    html = staff.get(reverse(ADD)).content.decode()
    field = html.split('name="client_secret"')[1].split(">")[0]
    assert 'class="vTextField"' in field
