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


def edit_records(browser, key: str, change) -> None:
    """Apply ``change`` to each record the session keeps under ``key``."""
    session = browser.session
    records = session[key]
    for data in records.values():
        change(data)
    session[key] = records
    session.save()


def edit_flows(browser, change) -> None:
    edit_records(browser, state.SESSION_KEY, change)


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


# --- an attempt that succeeded, approved again on Jira's consent page (Back, then Allow) ---------


def flash(response) -> list[str]:
    from django.contrib.messages import get_messages

    return [str(message) for message in get_messages(response.wsgi_request)]


def edit_used(browser, change) -> None:
    edit_records(browser, state.USED_SESSION_KEY, change)


def approved_twice(browser, link, jira, next_url: str = "/projects/") -> tuple[str, str]:
    """The callback addresses of one attempt approved twice on Jira's consent page."""
    authorize_url = start(browser, link, next=next_url)
    return local(jira.authorize(authorize_url)), local(jira.authorize(authorize_url))


ALREADY = "You are already connected to Acme Jira as Alice Example."


def approved_again(browser, link, jira, *, after: float):
    """The answer to approving an attempt again ``after`` seconds its first approval came back
    (STATE_TTL 60 s)."""
    with override_settings(JIRA_CONNECT=jira_connect_settings(STATE_TTL=60)):
        first, second = approved_twice(browser, link, jira)
        assert browser.get(first).status_code == 302
        edit_used(browser, lambda data: data.update(used_at=time.time() - after))
        return browser.get(second)


def test_approved_again_within_its_lifetime_says_connected(browser, link, jira) -> None:
    response = approved_again(browser, link, jira, after=58)
    assert (response.status_code, response["Location"]) == (302, "/projects/")
    assert flash(response)[-1] == ALREADY
    assert jira.token_requests("authorization_code") == 1


def test_approved_again_after_its_lifetime_is_unknown(browser, link, jira) -> None:
    response = approved_again(browser, link, jira, after=60)
    assert response.status_code == 400
    assert "unknown or was already used" in response.context["message"]


def test_approved_again_by_another_user_in_the_session_is_refused(
    browser, link, jira, user_factory
) -> None:
    first, second = approved_twice(browser, link, jira)
    assert browser.get(first).status_code == 302
    browser.force_login(user_factory())  # the session's user changed since
    assert browser.get(second).status_code == 400


def test_an_unreadable_record_of_a_completed_attempt_is_ignored(browser, link, jira) -> None:
    first, second = approved_twice(browser, link, jira)
    assert browser.get(first).status_code == 302
    edit_used(browser, lambda data: data.update(extra="left by another version"))
    response = browser.get(second)
    assert response.status_code == 400
    assert "unknown or was already used" in response.context["message"]


def test_a_state_too_long_to_be_ours_is_not_looked_up_among_completed_ones(browser, link) -> None:
    response = browser.get(f"/jira/callback/?code=abc&state={'a' * (state.MAX_STATE_LENGTH + 1)}")
    assert response.status_code == 400
    assert "invalid state" in response.context["message"]


def test_completed_attempts_are_remembered_newest_first_and_only_for_their_lifetime(
    browser, link, jira
) -> None:
    """The records of completed attempts are capped like the pending ones: the newest by their
    clock are kept, and those past STATE_TTL are dropped when another attempt completes."""
    kept_first, kept_again = approved_twice(browser, link, jira)
    assert browser.get(kept_first).status_code == 302
    edit_used(browser, lambda data: data.update(used_at=time.time() + 30))  # the newest
    for _ in range(state.MAX_PENDING):
        first, _second = approved_twice(browser, link, jira)
        assert browser.get(first).status_code == 302
    assert len(browser.session[state.USED_SESSION_KEY]) == state.MAX_PENDING
    response = browser.get(kept_again)
    assert (response.status_code, flash(response)[-1]) == (302, ALREADY)
    with override_settings(JIRA_CONNECT=jira_connect_settings(STATE_TTL=60)):
        edit_used(browser, lambda data: data.update(used_at=time.time() - 61))
        first, _second = approved_twice(browser, link, jira)
        assert browser.get(first).status_code == 302
    assert len(browser.session[state.USED_SESSION_KEY]) == 1  # only the one just completed


def test_the_oldest_completed_attempt_is_the_one_forgotten(browser, link, jira) -> None:
    """Over the cap, the record dropped is the oldest by its clock, whatever else orders them."""
    for _ in range(state.MAX_PENDING):
        first, _second = approved_twice(browser, link, jira)
        assert browser.get(first).status_code == 302
    session = browser.session
    used = session[state.USED_SESSION_KEY]
    digests = sorted(used)
    now = time.time()
    for rank, digest in enumerate(digests):  # the last in any other order is the oldest
        used[digest]["used_at"] = now - 10 - rank
    session[state.USED_SESSION_KEY] = used
    session.save()
    first, _second = approved_twice(browser, link, jira)
    assert browser.get(first).status_code == 302
    kept = set(browser.session[state.USED_SESSION_KEY])
    assert digests[-1] not in kept
    assert set(digests[:-1]) <= kept


@pytest.mark.parametrize("key", [state.SESSION_KEY, state.USED_SESSION_KEY])
def test_records_without_their_time_are_dropped_not_a_crash(browser, link, jira, key) -> None:
    """Records another version left without their timestamp: the next attempt drops them."""
    first, _second = approved_twice(browser, link, jira)  # one pending record left behind
    assert browser.get(first).status_code == 302  # and one completed record
    start(browser, link)

    def forget_the_time(data: dict[str, object]) -> None:
        data.pop("started_at", None)
        data.pop("used_at", None)

    edit_records(browser, key, forget_the_time)
    first, _second = approved_twice(browser, link, jira)
    assert browser.get(first).status_code == 302
    assert all("started_at" in data or "used_at" in data for data in browser.session[key].values())
