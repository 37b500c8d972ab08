"""``API_AUTHENTICATION``: a front end that sends a token instead of the session cookie.

A token in a header is a credential a browser never adds to a forged cross-site
request, so requests it authenticates skip the CSRF check; a request that the
session cookie alone would authenticate as the same user keeps it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client, override_settings

from jira_connect import state
from jira_connect.checks import check_settings
from jira_connect.conf import app_settings
from jira_connect.models import JiraConnection
from tests.api import tokens
from tests.api.conftest import LINKS, FrontEnd, assert_problem, connect_url, disconnect_url
from tests.conftest import jira_connect_settings

pytestmark = pytest.mark.django_db

BEARER = "tests.api.tokens.bearer_user"
BEARER_OR_SESSION = "tests.api.tokens.bearer_or_session_user"


@pytest.fixture
def token(user) -> Iterator[str]:
    tokens.TOKENS["t0k3n"] = user.username
    yield "t0k3n"
    tokens.TOKENS.clear()


def with_authentication(path: str):
    return override_settings(JIRA_CONNECT=jira_connect_settings(API_AUTHENTICATION=path))


def test_default_is_the_session() -> None:
    from jira_connect.api import session_user

    assert app_settings.API_AUTHENTICATION is session_user


@pytest.mark.parametrize("value", ["tests.api.tokens.nothing_here", "no.such.module", 42, ""])
def test_a_path_that_does_not_import_is_a_check_error(value) -> None:
    with override_settings(JIRA_CONNECT=jira_connect_settings(API_AUTHENTICATION=value)):
        messages = check_settings()
    assert [m.id for m in messages if m.id != "jira_connect.W003"] == ["jira_connect.E002"]
    assert 'JIRA_CONNECT["API_AUTHENTICATION"]' in messages[0].msg


def test_a_token_needs_no_csrf_and_no_session(token, user, link, jira) -> None:
    browser = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {token}")
    with with_authentication(BEARER):
        links = browser.get(LINKS)
        assert links.status_code == 200
        assert links.json()["csrf_token"] is None
        response = browser.post(connect_url("acme"), b"{}", content_type="application/json")
        assert response.status_code == 200, response.content
        assert response.json()["authorize_url"].startswith(jira.authorize_endpoint)
        # The flow waits in a session of its own, which the callback in this browser reads.
        assert state.SESSION_KEY in browser.session
        assert browser.post(disconnect_url("acme")).status_code == 204


def test_a_wrong_token_is_401(token, link) -> None:
    browser = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION="Bearer nope")
    with with_authentication(BEARER):
        assert_problem(browser.get(LINKS), 401, "not-authenticated")
        assert_problem(browser.post(connect_url("acme")), 401, "not-authenticated")


def test_with_a_token_setting_the_session_alone_is_not_enough(spa, link) -> None:
    with with_authentication(BEARER):
        assert_problem(spa.links(), 401, "not-authenticated")


def test_session_fallback_keeps_the_csrf_check(spa, user, link, connection_factory) -> None:
    connection_factory(user=user, link=link)
    with with_authentication(BEARER_OR_SESSION):
        assert spa.links().status_code == 200
        assert_problem(spa.client.post(disconnect_url("acme")), 403, "csrf-failed")
        assert JiraConnection.objects.filter(user=user).exists()
        assert spa.disconnect("acme").status_code == 204


def test_a_token_beside_the_same_users_session_keeps_the_csrf_check(token, spa, link) -> None:
    """The cookie alone would authenticate this request: it could be forged, so it is checked."""
    with with_authentication(BEARER_OR_SESSION):
        response = spa.client.post(connect_url("acme"), HTTP_AUTHORIZATION=f"Bearer {token}")
        assert_problem(response, 403, "csrf-failed")
        response = spa.connect("acme", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 200


def test_tenancy_applies_to_the_token_user(token, link_factory) -> None:
    link_factory(slug="globex", tenant="globex")
    browser = FrontEnd(Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {token}"))
    with with_authentication(BEARER):
        assert browser.links().json()["links"] == []
        assert_problem(browser.connect("globex"), 404, "not-found")
