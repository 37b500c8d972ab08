"""The fault matrix: each way Jira can fail, at each step, and what the user, the caller and the
stored tokens see (DESIGN §4, invariants 11 and 12). One test per cell.
"""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
import requests
from django.test import override_settings
from django.utils import timezone

from jira_connect.exceptions import JiraUnavailable, OAuthError, ReauthorizationRequired
from jira_connect.models import JiraConnection
from tests.conftest import jira_connect_settings
from tests.flow.conftest import connect, local, start

pytestmark = pytest.mark.django_db

TRANSIENT = [
    "server_error",
    "bad_gateway_html",
    "malformed_json",
    "no_access_token",
    "reset",
    "timeout",
    "refused",
]


def inject(jira, target: str, fault: str) -> dict[str, object]:
    """Make the next call to ``target`` fail with ``fault``; returns settings overrides."""
    if fault == "timeout":
        jira.inject(target, "delay", delay=1.0)
        return {"HTTP_TIMEOUT": 0.2}
    if fault == "refused":
        jira.stop()
        return {}
    jira.inject(target, fault)
    return {}


def settings_with(**changes: object) -> dict[str, object]:
    """No cool-down between faults: each cell asks Jira afresh."""
    return jira_connect_settings(**{"REFRESH_RETRY_AFTER": 0, **changes})


# --- the code exchange (the callback) ---------------------------------------------------------

EXCHANGE = {
    "server_error": (502, "did not answer properly"),
    "bad_gateway_html": (502, "HTML"),
    "malformed_json": (502, "did not answer properly"),
    "no_access_token": (502, "did not answer properly"),
    "reset": (502, "did not answer properly"),
    "timeout": (502, "did not answer"),
    "refused": (502, "did not answer properly"),
    "invalid_grant": (400, "may have expired"),
    "invalid_client": (400, "client ID and secret"),
}


@pytest.mark.parametrize("fault", list(EXCHANGE))
def test_exchange(browser, link, jira, fault) -> None:
    callback = local(jira.authorize(start(browser, link)))
    overrides = inject(jira, "token", fault)
    with override_settings(JIRA_CONNECT=settings_with(**overrides)):
        response = browser.get(callback)
    status, text = EXCHANGE[fault]
    assert response.status_code == status
    assert text in response.content.decode()
    assert not JiraConnection.objects.exists()


def test_exchange_without_refresh_token(browser, link, jira) -> None:
    """Jira DC always sends one; if it did not, the user is connected until the token expires."""
    callback = local(jira.authorize(start(browser, link)))
    jira.inject("token", "no_refresh_token")
    assert browser.get(callback).status_code == 302
    connection = JiraConnection.objects.get()
    assert connection.refresh_token == ""
    connection.expires_at = timezone.now() - timedelta(seconds=1)
    with pytest.raises(ReauthorizationRequired):
        connection.session().get("rest/api/2/myself")
    assert JiraConnection.objects.get().last_error == "no refresh token"


# --- the refresh -------------------------------------------------------------------------------


@pytest.fixture
def expired(browser, link, jira) -> JiraConnection:
    connect(browser, jira, link)
    connection = JiraConnection.objects.select_related("link").get()
    connection.expires_at = timezone.now() - timedelta(seconds=1)
    JiraConnection.objects.filter(pk=connection.pk).update(expires_at=connection.expires_at)
    return connection


@pytest.mark.parametrize("fault", TRANSIENT)
def test_refresh_transient(expired, jira, fault) -> None:
    overrides = inject(jira, "token", fault)
    with (
        override_settings(JIRA_CONNECT=settings_with(**overrides)),
        pytest.raises(JiraUnavailable) as info,
    ):
        expired.session().get("rest/api/2/myself")
    assert info.value.retryable
    stored = JiraConnection.objects.get()
    assert (stored.access_token, stored.refresh_token) == (
        expired.access_token,
        expired.refresh_token,
    )
    assert stored.status == JiraConnection.Status.ACTIVE
    assert stored.last_error


def test_refresh_invalid_grant(expired, jira) -> None:
    jira.inject("token", "invalid_grant")
    with pytest.raises(ReauthorizationRequired):
        expired.session().get("rest/api/2/myself")
    stored = JiraConnection.objects.get()
    assert stored.status == JiraConnection.Status.REAUTH_REQUIRED
    assert stored.refresh_token == expired.refresh_token  # kept, never replaced by nothing


def test_refresh_invalid_client(expired, jira) -> None:
    """The link's credentials broke (staff reset the secret): not the user's to fix."""
    jira.inject("token", "invalid_client")
    with pytest.raises(OAuthError) as info:
        expired.session().get("rest/api/2/myself")
    assert info.value.error == "invalid_client"
    stored = JiraConnection.objects.get()
    assert stored.status == JiraConnection.Status.ACTIVE
    assert stored.refresh_token == expired.refresh_token
    assert "invalid_client" in stored.last_error


def test_refresh_without_refresh_token(expired, jira) -> None:
    old_access, old_refresh = expired.access_token, expired.refresh_token
    jira.inject("token", "no_refresh_token")
    assert expired.session().get("rest/api/2/myself").status_code == 200
    stored = JiraConnection.objects.get()
    assert stored.refresh_token == old_refresh
    assert stored.access_token != old_access


def test_refresh_answer_lost_before_commit(expired, jira) -> None:
    """The process dies between Jira's answer and the commit: the old pair stays stored.

    Jira rotated the tokens, so the stored refresh token is dead: the next refresh gets
    ``invalid_grant`` and the user reconnects once. Nothing half-written survives.
    """
    with (
        mock.patch.object(JiraConnection, "save", side_effect=SystemExit("killed")),
        pytest.raises(SystemExit),
    ):
        expired.refresh()
    stored = JiraConnection.objects.get()
    assert (stored.access_token, stored.refresh_token) == (
        expired.access_token,
        expired.refresh_token,
    )
    assert jira.token_requests(grant_type="refresh_token") == 1
    with pytest.raises(ReauthorizationRequired):
        JiraConnection.objects.get().refresh()
    assert JiraConnection.objects.get().status == JiraConnection.Status.REAUTH_REQUIRED


def test_refresh_response_lost_on_the_wire(expired, jira) -> None:
    """Jira rotated but the answer never arrived: a retryable error now, a reconnect later."""
    jira.inject("token", "lost_response")
    with override_settings(JIRA_CONNECT=settings_with()), pytest.raises(JiraUnavailable):
        expired.refresh()
    assert JiraConnection.objects.get().refresh_token == expired.refresh_token
    with override_settings(JIRA_CONNECT=settings_with()), pytest.raises(ReauthorizationRequired):
        JiraConnection.objects.get().refresh()


# --- an API call through connection.session() -----------------------------------------------------

API = {
    "server_error": 500,
    "bad_gateway_html": 502,
    "malformed_json": 200,
}


@pytest.fixture
def connected(browser, link, jira) -> JiraConnection:
    connect(browser, jira, link)
    return JiraConnection.objects.select_related("link").get()


@pytest.mark.parametrize("fault", list(API))
def test_api_errors_come_back_as_responses(connected, jira, fault) -> None:
    """Jira's answers are the caller's: status and body as Jira sent them, tokens untouched."""
    jira.inject("api", fault)
    response = connected.session().get("rest/api/2/myself")
    assert response.status_code == API[fault]
    if fault == "malformed_json":
        with pytest.raises(requests.JSONDecodeError):
            response.json()
    else:
        with pytest.raises(requests.HTTPError):
            response.raise_for_status()
    assert JiraConnection.objects.get().access_token == connected.access_token
    assert jira.token_requests(grant_type="refresh_token") == 0


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("timeout", requests.Timeout),
        ("refused", requests.ConnectionError),
        ("reset", requests.ConnectionError),
    ],
)
def test_api_transport_failures_raise_requests_errors(connected, jira, fault, error) -> None:
    overrides = inject(jira, "api", fault)
    with override_settings(JIRA_CONNECT=settings_with(**overrides)), pytest.raises(error):
        connected.session().get("rest/api/2/myself")
    assert JiraConnection.objects.get().access_token == connected.access_token


def test_api_401_right_after_a_successful_refresh(connected, jira) -> None:
    """One refresh and one retry; a second 401 is the answer (no loop)."""
    jira.inject("api", "unauthorized", times=2)
    response = connected.session().get("rest/api/2/myself")
    assert response.status_code == 401
    assert jira.token_requests(grant_type="refresh_token") == 1
    stored = JiraConnection.objects.get()
    assert stored.status == JiraConnection.Status.ACTIVE
    assert jira.is_valid_access_token(stored.access_token)
