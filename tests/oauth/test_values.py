"""OAuthClient validation and the dataclasses' reprs."""

from __future__ import annotations

import dataclasses
import os
from datetime import datetime, timezone

import pytest

import jira_connect
from jira_connect.exceptions import JiraConnectConfigurationError
from jira_connect.oauth import (
    DEFAULT_USER_AGENT,
    AuthorizationRequest,
    CredentialsCheck,
    JiraIdentity,
    ServerInfo,
    TokenSet,
    start_authorization,
)

from . import (
    ACCESS_TOKEN,
    BASE_URL,
    CLIENT_SECRET,
    CODE_VERIFIER,
    REFRESH_TOKEN,
    assert_no_secret,
    make_client,
)


def test_endpoints_keep_the_context_path() -> None:
    client = make_client(base_url="https://jira.example.com/jira/")
    assert client.base_url == "https://jira.example.com/jira"
    assert client.authorize_url == "https://jira.example.com/jira/rest/oauth2/latest/authorize"
    assert client.token_url == "https://jira.example.com/jira/rest/oauth2/latest/token"


def test_defaults() -> None:
    client = make_client()
    assert client.verify is True
    assert client.timeout == 10.0
    assert client.max_response_bytes == 1_048_576
    assert client.allow_http is False
    assert (
        client.user_agent == DEFAULT_USER_AGENT == f"django-jira-connect/{jira_connect.__version__}"
    )


@pytest.mark.parametrize(
    "base_url",
    [
        "jira.example.com",
        "ftp://jira.example.com",
        "https://",
        "https://user:pw@jira.example.com",
        "https://jira.example.com/jira?x=1",
        "https://jira.example.com/jira#top",
        "https://jira.example.com:99999",
    ],
)
def test_bad_base_urls_are_refused(base_url: str) -> None:
    with pytest.raises(JiraConnectConfigurationError):
        make_client(base_url=base_url)


def test_http_is_refused_unless_allowed() -> None:
    with pytest.raises(JiraConnectConfigurationError, match="ALLOW_HTTP"):
        make_client(base_url="http://localhost:8080/jira")
    client = make_client(base_url="http://localhost:8080/jira", allow_http=True)
    assert client.token_url == "http://localhost:8080/jira/rest/oauth2/latest/token"
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ


@pytest.mark.parametrize(
    "overrides", [{"client_id": ""}, {"redirect_uri": ""}, {"max_response_bytes": 0}]
)
def test_empty_essentials_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(JiraConnectConfigurationError):
        make_client(**overrides)


def test_values_are_frozen() -> None:
    client = make_client()
    with pytest.raises(dataclasses.FrozenInstanceError):
        client.client_secret = "other"  # type: ignore[misc]


def test_no_repr_shows_a_secret() -> None:
    now = datetime.now(timezone.utc)
    values = [
        make_client(),
        AuthorizationRequest(url=BASE_URL + "/x", state="state", code_verifier=CODE_VERIFIER),
        TokenSet(
            access_token=ACCESS_TOKEN,
            refresh_token=REFRESH_TOKEN,
            token_type="bearer",
            expires_in=3600,
            expires_at=now,
            scope="WRITE",
        ),
        JiraIdentity(key="JIRAUSER1", name="a", display_name="A", email="a@example.com"),
        ServerInfo(
            base_url=BASE_URL,
            version="10.3.19",
            deployment_type="Server",
            title="Jira",
        ),
        CredentialsCheck(accepted=True, error="invalid_grant", description="", status_code=400),
    ]
    for value in values:
        assert_no_secret(repr(value))
        assert_no_secret(str(value))
    assert CLIENT_SECRET not in repr(make_client())
    assert "code_verifier" not in repr(start_authorization(make_client()))


def test_server_info_recognises_cloud() -> None:
    info = ServerInfo(
        base_url="https://x.atlassian.net",
        version="1001.0.0",
        deployment_type="Cloud",
        title="Jira",
    )
    assert info.is_cloud
    assert not dataclasses.replace(info, deployment_type="Server").is_cloud
