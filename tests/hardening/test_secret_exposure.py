"""No secret in HTML, logs, exceptions, reprs, error reports, the session or a URL (invariant 7)."""

from __future__ import annotations

import logging
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from jira_connect.exceptions import JiraUnavailable, ReauthorizationRequired
from jira_connect.models import JiraConnection
from tests.conftest import jira_connect_settings
from tests.flow.conftest import local, query, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_logger_at_debug(caplog):
    """What a site gets with DEBUG logging switched on for every logger, root included."""
    loggers = [
        logging.getLogger(),
        *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict)),
    ]
    levels = [(lg, lg.level, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    caplog.set_level(logging.DEBUG)
    yield caplog
    for lg, level, disabled in levels:
        lg.setLevel(level)
        lg.disabled = disabled


def log_text(caplog) -> str:
    parts = [caplog.text]
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        if record.exc_info:
            parts.append(repr(record.exc_info[1]))
    return "\n".join(parts)


def test_whole_life_of_a_connection_logs_no_secret(
    browser, link, jira, every_logger_at_debug
) -> None:
    secrets: set[str] = {link.client_secret}
    authorize_url = start(browser, link)
    callback = jira.authorize(authorize_url)
    secrets.add(query(callback)["code"])
    browser.get(local(callback))
    connection = JiraConnection.objects.select_related("link").get()
    secrets |= {connection.access_token, connection.refresh_token}
    session = connection.session()
    session.get("rest/api/2/myself")
    connection.refresh()
    fresh = JiraConnection.objects.get()
    secrets |= {fresh.access_token, fresh.refresh_token}
    jira.expire_access_tokens()
    session.get("rest/api/2/myself")  # 401, refresh, retry
    latest = JiraConnection.objects.get()
    secrets |= {latest.access_token, latest.refresh_token}
    jira.inject("token", "server_error")
    latest.expires_at = timezone.now() - timedelta(seconds=1)
    with pytest.raises(JiraUnavailable):
        latest.refresh()
    jira.revoke(user="alice")
    with (
        override_settings(JIRA_CONNECT=jira_connect_settings(REFRESH_RETRY_AFTER=0)),
        pytest.raises(ReauthorizationRequired),
    ):
        JiraConnection.objects.get().refresh()
    text = log_text(every_logger_at_debug)
    assert "Refreshed the Jira tokens" in text  # the logs are there, just without secrets
    for secret in secrets:
        assert secret not in text


def test_session_holds_no_token(browser, link, jira) -> None:
    callback = jira.authorize(start(browser, link))
    code = query(callback)["code"]
    browser.get(local(callback))
    connection = JiraConnection.objects.get()
    for stored in Session.objects.all():
        data = str(stored.get_decoded()) + stored.session_data
        for secret in (
            connection.access_token,
            connection.refresh_token,
            code,
            connection.link.client_secret,
        ):
            assert secret not in data


def test_no_secret_in_any_url(browser, link, jira) -> None:
    authorize_url = start(browser, link)
    assert link.client_secret not in authorize_url
    browser.get(local(jira.authorize(authorize_url)))
    connection = JiraConnection.objects.get()
    connection.session().get("rest/api/2/myself")
    connection.refresh()
    # The simulator logs every path it was asked for; none carries a token or secret.
    for record in jira.requests:
        for secret in (connection.access_token, connection.refresh_token, link.client_secret):
            assert secret not in record.path
            assert secret not in repr(record)


def test_no_secret_in_html(browser, link, jira, user_factory) -> None:
    browser.get(local(jira.authorize(start(browser, link))))
    connection = JiraConnection.objects.get()
    staff = Client()
    staff.force_login(user_factory(is_staff=True, is_superuser=True))
    pages = [
        browser.get("/jira/"),
        browser.get(f"/jira/{link.slug}/connect/"),
        staff.get(reverse("admin:jira_connect_jiralink_change", args=[link.pk])),
        staff.get(reverse("admin:jira_connect_jiralink_changelist")),
        staff.get(reverse("admin:jira_connect_jiraconnection_change", args=[connection.pk])),
        staff.get(reverse("admin:jira_connect_jiraconnection_changelist")),
        staff.post(reverse("admin:jira_connect_jiralink_test", args=[link.pk])),
    ]
    for page in pages:
        html = page.content.decode()
        for secret in (connection.access_token, connection.refresh_token, link.client_secret):
            assert secret not in html


def test_debug_500_page_hides_the_secrets_of_the_exchange(link, jira, user) -> None:
    """A bug deep in the exchange under DEBUG: Django's technical 500 page shows no secret.

    Needs ``jira_connect.debug.SensitiveExceptionReporterFilter`` (check I001), since Django
    hides sensitive variables only when DEBUG is off. The authorisation code itself is in the
    callback URL the page shows, as in every browser history and access log: by then it is
    spent (and Jira's codes live seconds).
    """
    client = Client(raise_request_exception=False)
    client.force_login(user)
    callback = jira.authorize(start(client, link))
    (pending,) = client.session["jira_connect.pending"].values()
    verifier = pending["code_verifier"]
    with (
        override_settings(DEBUG=True),
        mock.patch("jira_connect._http.requests.Session.request", side_effect=RuntimeError("boom")),
    ):
        response = client.get(local(callback))
    assert response.status_code == 500
    html = response.content.decode()
    assert "RuntimeError" in html  # it is the technical page
    assert "Local vars" in html
    for secret in (link.client_secret, verifier):
        assert secret not in html


def test_exceptions_and_reprs_hold_no_secret(browser, link, jira) -> None:
    browser.get(local(jira.authorize(start(browser, link))))
    connection = JiraConnection.objects.select_related("link").get()
    secrets = (connection.access_token, connection.refresh_token, link.client_secret)
    jira.revoke(user="alice")
    with pytest.raises(ReauthorizationRequired) as info:
        connection.refresh()
    texts = [
        str(info.value),
        repr(info.value),
        repr(info.value.args),
        repr(connection),
        str(connection),
    ]
    texts += [repr(link), str(link), repr(connection.session())]
    for text in texts:
        for secret in secrets:
            assert secret not in text
