"""Admin-side changes, observability, users, several servers, lifecycle and TLS."""

from __future__ import annotations

import time

import pytest
import requests

from jira_connect.testing import JiraDCSimulator, SimulatorError
from tests.simulator.flow import (
    REDIRECT_URI,
    TIMEOUT,
    api,
    connect,
    exchange,
    exchange_params,
    oauth_error,
    refresh,
    start,
)


# -- revocation ----------------------------------------------------------------------------------
def test_revoke_only_hits_that_user_and_client(sim, client):
    other_client = sim.register_client(redirect_uri=REDIRECT_URI, name="Other app")
    alice = connect(sim, client, user="alice")
    alice_other = connect(sim, other_client, user="alice")
    bob = connect(sim, client, user="bob")
    pending_code, verifier = start(sim, client, user="alice")

    assert sim.revoke(user="alice", client_id=client.client_id) == 1

    assert api(sim, "myself", alice["access_token"]).status_code == 401
    assert oauth_error(refresh(sim, client, alice["refresh_token"])) == "invalid_grant"
    assert oauth_error(exchange(sim, client, pending_code, verifier)) == "invalid_grant"
    assert api(sim, "myself", alice_other["access_token"]).status_code == 200
    assert api(sim, "myself", bob["access_token"]).status_code == 200


def test_revoke_by_user_or_client_alone(sim, client):
    alice, bob = connect(sim, client, user="alice"), connect(sim, client, user="bob")
    assert sim.revoke(user="bob") == 1
    assert sim.is_valid_access_token(alice["access_token"])
    assert not sim.is_valid_access_token(bob["access_token"])
    assert sim.revoke(client_id=client.client_id) == 1
    assert not sim.is_valid_access_token(alice["access_token"])
    with pytest.raises(ValueError, match="needs"):
        sim.revoke()
    with pytest.raises(SimulatorError):
        sim.revoke(user="nobody")


@pytest.mark.parametrize("revokes", [True, False])
def test_deleting_the_link(jira_simulator_factory, revokes):
    sim = jira_simulator_factory(link_changes_revoke_tokens=revokes)
    client = sim.register_client(redirect_uri=REDIRECT_URI)
    tokens = connect(sim, client)
    sim.remove_client(client.client_id)
    assert sim.is_valid_access_token(tokens["access_token"]) is not revokes
    assert oauth_error(refresh(sim, client, tokens["refresh_token"])) == "invalid_client"
    assert requests.get(sim.authorize_url(client), timeout=TIMEOUT).status_code == 400


@pytest.mark.parametrize("revokes", [True, False])
def test_resetting_the_secret(jira_simulator_factory, revokes):
    sim = jira_simulator_factory(link_changes_revoke_tokens=revokes)
    client = sim.register_client(redirect_uri=REDIRECT_URI)
    tokens = connect(sim, client)
    renewed = sim.reset_client_secret(client.client_id)
    assert renewed.client_secret != client.client_secret
    assert oauth_error(refresh(sim, client, tokens["refresh_token"])) == "invalid_client"
    response = refresh(sim, renewed, tokens["refresh_token"])
    assert (response.status_code == 200) is not revokes


@pytest.mark.parametrize("enabled", [False, True])
def test_revocation_endpoint_switch(jira_simulator_factory, enabled):
    sim = jira_simulator_factory(revocation_endpoint=enabled)
    client = sim.register_client(redirect_uri=REDIRECT_URI)
    tokens = connect(sim, client)
    response = requests.post(
        f"{sim.base_url}/rest/oauth2/latest/revoke",
        data={
            "token": tokens["refresh_token"],
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == (200 if enabled else 404)
    assert sim.is_valid_access_token(tokens["access_token"]) is not enabled


@pytest.mark.parametrize("enabled", [False, True])
def test_introspection_endpoint_switch(jira_simulator_factory, enabled):
    sim = jira_simulator_factory(introspection_endpoint=enabled)
    client = sim.register_client(redirect_uri=REDIRECT_URI)
    tokens = connect(sim, client)
    url = f"{sim.base_url}/rest/oauth2/latest/introspect"
    credentials = {"client_id": client.client_id, "client_secret": client.client_secret}
    response = requests.post(
        url, data={"token": tokens["access_token"], **credentials}, timeout=TIMEOUT
    )
    if not enabled:
        assert response.status_code == 404
        return
    body = response.json()
    assert body["active"] is True
    assert body["username"] == "alice"
    assert body["scope"] == "WRITE"
    dead = requests.post(url, data={"token": "nope", **credentials}, timeout=TIMEOUT)
    assert dead.json() == {"active": False}


# -- observability -------------------------------------------------------------------------------
def test_request_log_and_counters(sim, client):
    tokens = connect(sim, client)
    refresh(sim, client, tokens["refresh_token"], redirect_uri=None)
    sim.inject("token", "server_error")
    refresh(sim, client, tokens["refresh_token"])
    api(sim, "myself", tokens["access_token"])
    api(sim, "serverInfo")

    assert sim.token_requests() == 3
    assert sim.token_requests(grant_type="authorization_code") == 1
    assert sim.token_requests(grant_type="refresh_token") == 2
    assert sim.api_requests() == 2
    assert sim.api_requests("myself") == 1
    assert sim.authorize_requests() == 1

    targets = [record.target for record in sim.requests]
    assert targets == ["authorize", "consent", "token", "token", "token", "api", "api"]
    consent, code = sim.requests[1], sim.requests[2]
    assert consent.method == "POST"
    assert consent.user == "alice"
    assert code.grant_type == "authorization_code"
    assert code.client_id == client.client_id
    assert code.user == "alice"
    assert code.status == 200
    assert code.path == "/rest/oauth2/latest/token"
    assert sim.requests[3].status == 400
    assert sim.requests[4].fault == "server_error"
    assert sim.requests[5].endpoint == "myself"
    assert sim.requests[6].user == "anonymous"


def test_no_secret_in_the_log(sim, client):
    code, verifier = start(sim, client, state="very-secret-state")
    assert verifier is not None
    tokens = exchange(sim, client, code, verifier).json()
    requests.post(
        sim.token_endpoint,
        params={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "redirect_uri": client.redirect_uri,
        },
        timeout=TIMEOUT,
    )
    api(sim, "myself", tokens["access_token"])
    dumped = repr(sim.requests) + str(sim.requests) + repr(sim.clients) + repr(sim)
    for secret in (
        client.client_secret,
        code,
        verifier,
        "very-secret-state",
        tokens["access_token"],
        tokens["refresh_token"],
    ):
        assert secret not in dumped


def test_log_is_capped(jira_simulator_factory):
    sim = jira_simulator_factory(max_log=3)
    for _ in range(5):
        api(sim, "serverInfo")
    assert len(sim.requests) == 3
    assert sim.api_requests("serverInfo") == 5


def test_reset_forgets_state_but_keeps_clients_and_users(sim, client):
    sim.add_user("carol")
    tokens = connect(sim, client)
    sim.inject("api", "server_error")
    sim.advance(100)
    sim.reset()
    assert not sim.is_valid_access_token(tokens["access_token"])
    assert sim.requests == []
    assert sim.pending_faults() == []
    assert sim.token_requests() == 0
    assert abs(sim.now() - time.time()) < 5
    assert sim.clients == [client]
    assert [user.name for user in sim.users] == ["alice", "bob", "carol"]
    connect(sim, client, user="carol")


def test_configure_while_running(sim, client):
    tokens = connect(sim, client)
    sim.configure(require_redirect_uri_on_refresh=False)
    assert refresh(sim, client, tokens["refresh_token"], redirect_uri=None).status_code == 200
    with pytest.raises(TypeError):
        sim.configure(no_such_switch=True)
    with pytest.raises(ValueError, match="token_response_scope"):
        sim.configure(token_response_scope="scp")


# -- users ---------------------------------------------------------------------------------------
def test_users(sim, client):
    carol = sim.add_user("carol", display_name="Carol Admin", email="carol@corp.example")
    assert carol.key == "JIRAUSER10002"
    dave = sim.add_user("dave", key="JIRAUSER20000")
    assert sim.user("JIRAUSER20000") == dave
    with pytest.raises(ValueError, match="exists"):
        sim.add_user("alice")
    token = connect(sim, client, user="carol")["access_token"]
    body = api(sim, "myself", token).json()
    assert body["emailAddress"] == "carol@corp.example"
    assert body["displayName"] == "Carol Admin"


def test_rename_keeps_the_key(sim, client):
    token = connect(sim, client, user="alice")["access_token"]
    renamed = sim.rename_user("alice", "alice.w")
    response = api(sim, "myself", token)
    assert response.headers["X-AUSERNAME"] == "alice.w"
    assert response.json()["name"] == "alice.w"
    assert response.json()["key"] == "JIRAUSER10000" == renamed.key
    issue = api(sim, "issue/ACME-1", token).json()
    assert issue["fields"]["assignee"]["name"] == "alice.w"


def test_inactive_user_cannot_consent(sim, client):
    sim.add_user("gone", active=False)
    with pytest.raises(SimulatorError, match="400"):
        start(sim, client, user="gone")


# -- several servers and clients -----------------------------------------------------------------
def test_two_simulators_and_several_clients(jira_simulator_factory):
    one = jira_simulator_factory(server_title="One")
    two = jira_simulator_factory(server_title="Two", context_path="/jira")
    assert one.base_url != two.base_url
    a1 = one.register_client(redirect_uri=REDIRECT_URI, name="A")
    b1 = one.register_client(redirect_uri="https://b.example/cb", name="B", scope="READ")
    a2 = two.register_client(
        redirect_uri=REDIRECT_URI, client_id=a1.client_id, client_secret=a1.client_secret
    )
    ta1, tb1, ta2 = connect(one, a1), connect(one, b1, scope="READ"), connect(two, a2, user="bob")

    assert api(one, "myself", ta1["access_token"]).json()["name"] == "alice"
    assert api(one, "myself", tb1["access_token"]).status_code == 200
    assert api(two, "myself", ta2["access_token"]).json()["name"] == "bob"
    assert api(two, "myself", ta1["access_token"]).status_code == 401  # other server's token
    assert oauth_error(refresh(two, a2, ta1["refresh_token"])) == "invalid_grant"
    assert api(one, "serverInfo").json()["serverTitle"] == "One"
    assert api(two, "serverInfo").json()["serverTitle"] == "Two"

    one.inject("api", "server_error")
    assert api(two, "serverInfo").status_code == 200
    assert api(one, "serverInfo").status_code == 500


# -- lifecycle -----------------------------------------------------------------------------------
def test_lifecycle():
    sim = JiraDCSimulator()
    with pytest.raises(SimulatorError, match="start"):
        _ = sim.base_url
    assert "not started" in repr(sim)
    with sim:
        assert sim.running
        with pytest.raises(SimulatorError, match="already"):
            sim.start()
        session = requests.Session()
        assert session.get(f"{sim.api_url}/serverInfo", timeout=TIMEOUT).ok
    assert not sim.running
    sim.stop()  # twice is fine
    with pytest.raises(requests.ConnectionError):
        session.get(f"{sim.api_url}/serverInfo", timeout=TIMEOUT)  # keep-alive closed too


def test_restart_on_a_fixed_port_keeps_the_base_url():
    sim = JiraDCSimulator().start()
    base = sim.base_url
    sim.stop()
    with JiraDCSimulator(port=sim.port) as again:
        assert again.base_url == base


def test_index_and_unknown_pages(sim):
    assert requests.get(sim.base_url + "/", timeout=TIMEOUT).status_code == 200
    assert requests.get(sim.base_url + "/secure/Dashboard.jspa", timeout=TIMEOUT).status_code == 404


def test_tls(jira_simulator_factory):
    sim = jira_simulator_factory(tls=True)
    assert sim.base_url.startswith("https://127.0.0.1:")
    client = sim.register_client(redirect_uri="https://app.example/cb")
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{sim.api_url}/serverInfo", timeout=TIMEOUT)
    code, verifier = start(sim, client)
    response = requests.post(
        sim.token_endpoint,
        data=exchange_params(client, code, verifier),
        verify=sim.ca_cert_path,
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    info = requests.get(f"{sim.api_url}/serverInfo", verify=sim.ca_cert_path, timeout=TIMEOUT)
    assert info.json()["baseUrl"] == sim.base_url


def test_ca_cert_path_needs_tls(sim):
    with pytest.raises(SimulatorError, match="tls"):
        _ = sim.ca_cert_path
