"""fetch_identity() (/myself with the bearer token) and fetch_server_info() (anonymous)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import responses

from jira_connect.exceptions import (
    JiraAPIError,
    JiraAuthenticationFailed,
    JiraUnavailable,
)
from jira_connect.oauth import JiraIdentity, ServerInfo, fetch_identity, fetch_server_info

from . import (
    ACCESS_TOKEN,
    BASE_URL,
    MYSELF_URL,
    PRIVATE_CA,
    SERVER_INFO_URL,
    assert_no_secret,
    make_client,
    replay,
    text_of,
)


def _identity(**overrides: Any) -> JiraIdentity:
    return fetch_identity(make_client(**overrides), ACCESS_TOKEN)


# --- /myself -------------------------------------------------------------------------------------


def test_identity_request(rsps: responses.RequestsMock, sent: list[dict[str, Any]]) -> None:
    replay(rsps, "myself")
    _identity(verify=PRIVATE_CA, timeout=(2.0, 5.0))
    request = rsps.calls[0].request
    assert (request.method, request.url) == ("GET", MYSELF_URL)
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("django-jira-connect/")
    assert request.body is None
    assert ACCESS_TOKEN not in (request.url or "")
    assert sent[0]["timeout"] == (2.0, 5.0)
    assert sent[0]["verify"] is PRIVATE_CA
    assert sent[0]["allow_redirects"] is False


def test_identity(rsps: responses.RequestsMock) -> None:
    replay(rsps, "myself")
    assert _identity() == JiraIdentity(
        key="JIRAUSER21902",
        name="alice",
        display_name="Alice Example",
        email="alice@example.com",
    )


def test_the_identity_call_needs_no_redirect_uri(rsps: responses.RequestsMock) -> None:
    replay(rsps, "myself")
    assert fetch_identity(make_client(redirect_uri=""), ACCESS_TOKEN).key == "JIRAUSER21902"


def test_identity_with_hidden_email(rsps: responses.RequestsMock) -> None:
    replay(rsps, "myself_hidden_email")
    identity = _identity()
    assert (identity.key, identity.email) == ("JIRAUSER10100", "")


def test_identity_fields_are_read_defensively(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.GET, MYSELF_URL, json={"key": "JIRAUSER1", "name": 5, "emailAddress": None})
    assert _identity() == JiraIdentity(key="JIRAUSER1", name="", display_name="", email="")


def test_401_is_authentication_failed(rsps: responses.RequestsMock) -> None:
    replay(rsps, "myself_401")
    with pytest.raises(JiraAuthenticationFailed) as caught:
        _identity()
    err = caught.value
    assert isinstance(err, JiraAPIError)
    assert isinstance(err, requests.HTTPError)
    assert err.status_code == 401
    assert err.response is not None
    assert err.response.status_code == 401
    assert "Client must be authenticated" in str(err)
    # The response it carries no longer holds the bearer token.
    assert_no_secret(text_of(err))
    assert err.response.request is not None
    assert_no_secret(repr(dict(err.response.request.headers)))


def test_anonymous_200_is_authentication_failed(rsps: responses.RequestsMock) -> None:
    replay(rsps, "anonymous_200")
    with pytest.raises(JiraAuthenticationFailed, match="answered anonymously") as caught:
        _identity()
    assert caught.value.status_code == 200
    assert_no_secret(text_of(caught.value))


@pytest.mark.parametrize("header", ["anonymous", "Anonymous", " ANONYMOUS "])
def test_anonymous_header_in_any_case(rsps: responses.RequestsMock, header: str) -> None:
    replay(rsps, "myself", headers={"X-AUSERNAME": header})
    with pytest.raises(JiraAuthenticationFailed):
        _identity()


def test_anonymous_403_is_authentication_failed(rsps: responses.RequestsMock) -> None:
    rsps.add(
        responses.GET,
        MYSELF_URL,
        status=403,
        json={"errorMessages": ["You do not have permission. Login Required"]},
        headers={"X-AUSERNAME": "anonymous"},
    )
    with pytest.raises(JiraAuthenticationFailed, match="Login Required"):
        _identity()


@pytest.mark.parametrize("status", [400, 403, 404, 429])
def test_other_4xx_is_an_api_error(rsps: responses.RequestsMock, status: int) -> None:
    rsps.add(
        responses.GET,
        MYSELF_URL,
        status=status,
        json={"errorMessages": ["Nope"], "errors": {}},
        headers={"X-AUSERNAME": "alice"},
    )
    with pytest.raises(JiraAPIError) as caught:
        _identity()
    assert not isinstance(caught.value, JiraAuthenticationFailed)
    assert caught.value.status_code == status
    assert str(caught.value) == f"Jira answered {MYSELF_URL} with HTTP {status}: Nope"
    assert_no_secret(text_of(caught.value))


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (
            {"status": 500, "json": {"message": "NullPointerException"}},
            "HTTP 500: NullPointerException",
        ),
        ({"status": 503, "body": "<html>down</html>"}, "HTTP 503"),
        ({"status": 200, "body": "<html>SSO</html>"}, "HTML page (HTTP 200)"),
        ({"status": 200, "body": "{"}, "not valid JSON"),
        ({"status": 200, "json": {"name": "alice"}}, "has no user key"),
        ({"status": 200, "json": {"key": ""}}, "has no user key"),
        ({"status": 200, "json": {"accountId": "5b10ac8d82e05b22cc7d4ef5"}}, "has no user key"),
        (
            {"status": 302, "headers": {"Location": "https://sso.example.com/login?ticket=1"}},
            "Jira redirected the identity request (HTTP 302) to https://sso.example.com/login:",
        ),
        ({"body": requests.exceptions.ReadTimeout("slow")}, "did not answer the identity request"),
    ],
)
def test_everything_else_is_unavailable(
    rsps: responses.RequestsMock, answer: dict[str, Any], words: str
) -> None:
    rsps.add(responses.GET, MYSELF_URL, **answer)
    with pytest.raises(JiraUnavailable) as caught:
        _identity()
    assert words in str(caught.value)
    assert_no_secret(text_of(caught.value))


def test_identity_needs_a_token() -> None:
    with pytest.raises(ValueError, match="needs"):
        fetch_identity(make_client(), "")


# --- /serverInfo ---------------------------------------------------------------------------------


def test_server_info_10_3(rsps: responses.RequestsMock) -> None:
    replay(rsps, "server_info_10_3")
    info = fetch_server_info(BASE_URL + "/")
    assert info == ServerInfo(
        base_url="https://jira.example.com/jira",
        version="10.3.19",
        deployment_type="Server",
        title="Example Jira",
    )
    assert not info.is_cloud
    request = rsps.calls[0].request
    assert (request.method, request.url) == ("GET", SERVER_INFO_URL)
    assert "Authorization" not in request.headers


def test_server_info_8_5_and_cloud(rsps: responses.RequestsMock) -> None:
    replay(rsps, "server_info_8_5")
    assert fetch_server_info(BASE_URL).version == "8.5.3"
    rsps.reset()
    replay(rsps, "server_info_cloud")
    assert fetch_server_info(BASE_URL).is_cloud


def test_server_info_passes_transport_options(
    rsps: responses.RequestsMock, sent: list[dict[str, Any]]
) -> None:
    replay(rsps, "server_info_10_3")
    fetch_server_info(BASE_URL, verify=False, timeout=3.0, user_agent="probe/1")
    assert (sent[0]["verify"], sent[0]["timeout"], sent[0]["allow_redirects"]) == (
        False,
        3.0,
        False,
    )
    assert rsps.calls[0].request.headers["User-Agent"] == "probe/1"


def test_server_info_fields_are_read_defensively(rsps: responses.RequestsMock) -> None:
    rsps.add(
        responses.GET,
        SERVER_INFO_URL,
        json={"version": "9.12.0", "versionNumbers": [9, "12", True, 0], "buildNumber": "x"},
    )
    info = fetch_server_info(BASE_URL)
    assert (info.version, info.base_url, info.deployment_type, info.title) == (
        "9.12.0",
        "",
        "",
        "",
    )


def test_server_info_takes_the_checked_base_url_as_given(rsps: responses.RequestsMock) -> None:
    replay(rsps, "server_info_8_5", base_url="http://localhost:2990/jira")
    assert fetch_server_info("http://localhost:2990/jira/").version == "8.5.3"


@pytest.mark.parametrize(
    ("answer", "error", "words"),
    [
        ({"status": 404, "body": "<html>Not Found</html>"}, JiraAPIError, "HTTP 404"),
        ({"status": 401, "json": {"message": "no"}}, JiraAPIError, "HTTP 401: no"),
        ({"status": 200, "json": {"hello": "world"}}, JiraUnavailable, "has no Jira version"),
        ({"status": 200, "body": json.dumps([1])}, JiraUnavailable, "JSON that is not an object"),
        ({"status": 502, "body": "<html>"}, JiraUnavailable, "HTTP 502"),
        (
            {"status": 301, "headers": {"Location": "https://jira.example.com/"}},
            JiraUnavailable,
            "redirected",
        ),
    ],
)
def test_server_info_errors(
    rsps: responses.RequestsMock, answer: dict[str, Any], error: type[Exception], words: str
) -> None:
    rsps.add(responses.GET, SERVER_INFO_URL, **answer)
    with pytest.raises(error, match=words):
        fetch_server_info(BASE_URL)
