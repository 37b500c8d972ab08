"""Every way a callback can fail: a clear page, a non-500 status, and nothing stored."""

from __future__ import annotations

import time

import pytest
from django.test import Client, override_settings

from jira_connect import state
from jira_connect.models import JiraConnection
from tests.conftest import jira_connect_settings
from tests.flow.conftest import local, start

pytestmark = pytest.mark.django_db


def callback_for(browser, jira, link) -> str:
    return local(jira.authorize(start(browser, link)))


def assert_refused(response, status: int, text: str) -> None:
    assert response.status_code == status, response.content.decode()[:500]
    assert text in response.content.decode()
    assert not JiraConnection.objects.exists()


@pytest.mark.parametrize(
    "querystring",
    [
        "?code=abc",
        "?code=abc&state=",
        "?code=abc&state=forged-state-value",
        "?code=abc&state=" + "x" * 5000,
        "?state=%00%FF&code=%00",
        "",
    ],
)
def test_missing_or_unknown_state(browser, link, jira, querystring) -> None:
    start(browser, link)  # a real flow is pending, but not this one
    response = browser.get("/jira/callback/" + querystring)
    assert response.status_code == 400
    assert not JiraConnection.objects.exists()
    assert jira.token_requests() == 0


def test_state_is_single_use(browser, link, jira) -> None:
    callback = callback_for(browser, jira, link)
    assert browser.get(callback).status_code == 302
    JiraConnection.objects.all().delete()
    response = browser.get(callback)
    assert_refused(response, 400, "already used")
    assert jira.token_requests(grant_type="authorization_code") == 1


def test_expired_state(browser, link, jira) -> None:
    callback = callback_for(browser, jira, link)
    with override_settings(JIRA_CONNECT=jira_connect_settings(STATE_TTL=1)):
        session = browser.session
        flows = session[state.SESSION_KEY]
        for data in flows.values():
            data["started_at"] = time.time() - 5
        session[state.SESSION_KEY] = flows
        session.save()
        response = browser.get(callback)
    assert_refused(response, 400, "expired")
    assert jira.token_requests() == 0


def test_state_from_another_users_session(link, jira, user_factory) -> None:
    alice_browser, mallory_browser = Client(), Client()
    alice_browser.force_login(user_factory())
    mallory_browser.force_login(user_factory())
    callback = callback_for(alice_browser, jira, link)
    response = mallory_browser.get(callback)
    assert_refused(response, 400, "unknown")
    assert jira.token_requests() == 0


def test_state_bound_to_the_user_in_the_same_session(browser, link, jira, user_factory) -> None:
    callback = callback_for(browser, jira, link)
    # Same session data, another user (e.g. a shared machine where someone else logged in
    # while keeping the session): the state names its user.
    session = browser.session
    flows = session[state.SESSION_KEY]
    for data in flows.values():
        data["user_pk"] = "999999"
    session[state.SESSION_KEY] = flows
    session.save()
    assert_refused(browser.get(callback), 400, "another user")


def test_pending_flows_are_capped(browser, link, jira) -> None:
    urls = [start(browser, link) for _ in range(state.MAX_PENDING + 3)]
    assert len(browser.session[state.SESSION_KEY]) == state.MAX_PENDING
    # The oldest were dropped, the newest still work.
    oldest = local(jira.authorize(urls[0]))
    assert browser.get(oldest).status_code == 400
    newest = local(jira.authorize(urls[-1]))
    assert browser.get(newest).status_code == 302


def test_garbage_in_the_session_is_ignored(browser, link, jira) -> None:
    session = browser.session
    session[state.SESSION_KEY] = {"x": "not a dict", 5: {}, "y": {"unexpected": 1}}
    session.save()
    assert browser.get("/jira/callback/?state=y&code=z").status_code == 400
    callback = callback_for(browser, jira, link)
    assert browser.get(callback).status_code == 302


def test_code_expired_before_exchange(browser, link, jira) -> None:
    callback = callback_for(browser, jira, link)
    jira.advance(60)  # Jira's codes live about 10 seconds
    assert_refused(browser.get(callback), 400, "may have expired")


@pytest.mark.parametrize(
    ("target", "fault", "status", "text"),
    [
        # The code exchange.
        ("token", "server_error", 502, "did not answer properly"),
        ("token", "bad_gateway_html", 502, "HTML"),
        ("token", "malformed_json", 502, "did not answer properly"),
        ("token", "no_access_token", 502, "did not answer properly"),
        ("token", "reset", 502, "did not answer properly"),
        ("token", "invalid_grant", 400, "may have expired"),
        ("token", "invalid_client", 400, "client ID and secret"),
        # The identity call after it.
        ("api", "unauthorized", 502, "did not recognise you"),
        ("api", "anonymous", 502, "did not recognise you"),
        ("api", "server_error", 502, "did not answer properly"),
        ("api", "malformed_json", 502, "did not answer properly"),
    ],
)
def test_token_and_identity_faults(browser, link, jira, target, fault, status, text) -> None:
    callback = callback_for(browser, jira, link)
    jira.inject(target, fault)
    assert_refused(browser.get(callback), status, text)


def test_token_endpoint_timeout(browser, link, jira) -> None:
    callback = callback_for(browser, jira, link)
    jira.inject("token", "delay", delay=1.0)
    with override_settings(JIRA_CONNECT=jira_connect_settings(HTTP_TIMEOUT=0.2)):
        assert_refused(browser.get(callback), 502, "did not answer")


def test_jira_down(browser, link, jira) -> None:
    callback = callback_for(browser, jira, link)
    jira.stop()
    assert_refused(browser.get(callback), 502, "did not answer properly")


def test_wrong_secret_on_the_link(browser, link, jira) -> None:
    link.client_secret = "not-the-secret"
    link.save()
    assert_refused(browser.get(callback_for(browser, jira, link)), 400, "client ID and secret")


def test_link_misconfigured_during_the_flow(browser, link, jira) -> None:
    """Staff turned ALLOW_HTTP off while a user was on Jira's consent page: a page, not a 500."""
    callback = callback_for(browser, jira, link)
    with override_settings(JIRA_CONNECT=jira_connect_settings(ALLOW_HTTP=False)):
        response = browser.get(callback)
    assert_refused(response, 503, "not set up correctly")
    assert jira.token_requests() == 0


def test_access_policy_changed_during_the_flow(browser, link, jira) -> None:
    callback = callback_for(browser, jira, link)
    with override_settings(
        JIRA_CONNECT=jira_connect_settings(LINK_ACCESS_POLICY=lambda user, link: False)
    ):
        response = browser.get(callback)
    assert_refused(response, 403, "no longer available")
    assert jira.token_requests() == 0


def test_jira_hosts_tightened_after_the_link_was_saved(browser, link, jira) -> None:
    """SSRF guard at call time: a stored link to a host no longer allowed is not contacted."""
    callback = callback_for(browser, jira, link)
    with override_settings(JIRA_CONNECT=jira_connect_settings(JIRA_HOSTS=["jira.example.com"])):
        response = browser.get(callback)
        assert_refused(response, 503, "not set up correctly")
        assert browser.post(f"/jira/{link.slug}/connect/").status_code == 503
    assert jira.token_requests() == 0


def test_pages_refuse_to_be_framed(browser, link) -> None:
    for url in ("/jira/", f"/jira/{link.slug}/connect/", "/jira/callback/"):
        assert browser.get(url)["X-Frame-Options"] == "DENY"
