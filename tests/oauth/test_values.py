"""OAuthClient validation and the dataclasses' reprs."""

from __future__ import annotations

import dataclasses
import os
from datetime import datetime, timezone

import pytest

import jira_connect
from jira_connect.exceptions import JiraConnectConfigurationError
from jira_connect.oauth import (
    AuthorizationRequest,
    CredentialsCheck,
    JiraIdentity,
    ServerInfo,
    TokenSet,
    exchange_code,
    refresh_request,
    start_authorization,
)
from jira_connect.transport import USER_AGENT

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
    assert client.user_agent == USER_AGENT == f"django-jira-connect/{jira_connect.__version__}"


def test_the_base_url_is_taken_as_checked() -> None:
    # The site's rules (https, JIRA_HOSTS) are applied once, by transport.ensure_allowed,
    # before a client is built: http:// works here without any process-wide switch.
    client = make_client(base_url=" http://localhost:8080/jira/ ")
    assert client.token_url == "http://localhost:8080/jira/rest/oauth2/latest/token"
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ


@pytest.mark.parametrize("overrides", [{"client_id": ""}, {"max_response_bytes": 0}])
def test_empty_essentials_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(JiraConnectConfigurationError):
        make_client(**overrides)


def test_the_calls_that_send_a_redirect_uri_refuse_to_run_without_one() -> None:
    # Checked before anything is sent (no network here); the identity call needs none
    # (test_identity.test_the_identity_call_needs_no_redirect_uri).
    client = make_client(redirect_uri="")
    for call in (
        lambda: start_authorization(client),
        lambda: exchange_code(client, "code", CODE_VERIFIER),
        lambda: refresh_request(client, REFRESH_TOKEN),
    ):
        with pytest.raises(JiraConnectConfigurationError, match="Redirect URL"):
            call()


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
