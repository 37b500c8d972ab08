"""Fault injection: every fault kind on every target it applies to."""

from __future__ import annotations

import time

import pytest
import requests

from jira_connect.testing import InjectedFault
from tests.simulator.flow import TIMEOUT, api, connect, exchange, refresh, start

UNAUTHENTICATED = {
    "message": "Client must be authenticated to access this resource.",
    "status-code": 401,
}


@pytest.fixture
def tokens(sim, client) -> dict[str, str]:
    return connect(sim, client)


# -- answers that replace Jira's ---------------------------------------------------------------
@pytest.mark.parametrize("target", ["token", "api"])
def test_server_error(sim, client, tokens, target):
    replaced(sim, client, tokens, target, "server_error", 500, "text/plain")
    assert sim.requests[-1].fault == "server_error"
    assert call(sim, client, tokens, target).status_code == 200  # only the next call


@pytest.mark.parametrize("target", ["token", "api"])
def test_bad_gateway_html(sim, client, tokens, target):
    response = replaced(sim, client, tokens, target, "bad_gateway_html", 502, "text/html")
    assert "<h1>502 Bad Gateway</h1>" in response.text


@pytest.mark.parametrize("target", ["token", "api"])
def test_malformed_json(sim, client, tokens, target):
    response = replaced(sim, client, tokens, target, "malformed_json", 200, "application/json")
    with pytest.raises(ValueError):  # noqa: PT011 (requests' JSONDecodeError is a ValueError)
        response.json()


@pytest.mark.parametrize("target", ["token", "api"])
def test_reset_closes_the_connection(sim, client, tokens, target):
    sim.inject(target, "reset")
    with pytest.raises(requests.ConnectionError):
        call(sim, client, tokens, target)
    assert sim.requests[-1].status is None
    assert sim.is_valid_refresh_token(tokens["refresh_token"])  # nothing happened
    assert call(sim, client, tokens, target).status_code == 200


def test_invalid_grant_fault_changes_nothing(sim, client, tokens):
    sim.inject("token", "invalid_grant")
    response = refresh(sim, client, tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert sim.is_valid_refresh_token(tokens["refresh_token"])
    assert refresh(sim, client, tokens["refresh_token"]).status_code == 200


def test_invalid_client_fault(sim, client, tokens):
    sim.inject("token", "invalid_client")
    response = refresh(sim, client, tokens["refresh_token"])
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_delay_then_normal_answer(sim, client, tokens):
    sim.inject("token", "delay", delay=0.2)
    began = time.monotonic()
    response = refresh(sim, client, tokens["refresh_token"])
    assert time.monotonic() - began >= 0.2
    assert response.status_code == 200
    assert sim.requests[-1].fault == "delay"


def test_delay_can_outlast_a_client_timeout(sim, client, tokens):
    sim.inject("api", "delay", delay=0.3)
    with pytest.raises(requests.Timeout):
        requests.get(
            f"{sim.api_url}/myself",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=0.05,
        )


def test_no_refresh_token_on_refresh_keeps_the_old_one_valid(sim, client, tokens):
    sim.inject("token", "no_refresh_token")
    response = refresh(sim, client, tokens["refresh_token"])
    assert response.status_code == 200
    body = response.json()
    assert "refresh_token" not in body
    assert api(sim, "myself", body["access_token"]).status_code == 200
    assert api(sim, "myself", tokens["access_token"]).status_code == 401  # old access rotated
    assert sim.is_valid_refresh_token(tokens["refresh_token"])
    assert refresh(sim, client, tokens["refresh_token"]).status_code == 200


def test_no_refresh_token_on_code_exchange(sim, client):
    code, verifier = start(sim, client)
    sim.inject("token", "no_refresh_token")
    body = exchange(sim, client, code, verifier).json()
    assert "refresh_token" not in body
    assert sim.is_valid_access_token(body["access_token"])


def test_no_access_token_changes_nothing(sim, client, tokens):
    sim.inject("token", "no_access_token")
    response = refresh(sim, client, tokens["refresh_token"])
    assert response.status_code == 200
    assert "access_token" not in response.json()
    assert response.json()["token_type"] == "bearer"
    assert sim.is_valid_refresh_token(tokens["refresh_token"])
    assert sim.is_valid_access_token(tokens["access_token"])


def test_lost_response_rotates_but_answers_nothing(sim, client, tokens):
    sim.inject("token", "lost_response")
    with pytest.raises(requests.ConnectionError):
        refresh(sim, client, tokens["refresh_token"])
    assert not sim.is_valid_refresh_token(tokens["refresh_token"])
    assert refresh(sim, client, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert sim.requests[-2].fault == "lost_response"


def test_unauthorized_api_fault(sim, tokens):
    sim.inject("api", "unauthorized")
    response = api(sim, "myself", tokens["access_token"])
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED
    assert response.headers["X-AUSERNAME"] == "anonymous"
    assert sim.is_valid_access_token(tokens["access_token"])
    assert api(sim, "myself", tokens["access_token"]).status_code == 200


def test_anonymous_api_fault(sim, tokens):
    sim.inject("api", "anonymous", times=2)
    myself = api(sim, "myself", tokens["access_token"])
    assert myself.status_code == 200
    assert myself.headers["X-AUSERNAME"] == "anonymous"
    assert myself.json()["name"] == "anonymous"
    assert "emailAddress" not in myself.json()
    projects = api(sim, "project", tokens["access_token"])
    assert projects.status_code == 200
    assert projects.json() == []
    assert projects.headers["X-AUSERNAME"] == "anonymous"
    assert api(sim, "myself", tokens["access_token"]).headers["X-AUSERNAME"] == "alice"


@pytest.mark.parametrize("fault", ["server_error", "bad_gateway_html", "reset"])
def test_authorize_faults(sim, client, fault):
    sim.inject("authorize", fault)
    url = sim.authorize_url(client)
    if fault == "reset":
        with pytest.raises(requests.ConnectionError):
            requests.get(url, allow_redirects=False, timeout=TIMEOUT)
    else:
        response = requests.get(url, allow_redirects=False, timeout=TIMEOUT)
        assert response.status_code == (500 if fault == "server_error" else 502)
    assert requests.get(url, allow_redirects=False, timeout=TIMEOUT).status_code == 302


def test_authorize_delay(sim, client):
    sim.inject("authorize", "delay", delay=0.05)
    start(sim, client)
    assert sim.requests[0].fault == "delay"


# -- scheduling ----------------------------------------------------------------------------------
def test_faults_apply_in_injection_order_and_count(sim, client, tokens):
    sim.inject("api", "server_error", times=2)
    sim.inject("api", "bad_gateway_html")
    sim.inject("token", "invalid_grant")
    statuses = [api(sim, "myself", tokens["access_token"]).status_code for _ in range(4)]
    assert statuses == [500, 500, 502, 200]
    assert sim.pending_faults() == [InjectedFault("token", "invalid_grant", 1, 0.5)]
    assert refresh(sim, client, tokens["refresh_token"]).status_code == 400
    assert sim.pending_faults() == []


def test_times_none_until_cleared(sim, tokens):
    sim.inject("api", "server_error", times=None)
    for _ in range(3):
        assert api(sim, "serverInfo").status_code == 500
    sim.clear_faults()
    assert api(sim, "serverInfo").status_code == 200


def test_faults_do_not_touch_other_targets(sim, client, tokens):
    sim.inject("token", "server_error")
    assert api(sim, "myself", tokens["access_token"]).status_code == 200
    assert refresh(sim, client, tokens["refresh_token"]).status_code == 500


@pytest.mark.parametrize(
    ("target", "fault"),
    [
        ("api", "invalid_grant"),
        ("token", "anonymous"),
        ("authorize", "malformed_json"),
        ("consent", "server_error"),
        ("api", "explode"),
    ],
)
def test_inject_refuses_nonsense(sim, target, fault):
    with pytest.raises(ValueError, match=r"fault|target"):
        sim.inject(target, fault)


def test_inject_refuses_zero_times(sim):
    with pytest.raises(ValueError, match="times"):
        sim.inject("api", "server_error", times=0)


def replaced(
    sim, client, tokens, target: str, fault: str, status: int, content_type: str
) -> requests.Response:
    """One call with ``fault`` injected on ``target``: the answer that stands in for Jira's,
    checked for its ``status`` and ``content_type``, returned for the fault's own checks."""
    sim.inject(target, fault)
    response = call(sim, client, tokens, target)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith(content_type)
    return response


def call(sim, client, tokens, target) -> requests.Response:
    """One request to `target` that succeeds when no fault is pending."""
    if target == "token":
        return refresh(sim, client, tokens["refresh_token"])
    return api(sim, "myself", tokens["access_token"])
