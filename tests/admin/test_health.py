"""The staff health page: daily refresh counters fed by the signals, and the page itself."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import DatabaseError
from django.db import connection as db
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from jira_connect import health, signals
from jira_connect.exceptions import ReauthorizationRequired
from jira_connect.models import JiraConnection, LinkTestResult, RefreshDay
from tests.admin.conftest import page_queries
from tests.admin.test_connection_admin import make_rows
from tests.flow.conftest import connect

pytestmark = pytest.mark.django_db

HEALTH = "admin:jira_connect_linkhealth_changelist"


def test_signals_count_each_outcome_per_day(connection_factory) -> None:
    connection = connection_factory()
    for _ in range(3):
        signals.token_refreshed.send(sender=JiraConnection, connection=connection)
    signals.token_refresh_failed.send(
        sender=JiraConnection, connection=connection, error=None, reauth_required=False
    )
    signals.token_refresh_failed.send(
        sender=JiraConnection, connection=connection, error=None, reauth_required=True
    )
    day = RefreshDay.objects.get(link=connection.link)
    assert (day.day, day.refreshed, day.failed, day.reauth) == (timezone.localdate(), 3, 1, 1)


def test_real_refreshes_are_counted(
    staff, browser, jira, link, django_capture_on_commit_callbacks
) -> None:
    connect(browser, jira, link)
    connection = JiraConnection.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        connection.refresh()
    jira.revoke(user="alice")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ReauthorizationRequired):
        connection.refresh()
    day = RefreshDay.objects.get(link=link)
    assert (day.refreshed, day.failed, day.reauth) == (1, 0, 1)


def test_the_counter_row_is_created_once(link_factory) -> None:
    link = link_factory()
    health.count_refresh(link.pk, "refreshed")
    health.count_refresh(link.pk, "refreshed")
    assert RefreshDay.objects.get().refreshed == 2
    with pytest.raises(ValueError, match="unknown refresh outcome"):
        health.count_refresh(link.pk, "exploded")


def test_page_shows_counts_chart_test_and_failing_links(staff, link_factory, connection_factory):
    good = link_factory(name="Good Jira", slug="good")
    bad = link_factory(name="Bad Jira", slug="bad")
    connection_factory(link=good)
    connection_factory(link=good, status=JiraConnection.Status.REAUTH_REQUIRED)
    connection_factory(link=bad, status=JiraConnection.Status.REVOKED)
    today = timezone.localdate()
    RefreshDay.objects.create(link=good, day=today, refreshed=9)
    RefreshDay.objects.create(link=good, day=today - timedelta(days=20), failed=50)  # too old
    RefreshDay.objects.create(link=bad, day=today - timedelta(days=1), failed=4, reauth=1)
    LinkTestResult.objects.create(
        link=bad, ok=False, summary="Bad Jira has a problem: X", tested_at=timezone.now()
    )
    response = staff.get(reverse(HEALTH))
    assert response.status_code == 200
    html = response.content.decode()
    failing = html.split('id="jira-connect-failing"')[1].split("</div>")[0]
    assert "Bad Jira" in failing
    assert "Good Jira" not in failing
    assert "0 refreshed, 4 failed, 1 must reconnect" in failing
    assert "Refreshes of Good Jira per day over the last 14 days: 9 refreshed, 0 failed" in html
    for part in ("<svg", 'class="refreshed"', 'class="reauth"'):
        assert part in html
    assert "<script" not in html.split('id="content-main"')[1]
    assert "Bad Jira has a problem: X" in html
    assert "never tested" in html  # Good Jira
    assert "UTC" in html  # times say their time zone


def test_reachable_from_the_admin_index(staff) -> None:
    html = staff.get(reverse("admin:index")).content.decode()
    assert reverse(HEALTH) in html


def test_tenant_staff_see_their_tenant_only(settings, user_factory, link_factory) -> None:
    settings.JIRA_CONNECT = {
        **settings.JIRA_CONNECT,
        "TENANT_RESOLVER": "tests.flow.tenants.from_header",
    }
    link_factory(name="Acme Jira", tenant="acme")
    link_factory(name="Globex Jira", tenant="globex")
    member = user_factory(username="acme-admin", is_staff=True)
    member.user_permissions.set(Permission.objects.filter(codename="view_jiralink"))
    client = Client(HTTP_X_TENANT="acme")
    client.force_login(member)
    html = client.get(reverse(HEALTH)).content.decode()
    assert "Acme Jira" in html
    assert "Globex" not in html


def test_staff_without_link_permissions_are_refused(user_factory) -> None:
    member = user_factory(username="clerk", is_staff=True)
    client = Client()
    client.force_login(member)
    assert client.get(reverse(HEALTH)).status_code == 403


def test_query_count_is_the_same_for_100_and_10000_connections(staff, link_factory) -> None:
    link = link_factory()
    for back in range(14):
        RefreshDay.objects.create(
            link=link, day=timezone.localdate() - timedelta(days=back), refreshed=back
        )
    make_rows(link, 100)
    small = page_queries(staff, reverse(HEALTH))
    make_rows(link, 9_900)
    assert JiraConnection.objects.count() == 10_000
    assert page_queries(staff, reverse(HEALTH)) == small
    assert "<dd>10000</dd>" in staff.get(reverse(HEALTH)).content.decode()


def test_the_chart_caption_says_the_highest_bar_as_it_is(staff, link_factory) -> None:
    """A link with no refresh at all is not captioned "Highest bar: 1 refreshes"."""
    quiet = link_factory(name="Quiet Jira", slug="quiet")
    busy = link_factory(name="Busy Jira", slug="busy")
    RefreshDay.objects.create(link=busy, day=timezone.localdate(), refreshed=1)
    html = staff.get(reverse(HEALTH)).content.decode()
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", html)
    assert sorted(captions) == ["Highest bar: 1 refresh.", "No refreshes on these days."]
    assert quiet.name in html


def test_a_bulk_run_writes_its_counts_when_it_ends(link_factory) -> None:
    link = link_factory()
    with health.counting_in_bulk():
        with health.counting_in_bulk():  # runs may overlap: the counts wait for neither
            health.count_refresh(link.pk, "refreshed")
        health.count_refresh(link.pk, "refreshed")
        health.count_refresh(link.pk, "failed")
        with CaptureQueriesContext(db) as queries:
            health.count_refresh(link.pk, "reauth")
        assert len(queries) == 0
    day = RefreshDay.objects.get(link=link)
    assert (day.refreshed, day.failed, day.reauth) == (2, 1, 1)
    health.count_refresh(link.pk, "refreshed")  # after the run: written at once again
    assert RefreshDay.objects.get(link=link).refreshed == 3


def test_a_long_bulk_run_writes_its_counts_as_it_goes(link_factory, monkeypatch) -> None:
    link = link_factory()
    with health.counting_in_bulk():
        health.count_refresh(link.pk, "refreshed")
        assert not RefreshDay.objects.exists()
        monkeypatch.setattr(health, "BULK_FLUSH_SECONDS", 0.0)
        health.count_refresh(link.pk, "refreshed")
        assert RefreshDay.objects.get(link=link).refreshed == 2


def test_counts_that_cannot_be_written_do_not_stop_the_run(
    link_factory, monkeypatch, caplog
) -> None:
    link = link_factory()

    def database_down(*args: object) -> None:
        raise DatabaseError("the database went away")

    with health.counting_in_bulk():
        health.count_refresh(link.pk, "refreshed")
        monkeypatch.setattr(health, "_add", database_down)
    assert not RefreshDay.objects.exists()
    assert "Could not add {'refreshed': 1} to the health counts" in caplog.text
