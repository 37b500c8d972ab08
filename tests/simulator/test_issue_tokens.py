"""``issue_tokens()``: a grant without the browser dance, under the same rules as the real one."""

from __future__ import annotations

import pytest

from jira_connect.testing import SimulatorError
from tests.simulator.flow import api, connect, oauth_error, refresh


def test_tokens_work_like_a_real_grant(sim, client):
    body = sim.issue_tokens(client.client_id, user="bob")
    assert set(body) == set(connect(sim, client))
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert sim.is_valid_access_token(body["access_token"])
    assert sim.is_valid_refresh_token(body["refresh_token"])
    assert api(sim, "myself", body["access_token"]).json()["name"] == "bob"


def test_rotation_applies(sim, client):
    body = sim.issue_tokens(client.client_id)
    rotated = refresh(sim, client, body["refresh_token"])
    assert rotated.status_code == 200
    assert not sim.is_valid_refresh_token(body["refresh_token"])
    assert not sim.is_valid_access_token(body["access_token"])
    assert oauth_error(refresh(sim, client, body["refresh_token"])) == "invalid_grant"


def test_not_counted_and_not_faulted(sim, client):
    sim.inject("token", "server_error", times=None)
    sim.issue_tokens(client.client_id)
    assert sim.token_requests() == 0


def test_scope_is_capped_by_the_link(sim):
    reader = sim.register_client(redirect_uri="http://127.0.0.1:9/cb/", scope="READ")
    sim.configure(token_response_scope="scope")
    assert sim.issue_tokens(reader.client_id)["scope"] == "READ"
    assert sim.issue_tokens(reader.client_id, scope="ADMIN")["scope"] == "READ"
    with pytest.raises(ValueError, match="not Jira DC scopes"):
        sim.issue_tokens(reader.client_id, scope="read:jira-work")
    with pytest.raises(ValueError, match="may not grant"):
        sim.issue_tokens(reader.client_id, scope="READ_ALL")


def test_unknown_client_or_user(sim, client):
    with pytest.raises(SimulatorError):
        sim.issue_tokens("nope")
    with pytest.raises(SimulatorError, match="no active user"):
        sim.issue_tokens(client.client_id, user="mallory")


def test_revoke_kills_issued_tokens(sim, client):
    body = sim.issue_tokens(client.client_id, user="alice")
    assert sim.revoke(user="alice") == 1
    assert not sim.is_valid_refresh_token(body["refresh_token"])
