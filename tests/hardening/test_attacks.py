"""Attacks on the flow that need two parties: code injection, and a state from another link."""

from __future__ import annotations

import pytest
from django.test import Client

from jira_connect.models import JiraConnection
from jira_connect.testing.connections import create_link
from tests.flow.conftest import local, query, start

pytestmark = pytest.mark.django_db


def test_injected_code_fails_pkce(link, jira, user_factory) -> None:
    """An attacker's own authorisation code, pasted into a victim's callback with the victim's
    valid state: the exchange carries the victim's PKCE verifier, so Jira refuses it."""
    attacker, victim = Client(), Client()
    attacker.force_login(user_factory())
    victim.force_login(user_factory())
    attacker_code = query(jira.authorize(start(attacker, link), user="bob"))["code"]
    victim_state = query(jira.authorize(start(victim, link), user="alice"))["state"]
    response = victim.get(f"/jira/callback/?code={attacker_code}&state={victim_state}")
    assert response.status_code == 400
    assert not JiraConnection.objects.exists()
    assert jira.token_requests(grant_type="authorization_code") == 1  # refused by Jira (PKCE)


def test_intercepted_code_is_useless_without_the_verifier(link, jira, user) -> None:
    """A code stolen on its way back (logs, referrer) cannot be redeemed by another session."""
    thief, owner = Client(), Client()
    owner.force_login(user)
    thief.force_login(user)  # even the same account, from another session
    callback = jira.authorize(start(owner, link))
    assert thief.get(local(callback)).status_code == 400  # the state lives in the owner's session
    assert jira.token_requests() == 0
    assert owner.get(local(callback)).status_code == 302


def test_state_of_one_link_cannot_complete_another(
    link, jira, user, jira_simulator_factory
) -> None:
    """Mix-up: the callback takes the link from the state, never from the request."""
    other_sim = jira_simulator_factory()
    other = create_link(other_sim, slug="other")
    client = Client()
    client.force_login(user)
    other_state = query(other_sim.authorize(start(client, other)))["state"]
    code_from_first = query(jira.authorize(start(client, link)))["code"]
    response = client.get(f"/jira/callback/?code={code_from_first}&state={other_state}")
    assert response.status_code == 400  # sent to the other link's Jira, which never issued it
    assert jira.token_requests() == 0
    assert not JiraConnection.objects.exists()
