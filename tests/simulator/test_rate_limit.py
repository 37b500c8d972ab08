"""The simulator's rate limiter (a token bucket per user, like Jira DC's), its switches, the
429 and 503 faults, and the authorise endpoint's HTTPS/base-URL 400."""

from __future__ import annotations

import pytest

from jira_connect.testing import InjectedFault
from tests.simulator.flow import api, connect

ISSUE = "issue/ACME-1"


@pytest.fixture
def limited(jira_simulator_factory):
    def make(**switches):
        sim = jira_simulator_factory(rate_limit_capacity=2, **switches)
        client = sim.register_client(redirect_uri="http://127.0.0.1:9/cb", name="Acme Portal")
        return sim, connect(sim, client)["access_token"]

    return make


def test_off_by_default(sim, client):
    token = connect(sim, client)["access_token"]
    responses = [api(sim, ISSUE, token) for _ in range(20)]
    assert {response.status_code for response in responses} == {200}
    assert "X-RateLimit-Limit" not in responses[-1].headers


def test_a_bucket_per_user(limited):
    sim, token = limited(rate_limit_fill_rate=1, rate_limit_interval=10)
    first, second, third = (api(sim, ISSUE, token) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Remaining"] == "1"
    assert first.headers["X-RateLimit-FillRate"] == "1"
    assert first.headers["X-RateLimit-Interval-Seconds"] == "10"
    assert "Retry-After" not in first.headers
    assert second.headers["X-RateLimit-Remaining"] == "0"
    assert third.headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(third.headers["Retry-After"]) <= 10
    # Tomcat's page, not JSON.
    assert third.headers["Content-Type"].startswith("text/html")
    assert "HTTP Status 429 &ndash; Too Many Requests" in third.text
    assert sim.requests[-1].status == 429
    # bob has a bucket of his own; anonymous calls take no token.
    client = sim.clients[0]
    bob = connect(sim, client, user="bob")["access_token"]
    assert api(sim, ISSUE, bob).status_code == 200
    assert api(sim, "serverInfo").status_code == 200


def test_the_bucket_refills_on_the_simulators_clock(limited):
    sim, token = limited(rate_limit_fill_rate=1, rate_limit_interval=10)
    for _ in range(2):
        api(sim, ISSUE, token)
    assert api(sim, ISSUE, token).status_code == 429
    sim.advance(10)
    assert api(sim, ISSUE, token).status_code == 200
    assert api(sim, ISSUE, token).status_code == 429
    sim.advance(100)  # never more than the capacity
    assert [api(sim, ISSUE, token).status_code for _ in range(3)] == [200, 200, 429]


def test_retry_after_counts_down_to_the_next_tokens(limited):
    sim, token = limited(rate_limit_interval=30)
    api(sim, ISSUE, token)
    api(sim, ISSUE, token)
    assert api(sim, ISSUE, token).headers["Retry-After"] == "30"
    sim.advance(20.5)
    assert api(sim, ISSUE, token).headers["Retry-After"] == "10"


def test_retry_after_zero_switch(limited):
    sim, token = limited(rate_limit_retry_after_zero=True, rate_limit_interval=30)
    api(sim, ISSUE, token)
    api(sim, ISSUE, token)
    response = api(sim, ISSUE, token)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "0"


@pytest.mark.parametrize(
    ("mode", "present"),
    [
        ("partial", {"X-RateLimit-Limit", "X-RateLimit-Remaining", "Retry-After"}),
        ("none", set()),
    ],
)
def test_missing_headers_switch(limited, mode, present):
    sim, token = limited(rate_limit_headers=mode)
    api(sim, ISSUE, token)
    api(sim, ISSUE, token)
    response = api(sim, ISSUE, token)
    assert response.status_code == 429
    names = {
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-FillRate",
        "X-RateLimit-Interval-Seconds",
        "Retry-After",
    }
    assert {name for name in names if name in response.headers} == present


def test_anonymous_401_switch(limited):
    sim, token = limited(rate_limit_anonymous_401=True)
    api(sim, ISSUE, token)
    api(sim, ISSUE, token)
    response = api(sim, ISSUE, token)
    assert response.status_code == 401
    assert response.headers["X-AUSERNAME"] == "anonymous"
    assert response.json()["status-code"] == 401
    assert sim.is_valid_access_token(token)  # the token is fine: Jira just would not say


def test_configure_turns_it_on_and_reset_refills(sim, client):
    token = connect(sim, client)["access_token"]
    sim.configure(rate_limit_capacity=1, rate_limit_interval=3600)
    assert api(sim, ISSUE, token).status_code == 200
    assert api(sim, ISSUE, token).status_code == 429
    sim.reset()
    token = connect(sim, client)["access_token"]
    assert api(sim, ISSUE, token).status_code == 200


@pytest.mark.parametrize(
    "options",
    [
        {"rate_limit_capacity": -1},
        {"rate_limit_fill_rate": 0},
        {"rate_limit_interval": 0},
        {"rate_limit_headers": "some"},
    ],
)
def test_invalid_options(jira_simulator_factory, options):
    with pytest.raises(ValueError, match="rate_limit"):
        jira_simulator_factory(**options)


def test_rate_limited_fault(sim, client):
    token = connect(sim, client)["access_token"]
    sim.inject("api", "rate_limited", retry_after=0)
    assert sim.pending_faults() == [InjectedFault("api", "rate_limited", 1, 0.5, 0)]
    response = api(sim, ISSUE, token)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "0"
    assert "Too Many Requests" in response.text
    assert api(sim, ISSUE, token).status_code == 200


def test_unavailable_fault(sim, client):
    token = connect(sim, client)["access_token"]
    sim.inject("api", "unavailable", retry_after=5)
    sim.inject("api", "unavailable")
    first, second = api(sim, ISSUE, token), api(sim, ISSUE, token)
    assert (first.status_code, first.headers["Retry-After"]) == (503, "5")
    assert second.status_code == 503
    assert "Retry-After" not in second.headers


def test_authorize_https_error_switch(jira_simulator_factory):
    import requests

    sim = jira_simulator_factory(authorize_https_error=True)
    client = sim.register_client(redirect_uri="http://127.0.0.1:9/cb")
    response = requests.get(sim.authorize_url(client), timeout=5, allow_redirects=False)
    assert response.status_code == 400
    assert (
        "Please ensure that your server is using HTTPS and that your application base URL is "
        "configured appropriately" in response.text
    )
