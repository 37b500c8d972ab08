"""A minimal OAuth client for driving the simulator over HTTP with `requests`.

Deliberately written from the protocol notes, not from this project's client, so the simulator
is tested against the facts rather than against our own assumptions.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from jira_connect.testing import JiraDCSimulator, SimulatedClient, pkce_pair

REDIRECT_URI = "http://127.0.0.1:9/jira/callback/"
TIMEOUT = 5


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def start(
    sim: JiraDCSimulator,
    client: SimulatedClient,
    *,
    scope: str | None = "WRITE",
    state: str | None = "state-123",
    pkce: str | None = "S256",
    user: str = "alice",
) -> tuple[str, str | None]:
    """Authorize and consent; return the code and the PKCE verifier (if any)."""
    verifier = challenge = None
    if pkce is not None:
        verifier, challenge = pkce_pair("plain" if pkce == "plain" else "S256")
    url = sim.authorize_url(
        client,
        scope=scope,
        state=state,
        code_challenge=challenge,
        code_challenge_method=pkce,
    )
    callback = sim.authorize(url, user=user)
    params = query_of(callback)
    assert "code" in params, callback
    assert params.get("state") == state
    return params["code"], verifier


def token_request(sim: JiraDCSimulator, **params: Any) -> requests.Response:
    data = {name: value for name, value in params.items() if value is not None}
    return requests.post(sim.token_endpoint, data=data, timeout=TIMEOUT)


def exchange_params(
    client: SimulatedClient, code: str | None, verifier: str | None = None
) -> dict[str, Any]:
    """The parameters of a code exchange, for tests that send them some other way."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "redirect_uri": client.redirect_uri,
        "code_verifier": verifier,
    }


def exchange(
    sim: JiraDCSimulator,
    client: SimulatedClient,
    code: str | None,
    verifier: str | None = None,
    **overrides: Any,
) -> requests.Response:
    return token_request(sim, **{**exchange_params(client, code, verifier), **overrides})


def refresh(
    sim: JiraDCSimulator, client: SimulatedClient, refresh_token: str | None, **overrides: Any
) -> requests.Response:
    params: dict[str, Any] = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "redirect_uri": client.redirect_uri,
    }
    params.update(overrides)
    return token_request(sim, **params)


def connect(sim: JiraDCSimulator, client: SimulatedClient, **kwargs: Any) -> dict[str, Any]:
    """The whole flow; returns the token response body."""
    code, verifier = start(sim, client, **kwargs)
    response = exchange(sim, client, code, verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def api(
    sim: JiraDCSimulator,
    path: str,
    token: str | None = None,
    *,
    method: str = "GET",
    version: str = "2",
    **kwargs: Any,
) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    url = f"{sim.base_url}/rest/api/{version}/{path}"
    return requests.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)


def oauth_error(response: requests.Response) -> str:
    body: dict[str, str] = response.json()
    return body["error"]
