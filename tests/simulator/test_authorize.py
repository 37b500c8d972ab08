"""The authorize endpoint and the consent page (jira-dc-oauth.md §1, §2, §3, §5)."""

from __future__ import annotations

import pytest
import requests

from jira_connect.testing import JiraDCSimulator, SimulatedClient, SimulatorError, pkce_pair
from tests.simulator.flow import REDIRECT_URI, TIMEOUT, api, connect, exchange, query_of, start


@pytest.mark.parametrize("context_path", ["", "/jira", "jira/"])
def test_full_flow_with_and_without_context_path(jira_simulator_factory, context_path):
    sim = jira_simulator_factory(context_path=context_path)
    expected_path = "/jira" if context_path else ""
    assert sim.base_url == f"http://127.0.0.1:{sim.port}{expected_path}"
    client = sim.register_client(redirect_uri=REDIRECT_URI)
    verifier, challenge = pkce_pair()
    url = sim.authorize_url(client, scope="WRITE", state="s1", code_challenge=challenge)
    assert url.startswith(f"{sim.base_url}/rest/oauth2/latest/authorize?")

    first = requests.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert first.status_code == 302
    consent = first.headers["Location"]
    assert consent.startswith(f"{sim.base_url}/plugins/servlet/oauth2/consent?")
    assert query_of(consent)["state"] == "s1"
    page = requests.get(consent, timeout=TIMEOUT)
    assert page.status_code == 200
    assert 'id="approve"' in page.text
    assert 'id="deny"' in page.text

    callback = sim.authorize(url)
    assert callback.startswith(REDIRECT_URI + "?")
    params = query_of(callback)
    assert params["state"] == "s1"
    token = exchange(sim, client, params["code"], verifier)
    assert token.status_code == 200
    me = api(sim, "myself", token.json()["access_token"])
    assert me.json()["name"] == "alice"


def test_paths_outside_the_context_path_are_not_found(jira_simulator_factory):
    sim = jira_simulator_factory(context_path="/jira")
    root = sim.base_url.removesuffix("/jira")
    response = requests.get(f"{root}/rest/api/2/serverInfo", timeout=TIMEOUT)
    assert response.status_code == 404
    assert requests.get(f"{sim.base_url}/rest/api/2/serverInfo", timeout=TIMEOUT).ok


def test_consent_page_shows_user_client_and_scope(sim):
    client = sim.register_client(
        redirect_uri=REDIRECT_URI, name="<script>alert(1)</script> Portal", scope="ADMIN"
    )
    consent = requests.get(
        sim.authorize_url(client, scope="WRITE"), allow_redirects=False, timeout=TIMEOUT
    ).headers["Location"]
    page = requests.get(consent, timeout=TIMEOUT).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Portal" in page
    assert "<script>" not in page
    assert '<select id="user" name="user">' in page
    assert '<option value="alice" selected>Alice Example (alice)</option>' in page
    assert "Bob Example" in page
    assert "WRITE" in page
    assert "Create, update and delete projects and issues" in page
    assert "http" not in page.split("<style>")[1].split("</style>")[0]  # no external assets
    assert "<link" not in page


def test_bob_can_approve(sim, client):
    token = connect(sim, client, user="bob")
    assert api(sim, "myself", token["access_token"]).json()["key"] == "JIRAUSER10001"


def test_unknown_client_gets_an_error_page_not_a_redirect(sim, client):
    url = sim.authorize_url(client).replace(client.client_id, "f" * 32)
    response = requests.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(SimulatorError, match="400"):
        sim.authorize(url)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://evil.example/callback",
        REDIRECT_URI.rstrip("/"),
        REDIRECT_URI + "?extra=1",
        REDIRECT_URI.upper(),
    ],
)
def test_redirect_uri_mismatch_never_redirects(sim, client, redirect_uri):
    url = sim.authorize_url(client, redirect_uri=redirect_uri, state="s")
    response = requests.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "does not match" in response.text


def test_trailing_slash_tolerated_only_with_switch(jira_simulator_factory):
    sim = jira_simulator_factory(exact_redirect_uri_match=False)
    client = sim.register_client(redirect_uri=REDIRECT_URI)
    url = sim.authorize_url(client, redirect_uri=REDIRECT_URI.rstrip("/"))
    assert "code" in query_of(sim.authorize(url))


def test_missing_redirect_uri_is_an_error_page(sim, client):
    url = sim.authorize_url(client).replace("redirect_uri=", "other=")
    assert requests.get(url, allow_redirects=False, timeout=TIMEOUT).status_code == 400


def test_wrong_response_type_redirects_with_error(sim, client):
    url = sim.authorize_url(client, state="s").replace("response_type=code", "response_type=token")
    params = query_of(sim.authorize(url))
    assert params["error"] == "unsupported_response_type"
    assert params["state"] == "s"


@pytest.mark.parametrize(
    "scope", ["read:jira-work", "WRITE offline_access", "write", "READ,manage:jira-project"]
)
def test_cloud_or_unknown_scopes_get_invalid_scope(sim, client, scope):
    callback = sim.authorize(sim.authorize_url(client, scope=scope, state="s2"))
    assert callback.startswith(REDIRECT_URI + "?")
    params = query_of(callback)
    assert params["error"] == "invalid_scope"
    assert params["state"] == "s2"
    assert "code" not in params


@pytest.mark.parametrize(
    ("link_scope", "requested", "granted"),
    [
        ("WRITE", "WRITE", "WRITE"),
        ("WRITE", "READ", "READ"),
        ("WRITE", "ADMIN", "WRITE"),
        ("READ", "SYSTEM_ADMIN", "READ"),
        ("ADMIN", None, "ADMIN"),
        ("SYSTEM_ADMIN", "READ WRITE", "WRITE"),
        ("MANAGE_SUBSCRIPTIONS", "READ_ALL", "READ_ALL"),
        ("WRITE READ_ALL", "ADMIN MANAGE_SUBSCRIPTIONS", "WRITE READ_ALL"),
    ],
)
def test_granted_scope_is_capped_by_the_link(
    jira_simulator_factory, link_scope, requested, granted
):
    sim = jira_simulator_factory(token_response_scope="scope")
    client = sim.register_client(redirect_uri=REDIRECT_URI, scope=link_scope)
    assert connect(sim, client, scope=requested)["scope"] == granted


def test_scope_with_nothing_allowed_below_it_is_refused(sim):
    client = sim.register_client(redirect_uri=REDIRECT_URI, scope="READ")
    params = query_of(sim.authorize(sim.authorize_url(client, scope="READ_ALL")))
    assert params["error"] == "invalid_scope"


def test_deny_redirects_with_access_denied(sim, client):
    callback = sim.authorize(sim.authorize_url(client, state="abc"), allow=False)
    assert query_of(callback) == {"error": "access_denied", "state": "abc"}


def test_deny_without_state_sends_no_state(sim, client):
    callback = sim.authorize(sim.authorize_url(client), allow=False)
    assert query_of(callback) == {"error": "access_denied"}


def test_deny_can_leave_the_user_on_a_jira_page(jira_simulator_factory):
    sim = jira_simulator_factory(deny_redirects=False)
    client = sim.register_client(redirect_uri=REDIRECT_URI)
    with pytest.raises(SimulatorError, match="200"):
        sim.authorize(sim.authorize_url(client), allow=False)


def test_callback_keeps_a_query_string_of_the_registered_redirect_uri(sim):
    client = sim.register_client(redirect_uri="https://app.example/cb?tenant=acme")
    params = query_of(sim.authorize(sim.authorize_url(client, state="x")))
    assert params["tenant"] == "acme"
    assert params["state"] == "x"
    assert params["code"]


def test_consent_post_is_checked_again(sim, client):
    consent_url = f"{sim.base_url}/plugins/servlet/oauth2/consent"
    form = {
        "client_id": client.client_id,
        "redirect_uri": "http://evil.example/",
        "response_type": "code",
        "user": "alice",
        "decision": "approve",
    }
    response = requests.post(consent_url, data=form, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 400
    assert "Location" not in response.headers
    form["redirect_uri"] = client.redirect_uri
    form["user"] = "mallory"
    response = requests.post(consent_url, data=form, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 400


def test_authorize_helper_returns_error_redirects_directly(sim, client):
    callback = sim.authorize(sim.authorize_url(client, scope="offline_access"))
    assert query_of(callback)["error"] == "invalid_scope"
    assert sim.requests[-1].target == "authorize"  # no consent step was attempted


def test_require_pkce_switch(jira_simulator_factory):
    sim = jira_simulator_factory(require_pkce=True)
    client = sim.register_client(redirect_uri=REDIRECT_URI)
    params = query_of(sim.authorize(sim.authorize_url(client, state="s")))
    assert params["error"] == "invalid_request"
    connect(sim, client, pkce="S256")


@pytest.mark.parametrize(
    ("challenge", "method"),
    [
        ("short", "S256"),
        ("x" * 43 + "!", "plain"),
        (None, "S256"),
        ("a" * 43, "md5"),
    ],
)
def test_malformed_pkce_parameters_get_invalid_request(sim, client, challenge, method):
    url = sim.authorize_url(client, code_challenge=challenge, code_challenge_method=method)
    assert query_of(sim.authorize(url))["error"] == "invalid_request"


def test_literal_sha256_method_needs_the_switch(jira_simulator_factory):
    strict = jira_simulator_factory()
    lenient = jira_simulator_factory(accept_sha256_method=True)
    for sim, accepted in ((strict, False), (lenient, True)):
        client = sim.register_client(redirect_uri=REDIRECT_URI)
        verifier, challenge = pkce_pair("S256")
        url = sim.authorize_url(client, code_challenge=challenge, code_challenge_method="sha256")
        params = query_of(sim.authorize(url))
        if not accepted:
            assert params["error"] == "invalid_request"
            continue
        assert exchange(sim, client, params["code"], verifier).status_code == 200


def test_register_client_validates(sim):
    with pytest.raises(ValueError, match="scope"):
        sim.register_client(redirect_uri=REDIRECT_URI, scope="read:jira-work")
    with pytest.raises(ValueError, match="absolute"):
        sim.register_client(redirect_uri="/relative/callback")
    sim.register_client(redirect_uri=REDIRECT_URI, client_id="fixed")
    with pytest.raises(ValueError, match="already"):
        sim.register_client(redirect_uri=REDIRECT_URI, client_id="fixed")


def test_https_only_redirect_urls_with_switch(jira_simulator_factory):
    sim = jira_simulator_factory(allow_http_redirect_uri=False)
    with pytest.raises(ValueError, match="HTTPS"):
        sim.register_client(redirect_uri=REDIRECT_URI)
    sim.register_client(redirect_uri="https://app.example/cb")


def test_generated_credentials_look_like_jiras(sim: JiraDCSimulator):
    client: SimulatedClient = sim.register_client(redirect_uri=REDIRECT_URI)
    assert len(client.client_id) == 32
    assert len(client.client_secret) == 64
    int(client.client_id, 16)
    assert client.client_secret not in repr(client)


def test_start_returns_code_for_plain_pkce(sim, client):
    code, verifier = start(sim, client, pkce="plain")
    assert exchange(sim, client, code, verifier).status_code == 200
