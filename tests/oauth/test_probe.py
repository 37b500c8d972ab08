"""probe_client_credentials(): a made-up code tells whether Jira accepts the client."""

from __future__ import annotations

import pytest
import responses

from jira_connect.exceptions import JiraUnavailable
from jira_connect.oauth import CredentialsCheck, probe_client_credentials

from . import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, TOKEN_URL, form, make_client, replay


def test_probe_sends_a_real_looking_exchange(rsps: responses.RequestsMock) -> None:
    replay(rsps, "error_invalid_grant_bare")
    probe_client_credentials(make_client())
    assert len(rsps.calls) == 1
    request = rsps.calls[0].request
    assert request.url == TOKEN_URL
    fields = form(request)
    assert fields["grant_type"] == ["authorization_code"]
    assert fields["client_id"] == [CLIENT_ID]
    assert fields["client_secret"] == [CLIENT_SECRET]
    assert fields["redirect_uri"] == [REDIRECT_URI]
    assert fields["code"][0].startswith("jira-connect-probe-")
    assert 43 <= len(fields["code_verifier"][0]) <= 127


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("error_invalid_grant_bare", CredentialsCheck(True, "invalid_grant", "", 400)),
        (
            "error_invalid_grant",
            CredentialsCheck(
                True,
                "invalid_grant",
                "The provided authorization grant is invalid, expired or revoked.",
                400,
            ),
        ),
        (
            "error_invalid_client",
            CredentialsCheck(False, "invalid_client", "Client authentication failed.", 401),
        ),
        (
            "error_invalid_request",
            CredentialsCheck(None, "invalid_request", "Missing parameter: redirect_uri", 400),
        ),
    ],
)
def test_probe_reads_the_oauth_error(
    rsps: responses.RequestsMock, fixture: str, expected: CredentialsCheck
) -> None:
    replay(rsps, fixture)
    assert probe_client_credentials(make_client()) == expected


def test_probe_when_jira_accepts_the_made_up_code(rsps: responses.RequestsMock) -> None:
    replay(rsps, "token_success")
    assert probe_client_credentials(make_client()).accepted is True


@pytest.mark.parametrize(
    "fixture", ["proxy_502_html", "jira_401_unauthenticated", "sso_login_redirect"]
)
def test_probe_raises_when_jira_cannot_tell(rsps: responses.RequestsMock, fixture: str) -> None:
    replay(rsps, fixture)
    with pytest.raises(JiraUnavailable):
        probe_client_credentials(make_client())


def test_each_probe_uses_a_new_code(rsps: responses.RequestsMock) -> None:
    replay(rsps, "error_invalid_grant_bare")
    client = make_client()
    probe_client_credentials(client)
    probe_client_credentials(client)
    codes = {form(call.request)["code"][0] for call in rsps.calls}
    assert len(codes) == 2
