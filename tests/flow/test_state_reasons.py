"""A refused callback tells the user why, in words: each reason the state check can give."""

from __future__ import annotations

import html
import time

import pytest
from django.test import override_settings

from jira_connect import state
from jira_connect.models import JiraConnection
from tests.conftest import jira_connect_settings
from tests.flow.conftest import local, start

pytestmark = pytest.mark.django_db


def refused_with(response, message: str) -> None:
    """Refused, and the page says exactly ``message`` (or, shortened, a part of it)."""
    assert response.status_code == 400
    shown = response.context["message"]
    assert shown == message if message.endswith(".") else message in shown
    assert f'<p class="jc-error">{html.escape(shown)}</p>' in response.content.decode()
    assert not JiraConnection.objects.exists()


def edit_flows(browser, change) -> None:
    session = browser.session
    flows = session[state.SESSION_KEY]
    for data in flows.values():
        change(data)
    session[state.SESSION_KEY] = flows
    session.save()


@pytest.mark.parametrize("querystring", ["?code=abc", "?code=abc&state="])
def test_no_state(browser, link, querystring) -> None:
    start(browser, link)
    refused_with(browser.get("/jira/callback/" + querystring), "The answer from Jira has no state.")


def test_a_state_too_long_to_be_ours(browser, link) -> None:
    start(browser, link)
    state_value = "x" * (state.MAX_STATE_LENGTH + 1)
    refused_with(
        browser.get(f"/jira/callback/?code=abc&state={state_value}"),
        "The answer from Jira has an invalid state.",
    )


def test_a_state_of_the_longest_length_is_looked_up(browser, link) -> None:
    """At the limit the state is still looked up: unknown, not invalid."""
    start(browser, link)
    state_value = "x" * state.MAX_STATE_LENGTH
    refused_with(
        browser.get(f"/jira/callback/?code=abc&state={state_value}"),
        "This connection attempt is unknown or was already used. Please start again.",
    )


def test_an_unreadable_attempt(browser, link, jira) -> None:
    callback = local(jira.authorize(start(browser, link)))
    edit_flows(browser, lambda data: data.update(surprise=1))  # e.g. left by an older version
    refused_with(
        browser.get(callback), "This connection attempt is unreadable. Please start again."
    )
    assert jira.token_requests() == 0
    # Refused, and gone: the same state is unknown now.
    refused_with(browser.get(callback), "unknown or was already used")


def test_an_expired_attempt(browser, link, jira) -> None:
    callback = local(jira.authorize(start(browser, link)))
    with override_settings(JIRA_CONNECT=jira_connect_settings(STATE_TTL=60)):
        edit_flows(browser, lambda data: data.update(started_at=time.time() - 61))
        refused_with(
            browser.get(callback), "This connection attempt has expired. Please start again."
        )
    assert jira.token_requests() == 0


def test_an_attempt_just_inside_its_lifetime_completes(browser, link, jira) -> None:
    callback = local(jira.authorize(start(browser, link)))
    with override_settings(JIRA_CONNECT=jira_connect_settings(STATE_TTL=60)):
        edit_flows(browser, lambda data: data.update(started_at=time.time() - 50))
        assert browser.get(callback).status_code == 302
    assert JiraConnection.objects.count() == 1


def test_an_attempt_of_another_user(browser, link, jira) -> None:
    callback = local(jira.authorize(start(browser, link)))
    edit_flows(browser, lambda data: data.update(user_pk="999999"))
    refused_with(browser.get(callback), "This connection attempt was started by another user.")


def test_expired_attempts_are_dropped_when_a_new_one_starts(browser, link, jira) -> None:
    with override_settings(JIRA_CONNECT=jira_connect_settings(STATE_TTL=60)):
        old = local(jira.authorize(start(browser, link)))
        edit_flows(browser, lambda data: data.update(started_at=time.time() - 61))
        start(browser, link)
        assert len(browser.session[state.SESSION_KEY]) == 1
        refused_with(browser.get(old), "unknown or was already used")


def test_the_newest_attempts_are_kept(browser, link, jira) -> None:
    """Starts are ordered by time, not by the order they sit in the session."""
    first = start(browser, link)
    # Make the first flow the newest by its clock: later starts must drop the others first.
    edit_flows(browser, lambda data: data.update(started_at=time.time() + 30))
    for _ in range(state.MAX_PENDING):
        start(browser, link)
    assert len(browser.session[state.SESSION_KEY]) == state.MAX_PENDING
    assert browser.get(local(jira.authorize(first))).status_code == 302


def test_finishing_one_attempt_keeps_the_others(browser, link, jira) -> None:
    """Two tabs: the first to come back must not throw away the second's attempt."""
    first = local(jira.authorize(start(browser, link)))
    second = local(jira.authorize(start(browser, link)))
    assert browser.get(first).status_code == 302
    JiraConnection.objects.all().delete()
    assert browser.get(second).status_code == 302
    assert JiraConnection.objects.count() == 1
