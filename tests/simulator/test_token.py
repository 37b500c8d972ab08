"""The token endpoint: both grants, PKCE, client authentication, encodings, rotation
(jira-dc-oauth.md §1, §2, §4)."""

from __future__ import annotations

import threading
from urllib.parse import urlencode

import pytest
import requests

from jira_connect.testing import pkce_pair
from tests.simulator.flow import (
    REDIRECT_URI,
    TIMEOUT,
    api,
    connect,
    exchange,
    exchange_params,
    oauth_error,
    query_of,
    refresh,
    start,
    token_request,
)


@pytest.mark.parametrize("pkce", ["S256", "plain", None])
def test_code_exchange_success_shape(sim, client, pkce):
    code, verifier = start(sim, client, pkce=pkce)
    response = exchange(sim, client, code, verifier)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "created_at"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert isinstance(body["created_at"], int)
    assert body["access_token"].count(".") == 2  # JWT-looking
    assert body["access_token"].startswith("eyJ")
    assert body["access_token"] != body["refresh_token"]


@pytest.mark.parametrize("pkce", ["S256", "plain"])
def test_wrong_or_missing_verifier_is_invalid_grant(sim, client, pkce):
    code, _ = start(sim, client, pkce=pkce)
    wrong, _ = pkce_pair()
    assert oauth_error(exchange(sim, client, code, wrong)) == "invalid_grant"
    code, _ = start(sim, client, pkce=pkce)
    response = exchange(sim, client, code, None)
    assert response.status_code == 400
    assert oauth_error(response) == "invalid_grant"


def test_failed_exchange_spends_the_code(sim, client):
    code, verifier = start(sim, client)
    assert exchange(sim, client, code, "w" * 43).status_code == 400
    assert oauth_error(exchange(sim, client, code, verifier)) == "invalid_grant"


@pytest.mark.parametrize("verifier_length", [42, 129])
def test_verifier_length_is_checked(sim, client, verifier_length):
    verifier = "v" * verifier_length
    url = sim.authorize_url(client, code_challenge="c" * 43, code_challenge_method="plain")
    code = query_of(sim.authorize(url))["code"]
    assert oauth_error(exchange(sim, client, code, verifier)) == "invalid_grant"


def test_128_character_verifier_needs_the_rfc_limit(jira_simulator_factory):
    verifier = "v" * 128
    for limit, status in ((127, 400), (128, 200)):
        sim = jira_simulator_factory(code_verifier_max_length=limit)
        client = sim.register_client(redirect_uri=REDIRECT_URI)
        url = sim.authorize_url(client, code_challenge=verifier, code_challenge_method="plain")
        params = query_of(sim.authorize(url))
        if limit == 127:  # the challenge itself is refused at the authorize step
            assert params["error"] == "invalid_request"
            continue
        assert exchange(sim, client, params["code"], verifier).status_code == status


def test_code_is_single_use(sim, client):
    code, verifier = start(sim, client)
    assert exchange(sim, client, code, verifier).status_code == 200
    second = exchange(sim, client, code, verifier)
    assert second.status_code == 400
    assert oauth_error(second) == "invalid_grant"


def test_code_expires_after_code_ttl(sim, client):
    code, verifier = start(sim, client)
    sim.advance(11)
    assert oauth_error(exchange(sim, client, code, verifier)) == "invalid_grant"


def test_code_ttl_is_configurable(jira_simulator_factory):
    sim = jira_simulator_factory(code_ttl=60)
    client = sim.register_client(redirect_uri=REDIRECT_URI)
    code, verifier = start(sim, client)
    sim.advance(30)
    assert exchange(sim, client, code, verifier).status_code == 200


def test_code_is_bound_to_the_client(sim, client):
    other = sim.register_client(redirect_uri=REDIRECT_URI)
    code, verifier = start(sim, client)
    assert oauth_error(exchange(sim, other, code, verifier)) == "invalid_grant"


@pytest.mark.parametrize("redirect_uri", ["http://127.0.0.1:9/other/", None, ""])
def test_exchange_needs_the_same_redirect_uri(sim, client, redirect_uri):
    code, verifier = start(sim, client)
    response = exchange(sim, client, code, verifier, redirect_uri=redirect_uri)
    assert oauth_error(response) == "invalid_grant"


def test_missing_code_is_invalid_request(sim, client):
    assert oauth_error(exchange(sim, client, None)) == "invalid_request"


@pytest.mark.parametrize(
    "credentials",
    [
        {"client_secret": "wrong"},
        {"client_secret": None},
        {"client_id": "0" * 32},
        {"client_id": None},
    ],
)
def test_bad_client_credentials_are_invalid_client(sim, client, credentials):
    code, verifier = start(sim, client)
    response = exchange(sim, client, code, verifier, **credentials)
    assert response.status_code == 401
    assert oauth_error(response) == "invalid_client"


def test_http_basic_client_authentication_is_not_supported(sim, client):
    code, verifier = start(sim, client)
    response = requests.post(
        sim.token_endpoint,
        data={
            **exchange_params(client, code, verifier),
            "client_id": None,  # requests leaves out what is None
            "client_secret": None,
        },
        auth=(client.client_id, client.client_secret),
        timeout=TIMEOUT,
    )
    assert response.status_code == 401
    assert oauth_error(response) == "invalid_client"


def test_secret_check_can_be_switched_off(jira_simulator_factory):
    sim = jira_simulator_factory(validate_client_secret=False)
    client = sim.register_client(redirect_uri=REDIRECT_URI)
    code, verifier = start(sim, client)
    assert exchange(sim, client, code, verifier, client_secret=None).status_code == 200


def test_invalid_client_status_switch(jira_simulator_factory):
    sim = jira_simulator_factory(invalid_client_status=400)
    client = sim.register_client(redirect_uri=REDIRECT_URI)
    code, verifier = start(sim, client)
    assert exchange(sim, client, code, verifier, client_secret="x").status_code == 400


def test_json_body_gets_a_500(sim, client):
    code, verifier = start(sim, client)
    response = requests.post(
        sim.token_endpoint,
        json=exchange_params(client, code, verifier),
        timeout=TIMEOUT,
    )
    assert response.status_code == 500
    assert "@FormParam" in response.text
    assert "application/x-www-form-urlencoded" in response.text
    assert exchange(sim, client, code, verifier).status_code == 200  # code not spent


def test_parameters_in_the_query_string_are_accepted(sim, client):
    code, verifier = start(sim, client)
    response = requests.post(
        sim.token_endpoint,
        params=exchange_params(client, code, verifier),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    tokens = response.json()
    response = requests.post(
        sim.token_endpoint,
        params={"grant_type": "refresh_token", "client_id": client.client_id},
        data={
            "refresh_token": tokens["refresh_token"],
            "client_secret": client.client_secret,
            "redirect_uri": client.redirect_uri,
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text


def test_token_endpoint_wants_post(sim):
    assert requests.get(sim.token_endpoint, timeout=TIMEOUT).status_code == 405


@pytest.mark.parametrize("grant_type", ["password", "client_credentials", "implicit", "x"])
def test_other_grants_are_unsupported(sim, client, grant_type):
    response = token_request(
        sim,
        grant_type=grant_type,
        client_id=client.client_id,
        client_secret=client.client_secret,
        username="alice",
        password="pw",
    )
    assert response.status_code == 400
    assert oauth_error(response) == "unsupported_grant_type"


def test_missing_grant_type_is_invalid_request(sim, client):
    response = token_request(sim, client_id=client.client_id, client_secret=client.client_secret)
    assert oauth_error(response) == "invalid_request"


# -- refresh ------------------------------------------------------------------------------------
def test_refresh_rotates_both_tokens(sim, client):
    first = connect(sim, client)
    response = refresh(sim, client, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]

    assert not sim.is_valid_access_token(first["access_token"])
    assert not sim.is_valid_refresh_token(first["refresh_token"])
    assert sim.is_valid_access_token(second["access_token"])
    assert sim.is_valid_refresh_token(second["refresh_token"])

    old_call = api(sim, "myself", first["access_token"])
    assert old_call.status_code == 401
    assert api(sim, "myself", second["access_token"]).status_code == 200
    old_refresh = refresh(sim, client, first["refresh_token"])
    assert old_refresh.status_code == 400
    assert oauth_error(old_refresh) == "invalid_grant"
    assert refresh(sim, client, second["refresh_token"]).status_code == 200


def test_refresh_without_redirect_uri_is_a_bare_invalid_grant_by_default(sim, client):
    tokens = connect(sim, client)
    response = refresh(sim, client, tokens["refresh_token"], redirect_uri=None)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant"}
    assert sim.is_valid_refresh_token(tokens["refresh_token"])  # not spent


def test_refresh_without_redirect_uri_allowed_by_switch(jira_simulator_factory):
    sim = jira_simulator_factory(require_redirect_uri_on_refresh=False)
    client = sim.register_client(redirect_uri=REDIRECT_URI)
    tokens = connect(sim, client)
    assert refresh(sim, client, tokens["refresh_token"], redirect_uri=None).status_code == 200


@pytest.mark.parametrize("strict", [True, False])
def test_refresh_with_a_different_redirect_uri_fails(jira_simulator_factory, strict):
    sim = jira_simulator_factory(require_redirect_uri_on_refresh=strict)
    client = sim.register_client(redirect_uri=REDIRECT_URI)
    tokens = connect(sim, client)
    response = refresh(sim, client, tokens["refresh_token"], redirect_uri="http://x.example/cb")
    assert oauth_error(response) == "invalid_grant"


@pytest.mark.parametrize("refresh_token", ["garbage", "", None])
def test_unknown_refresh_token(sim, client, refresh_token):
    response = refresh(sim, client, refresh_token)
    assert response.status_code == 400
    assert oauth_error(response) in ("invalid_grant", "invalid_request")


def test_refresh_token_is_bound_to_its_client(sim, client):
    other = sim.register_client(redirect_uri=REDIRECT_URI)
    tokens = connect(sim, client)
    assert oauth_error(refresh(sim, other, tokens["refresh_token"])) == "invalid_grant"


def test_refresh_needs_the_client_secret(sim, client):
    tokens = connect(sim, client)
    response = refresh(sim, client, tokens["refresh_token"], client_secret="nope")
    assert oauth_error(response) == "invalid_client"


def test_access_token_expires_and_refresh_still_works(sim, client):
    tokens = connect(sim, client)
    sim.advance(3599)
    assert api(sim, "myself", tokens["access_token"]).status_code == 200
    sim.advance(2)
    assert api(sim, "myself", tokens["access_token"]).status_code == 401
    assert refresh(sim, client, tokens["refresh_token"]).status_code == 200


def test_expire_access_tokens(sim, client):
    tokens = connect(sim, client)
    sim.expire_access_tokens()
    assert not sim.is_valid_access_token(tokens["access_token"])
    assert api(sim, "myself", tokens["access_token"]).status_code == 401
    renewed = refresh(sim, client, tokens["refresh_token"]).json()
    assert api(sim, "myself", renewed["access_token"]).status_code == 200


@pytest.mark.parametrize("from_first_grant", [True, False])
def test_refresh_token_lifetime(jira_simulator_factory, from_first_grant):
    sim = jira_simulator_factory(
        refresh_token_ttl=1000, refresh_ttl_from_first_grant=from_first_grant
    )
    client = sim.register_client(redirect_uri=REDIRECT_URI)
    tokens = connect(sim, client)
    sim.advance(600)
    tokens = refresh(sim, client, tokens["refresh_token"]).json()
    sim.advance(600)  # 1200 s after consent, 600 s after the rotation
    response = refresh(sim, client, tokens["refresh_token"])
    if from_first_grant:
        assert oauth_error(response) == "invalid_grant"
    else:
        assert response.status_code == 200


def test_custom_lifetimes_are_reported(jira_simulator_factory):
    sim = jira_simulator_factory(access_token_ttl=7200)
    client = sim.register_client(redirect_uri=REDIRECT_URI)
    assert connect(sim, client)["expires_in"] == 7200


@pytest.mark.parametrize(
    ("field", "scope"), [(None, None), ("scope", "WRITE"), ("scopes", "WRITE")]
)
def test_token_response_scope_switch(jira_simulator_factory, field, scope):
    sim = jira_simulator_factory(token_response_scope=field)
    client = sim.register_client(redirect_uri=REDIRECT_URI)
    tokens = connect(sim, client)
    assert "scope" not in tokens or field == "scope"
    if field:
        assert tokens[field] == scope
        assert refresh(sim, client, tokens["refresh_token"]).json()[field] == scope


def test_concurrent_refreshes_have_exactly_one_winner(sim, client):
    tokens = connect(sim, client)
    results: list[int] = []
    barrier = threading.Barrier(12)

    def spend() -> None:
        barrier.wait()
        results.append(refresh(sim, client, tokens["refresh_token"]).status_code)

    threads = [threading.Thread(target=spend) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] + [400] * 11
    assert sim.token_requests("refresh_token") == 12


def test_chunked_form_body(sim, client):
    code, verifier = start(sim, client)
    body = urlencode(exchange_params(client, code, verifier)).encode()

    def chunks():
        yield body[:20]
        yield body[20:]

    response = requests.post(
        sim.token_endpoint,
        data=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text


def test_absurd_body_is_refused(sim):
    response = requests.post(sim.token_endpoint, data=b"x" * (1024 * 1024 + 1), timeout=TIMEOUT)
    assert response.status_code == 413
