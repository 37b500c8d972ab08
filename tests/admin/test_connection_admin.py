"""The connection admin: the list, its filters and search, the actions, and a flat query count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection as db
from django.urls import reverse
from django.utils import timezone

from jira_connect import crypto
from jira_connect.models import JiraConnection
from tests.admin.conftest import page_queries
from tests.conftest import ACCESS_TOKEN, REFRESH_TOKEN
from tests.flow.conftest import connect

pytestmark = pytest.mark.django_db

LIST = "admin:jira_connect_jiraconnection_changelist"


def test_list_columns(staff, connection_factory, link_factory) -> None:
    link = link_factory(tenant="acme", name="Acme Jira")
    connection_factory(link=link, last_error="invalid_grant: Invalid refresh token.")
    html = staff.get(reverse(LIST)).content.decode()
    for text in (
        "Acme Jira",
        "Alice Example (alice)",
        "Connected",
    ):
        assert text in html
    # The error and the tenant are on the change page (and the tenant filter), not in the list.
    assert "invalid_grant: Invalid refresh token." not in html
    assert ACCESS_TOKEN not in html
    assert REFRESH_TOKEN not in html


def test_no_add_button(staff) -> None:
    assert staff.get(reverse("admin:jira_connect_jiraconnection_add")).status_code == 403


def test_filters(staff, connection_factory, link_factory) -> None:
    acme = link_factory(tenant="acme")
    globex = link_factory(tenant="globex")
    connection_factory(link=acme, jira_display_name="Acme Person")
    connection_factory(
        link=globex, jira_display_name="Globex Person", status=JiraConnection.Status.REAUTH_REQUIRED
    )
    html = staff.get(reverse(LIST) + "?tenant=acme").content.decode()
    assert "Acme Person" in html
    assert "Globex Person" not in html
    html = staff.get(reverse(LIST) + "?status__exact=reauth_required").content.decode()
    assert "Globex Person" in html
    assert "Acme Person" not in html
    html = staff.get(reverse(LIST) + f"?link__id__exact={acme.pk}").content.decode()
    assert "Acme Person" in html
    assert "Globex Person" not in html


def test_search_by_user_and_jira_identity(staff, connection_factory, user_factory) -> None:
    connection_factory(
        user=user_factory(username="dora"),
        jira_email="dora@corp.example",
        jira_display_name="D. One",
    )
    connection_factory(jira_display_name="Someone Else")
    for query in ("dora", "corp.example"):
        html = staff.get(reverse(LIST) + f"?q={query}").content.decode()
        assert "D. One" in html
        assert "Someone Else" not in html


def act(staff, action: str, *pks: int, confirmed: bool = True):
    data = {"action": action, "_selected_action": list(pks)}
    if confirmed:
        data["post"] = "yes"  # revoke and disconnect ask first
    return staff.post(reverse(LIST), data, follow=True)


def test_refresh_and_verify_actions(staff, browser, jira, link) -> None:
    connect(browser, jira, link)
    connection = JiraConnection.objects.get()
    response = act(staff, "refresh_now", connection.pk)
    assert "Jira issued new tokens for 1 connection." in response.content.decode()
    assert jira.token_requests(grant_type="refresh_token") == 1
    jira.rename_user("alice", "alice2")
    response = act(staff, "verify_identity", connection.pk)
    assert (
        "Jira accepted the token of 1 connection and confirmed who it belongs to"
        in response.content.decode()
    )
    assert JiraConnection.objects.get().jira_name == "alice2"


def test_actions_when_jira_is_down_report_per_row(staff, browser, jira, link) -> None:
    connect(browser, jira, link)
    connection = JiraConnection.objects.get()
    jira.stop()
    response = act(staff, "refresh_now", connection.pk)
    assert response.status_code == 200
    assert "Could not connect to Jira" in response.content.decode()
    assert JiraConnection.objects.get().status == JiraConnection.Status.ACTIVE


def test_action_on_a_revoked_grant(staff, browser, jira, link) -> None:
    connect(browser, jira, link)
    jira.revoke(user="alice")
    response = act(staff, "refresh_now", JiraConnection.objects.get().pk)
    assert "the user must reconnect" in response.content.decode()


def test_disconnect_action(staff, connection_factory) -> None:
    first, second = connection_factory(), connection_factory()
    response = act(staff, "disconnect", first.pk, second.pk)
    assert "Disconnected 2 connections: they are deleted" in response.content.decode()
    assert not JiraConnection.objects.exists()


def test_viewer_cannot_act(viewer, connection_factory) -> None:
    connection = connection_factory()
    response = act(viewer, "disconnect", connection.pk)
    assert response.status_code in {200, 403}
    assert JiraConnection.objects.filter(pk=connection.pk).exists()


def make_rows(link, count: int) -> None:
    user_model = get_user_model()
    start = user_model.objects.count()
    users = user_model.objects.bulk_create(
        [user_model(username=f"bulk{start + n}") for n in range(count)], batch_size=1000
    )
    if db.vendor == "sqlite" or users[0].pk is None:
        users = list(user_model.objects.filter(username__startswith="bulk").order_by("pk"))[-count:]
    token = crypto.encrypt(ACCESS_TOKEN)
    now = timezone.now()
    rows = [
        JiraConnection(
            link=link,
            user=user,
            expires_at=now + timedelta(hours=1),
            jira_name=f"j{n}",
            jira_display_name=f"Person {n}",
            last_refreshed_at=now,
        )
        for n, user in enumerate(users)
    ]
    JiraConnection.objects.bulk_create(rows, batch_size=1000)
    JiraConnection.objects.filter(link=link).update(access_token=ACCESS_TOKEN)
    assert token  # the encryption itself is exercised by the update above


def test_list_query_count_does_not_grow_with_rows(staff, link_factory) -> None:
    link = link_factory()
    make_rows(link, 100)
    small = page_queries(staff, reverse(LIST))
    make_rows(link, 9_900)
    assert JiraConnection.objects.count() == 10_000
    assert page_queries(staff, reverse(LIST)) == small


def test_revoke_action(staff, browser, jira, link) -> None:
    from jira_connect.exceptions import ReauthorizationRequired

    connect(browser, jira, link)
    connection = JiraConnection.objects.get()
    response = act(staff, "revoke", connection.pk)
    assert "Revoked 1 connection: its tokens are forgotten" in response.content.decode()
    stored = JiraConnection.objects.get()
    assert stored.status == JiraConnection.Status.REVOKED
    assert stored.access_token == stored.refresh_token == ""
    assert stored.jira_name == "alice"  # the record stays
    with pytest.raises(ReauthorizationRequired):
        stored.session().get("rest/api/2/myself")
    html = browser.get("/jira/").content.decode()
    assert "An administrator revoked this connection" in html
    assert "Reconnect" in html
    connect(browser, jira, link)
    assert JiraConnection.objects.get().status == JiraConnection.Status.ACTIVE


def test_revoking_sends_the_revoked_signal(
    staff, connection_factory, django_capture_on_commit_callbacks
) -> None:
    from jira_connect import signals

    connection = connection_factory()
    received: list[dict[str, object]] = []

    def receiver(sender, **kwargs) -> None:
        received.append(kwargs)

    signals.revoked.connect(receiver, sender=JiraConnection, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            act(staff, "revoke", connection.pk)
    finally:
        signals.revoked.disconnect(receiver, sender=JiraConnection)
    assert len(received) == 1
    assert getattr(received[0]["connection"], "pk", None) == connection.pk
    assert received[0]["reason"]
