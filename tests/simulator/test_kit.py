"""The plugin's Django-side fixtures and the functions behind them, as a host site uses them."""

from __future__ import annotations

import pytest

from jira_connect.exceptions import ReauthorizationRequired
from jira_connect.models import JiraConnection
from jira_connect.testing import connections


@pytest.mark.django_db
def test_link_is_registered_on_the_simulator(jira_link, jira_simulator) -> None:
    client = jira_simulator.client(jira_link.client_id)
    assert client.client_secret == jira_link.client_secret
    assert client.redirect_uri == "http://testserver/jira/callback/"
    assert jira_link.base_url == jira_simulator.base_url


def test_connection_holds_a_real_grant(jira_connection, jira_simulator) -> None:
    assert jira_simulator.is_valid_access_token(jira_connection.access_token)
    assert jira_connection.jira_key == "JIRAUSER10000"
    assert jira_connection.jira_display_name == "Alice Example"
    me = jira_connection.session().get("rest/api/2/myself").json()
    assert me["name"] == "alice"
    assert jira_simulator.token_requests(grant_type="refresh_token") == 0


def test_expired_connection_refreshes_once(jira_expired_connection, jira_simulator) -> None:
    old = jira_expired_connection.access_token
    assert not jira_simulator.is_valid_access_token(old)
    assert jira_expired_connection.is_expired()
    session = jira_expired_connection.session()
    assert session.get("rest/api/2/myself").status_code == 200
    assert session.get("rest/api/2/myself").status_code == 200
    assert jira_simulator.token_requests(grant_type="refresh_token") == 1


def test_must_reconnect_connection(jira_must_reconnect_connection) -> None:
    connection = jira_must_reconnect_connection
    assert connection.status == JiraConnection.Status.ACTIVE
    with pytest.raises(ReauthorizationRequired):
        connection.session().get("rest/api/2/myself")
    connection.refresh_from_db()
    assert connection.status == JiraConnection.Status.REAUTH_REQUIRED


@pytest.mark.django_db(transaction=True)
def test_factory_touches_only_its_connection(jira_connection_factory, jira_simulator) -> None:
    kept = jira_connection_factory()
    expired = jira_connection_factory(expired=True)
    revoked = jira_connection_factory(must_reconnect=True, jira_user="bob")
    assert len({kept.user_id, expired.user_id, revoked.user_id}) == 3
    assert jira_simulator.is_valid_access_token(kept.access_token)
    assert jira_simulator.is_valid_refresh_token(expired.refresh_token)
    assert not jira_simulator.is_valid_refresh_token(revoked.refresh_token)
    assert revoked.jira_name == "bob"


def test_one_grant_revoked_or_expired_by_its_token(jira_simulator) -> None:
    client = jira_simulator.register_client(redirect_uri="http://testserver/cb/")
    one = jira_simulator.issue_tokens(client.client_id)
    two = jira_simulator.issue_tokens(client.client_id)
    jira_simulator.expire_access_tokens(token=one["refresh_token"])
    assert not jira_simulator.is_valid_access_token(one["access_token"])
    assert jira_simulator.is_valid_refresh_token(one["refresh_token"])
    assert jira_simulator.is_valid_access_token(two["access_token"])
    assert jira_simulator.revoke(token=one["access_token"]) == 1
    assert not jira_simulator.is_valid_refresh_token(one["refresh_token"])
    assert jira_simulator.is_valid_refresh_token(two["refresh_token"])
    assert jira_simulator.revoke(token="unknown") == 0
    with pytest.raises(ValueError, match="token alone"):
        jira_simulator.revoke(token=two["access_token"], user="alice")


def test_callback_url_follows_the_setting(settings) -> None:
    assert connections.callback_url() == "http://testserver/jira/callback/"
    settings.JIRA_CONNECT = {**settings.JIRA_CONNECT, "CALLBACK_URL": "https://app.example/cb/"}
    assert connections.callback_url() == "https://app.example/cb/"


def test_fixtures_under_transactional_db(transactional_db, jira_expired_connection) -> None:
    from django.db import connection as database

    assert not database.in_atomic_block  # committed for real: other threads would see it
    assert jira_expired_connection.session().get("rest/api/2/myself").status_code == 200
    jira_expired_connection.refresh_from_db()
    assert not jira_expired_connection.is_expired()
