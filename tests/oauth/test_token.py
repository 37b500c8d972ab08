"""exchange_code() and refresh(): the exact request, the parsing, and every error mapping."""

from __future__ import annotations

import json
import ssl
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
import responses

import jira_connect
from jira_connect.exceptions import JiraConnectError, JiraUnavailable, OAuthError
from jira_connect.oauth import TokenSet, exchange_code, refresh, start_authorization

from . import (
    BASE_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    CODE,
    CODE_VERIFIER,
    FIXTURE_ACCESS_TOKEN,
    FIXTURE_REFRESH_TOKEN,
    PRIVATE_CA,
    REDIRECT_URI,
    REFRESH_TOKEN,
    TOKEN_URL,
    assert_no_secret,
    form,
    make_client,
    replay,
    text_of,
)


def _exchange(**overrides: Any) -> TokenSet:
    return exchange_code(make_client(**overrides), CODE, CODE_VERIFIER)


def _refresh(**overrides: Any) -> TokenSet:
    return refresh(make_client(**overrides), REFRESH_TOKEN)


def only_token_post(rsps: responses.RequestsMock) -> requests.PreparedRequest:
    """The one request sent, checked to be a POST to the token URL (context path kept, no query
    string): what both grants must send, whatever their form says."""
    assert len(rsps.calls) == 1
    request = rsps.calls[0].request
    assert request.method == "POST"
    assert request.url == TOKEN_URL
    return request


# --- the request ---------------------------------------------------------------------------------


def test_exchange_sends_one_form_post(
    rsps: responses.RequestsMock, sent: list[dict[str, Any]]
) -> None:
    replay(rsps, "token_success")
    _exchange()
    request = only_token_post(rsps)
    assert form(request) == {
        "grant_type": ["authorization_code"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
        "code": [CODE],
        "redirect_uri": [REDIRECT_URI],
        "code_verifier": [CODE_VERIFIER],
    }
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"] == f"django-jira-connect/{jira_connect.__version__}"
    assert "Authorization" not in request.headers  # never HTTP Basic


def test_refresh_sends_one_form_post_with_redirect_uri(
    rsps: responses.RequestsMock, sent: list[dict[str, Any]]
) -> None:
    replay(rsps, "token_success")
    _refresh()
    request = only_token_post(rsps)
    assert form(request) == {
        "grant_type": ["refresh_token"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
        "refresh_token": [REFRESH_TOKEN],
        "redirect_uri": [REDIRECT_URI],
    }
    assert "Authorization" not in request.headers
    assert "scope" not in form(request)


def test_redirect_uri_is_the_same_string_everywhere(rsps: responses.RequestsMock) -> None:
    replay(rsps, "token_success")
    client = make_client(redirect_uri="https://app.example.com/jira/callback/?tenant=a b")
    authorize = start_authorization(client)
    exchange_code(client, CODE, authorize.code_verifier)
    refresh(client, REFRESH_TOKEN)
    from urllib.parse import parse_qs, urlsplit

    sent_on_authorize = parse_qs(urlsplit(authorize.url).query)["redirect_uri"]
    sent_on_exchange = form(rsps.calls[0].request)["redirect_uri"]
    sent_on_refresh = form(rsps.calls[1].request)["redirect_uri"]
    assert sent_on_authorize == sent_on_exchange == sent_on_refresh == [client.redirect_uri]


@pytest.mark.parametrize(
    ("verify", "timeout"),
    [(True, 10.0), (PRIVATE_CA, (3.05, 27.0)), (False, 2.5)],
)
def test_transport_options_reach_requests(
    rsps: responses.RequestsMock,
    sent: list[dict[str, Any]],
    verify: bool | ssl.SSLContext,
    timeout: Any,
) -> None:
    replay(rsps, "token_success")
    _exchange(verify=verify, timeout=timeout)
    replay(rsps, "token_success")
    _refresh(verify=verify, timeout=timeout)
    assert len(sent) == 2
    for call in sent:
        assert call["timeout"] == timeout
        assert call["verify"] is verify
        assert call["allow_redirects"] is False
        assert call["stream"] is True


def test_netrc_credentials_are_never_applied(
    rsps: responses.RequestsMock, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine jira.example.com login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    replay(rsps, "token_success")
    _exchange()
    assert "Authorization" not in rsps.calls[0].request.headers


def test_http_base_url_works_when_allowed(
    rsps: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    replay(rsps, "token_success", base_url="http://localhost:2990/jira")
    tokens = _exchange(base_url="http://localhost:2990/jira")
    assert tokens.access_token == FIXTURE_ACCESS_TOKEN
    assert rsps.calls[0].request.url == "http://localhost:2990/jira/rest/oauth2/latest/token"


@pytest.mark.parametrize(("code", "verifier"), [("", CODE_VERIFIER), (CODE, "")])
def test_exchange_needs_code_and_verifier(code: str, verifier: str) -> None:
    with pytest.raises(ValueError, match="needs"):
        exchange_code(make_client(), code, verifier)


def test_refresh_needs_a_token() -> None:
    with pytest.raises(ValueError, match="needs"):
        refresh(make_client(), "")


# --- parsing a success ---------------------------------------------------------------------------


def test_success_as_in_atlassians_example(rsps: responses.RequestsMock) -> None:
    replay(rsps, "token_success")
    before = datetime.now(timezone.utc)
    tokens = _exchange()
    after = datetime.now(timezone.utc)
    assert tokens.access_token == FIXTURE_ACCESS_TOKEN
    assert tokens.refresh_token == FIXTURE_REFRESH_TOKEN
    assert tokens.token_type == "bearer"
    assert tokens.expires_in == 3600
    assert tokens.scope is None
    assert tokens.expires_at is not None
    assert tokens.expires_at.tzinfo is not None
    assert tokens.expires_at.utcoffset() == timedelta(0)
    assert before + timedelta(seconds=3600) <= tokens.expires_at <= after + timedelta(seconds=3600)


@pytest.mark.parametrize(
    ("fixture", "scope"),
    [
        ("token_success_scope", "WRITE"),
        ("token_success_scopes_list", "READ WRITE"),
        ("token_success_expires_in_string", "READ WRITE"),
    ],
)
def test_granted_scope_from_scope_or_scopes(
    rsps: responses.RequestsMock, fixture: str, scope: str
) -> None:
    replay(rsps, fixture)
    assert _exchange().scope == scope


def test_expires_in_as_string_and_token_type_in_any_case(rsps: responses.RequestsMock) -> None:
    replay(rsps, "token_success_expires_in_string")
    tokens = _refresh()
    assert tokens.expires_in == 7200
    assert tokens.token_type == "bearer"


def test_missing_refresh_token_is_none(rsps: responses.RequestsMock) -> None:
    replay(rsps, "token_success_no_refresh_token")
    tokens = _refresh()
    assert tokens.refresh_token is None
    assert tokens.access_token == FIXTURE_ACCESS_TOKEN


def _answer(rsps: responses.RequestsMock, payload: Any, status: int = 200, **kwargs: Any) -> None:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    kwargs.setdefault("content_type", "application/json")
    rsps.add(responses.POST, TOKEN_URL, body=body, status=status, **kwargs)


@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [
        (3600, 3600),
        ("3600", 3600),
        (" 3600 ", 3600),
        ("3600.0", 3600),
        (3599.9, 3599),
        (0, 0),
        (None, None),
        ("soon", None),
        (-5, None),
        (True, None),
        ([3600], None),
        (10**12, None),
        ("nan", None),
    ],
)
def test_expires_in_is_read_defensively(
    rsps: responses.RequestsMock, expires_in: Any, expected: int | None
) -> None:
    payload: dict[str, Any] = {"access_token": "a", "token_type": "bearer"}
    if expires_in is not None:
        payload["expires_in"] = expires_in
    _answer(rsps, payload)
    tokens = _exchange()
    assert tokens.expires_in == expected
    assert (tokens.expires_at is None) is (expected is None)


@pytest.mark.parametrize(
    ("fields", "scope"),
    [
        ({"scope": "READ  WRITE"}, "READ WRITE"),
        ({"scope": "READ,WRITE"}, "READ WRITE"),
        ({"scope": ""}, None),
        ({"scope": "", "scopes": "ADMIN"}, "ADMIN"),
        ({"scopes": ["READ", 3, "WRITE"]}, "READ WRITE"),
        ({"scopes": []}, None),
        ({"scope": 7}, None),
        ({}, None),
    ],
)
def test_scope_is_read_defensively(
    rsps: responses.RequestsMock, fields: dict[str, Any], scope: str | None
) -> None:
    _answer(rsps, {"access_token": "a", "token_type": "bearer", **fields})
    assert _exchange().scope == scope


@pytest.mark.parametrize("token_type", ["bearer", "Bearer", "BEARER", " bearer ", None, ""])
def test_bearer_in_any_case_or_missing_is_accepted(
    rsps: responses.RequestsMock, token_type: str | None
) -> None:
    payload: dict[str, Any] = {"access_token": "a"}
    if token_type is not None:
        payload["token_type"] = token_type
    _answer(rsps, payload)
    assert _exchange().token_type == "bearer"


@pytest.mark.parametrize("token_type", ["mac", "N_A", 1])
def test_other_token_types_are_refused(rsps: responses.RequestsMock, token_type: Any) -> None:
    _answer(rsps, {"access_token": "a", "token_type": token_type})
    with pytest.raises(JiraUnavailable, match="not a bearer token"):
        _exchange()


@pytest.mark.parametrize("refresh_token", [None, "", 42, {"x": 1}])
def test_unusable_refresh_token_is_none(rsps: responses.RequestsMock, refresh_token: Any) -> None:
    _answer(rsps, {"access_token": "a", "token_type": "bearer", "refresh_token": refresh_token})
    assert _refresh().refresh_token is None


def test_extra_fields_are_ignored(rsps: responses.RequestsMock) -> None:
    _answer(rsps, {"access_token": "a", "token_type": "bearer", "created_at": 1, "jti": "x"})
    assert _exchange().access_token == "a"


# --- OAuth errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "error", "description", "status"),
    [
        ("error_invalid_grant_bare", "invalid_grant", "", 400),
        (
            "error_invalid_grant",
            "invalid_grant",
            "The provided authorization grant is invalid, expired or revoked.",
            400,
        ),
        ("error_invalid_client", "invalid_client", "Client authentication failed.", 401),
        ("error_invalid_request", "invalid_request", "Missing parameter: redirect_uri", 400),
    ],
)
@pytest.mark.parametrize("call", [_exchange, _refresh])
def test_rfc6749_errors_become_oauth_error(
    rsps: responses.RequestsMock,
    call: Any,
    fixture: str,
    error: str,
    description: str,
    status: int,
) -> None:
    replay(rsps, fixture)
    with pytest.raises(OAuthError) as caught:
        call()
    assert (caught.value.error, caught.value.description, caught.value.status_code) == (
        error,
        description,
        status,
    )
    assert isinstance(caught.value, JiraConnectError)
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429])
def test_any_4xx_with_an_oauth_error_is_an_oauth_error(
    rsps: responses.RequestsMock, status: int
) -> None:
    _answer(rsps, {"error": "invalid_grant"}, status=status)
    with pytest.raises(OAuthError) as caught:
        _refresh()
    assert caught.value.status_code == status


def test_error_in_a_200_is_an_oauth_error(rsps: responses.RequestsMock) -> None:
    _answer(rsps, {"error": "invalid_grant", "error_description": "Token revoked"})
    with pytest.raises(OAuthError, match="invalid_grant: Token revoked"):
        _refresh()


def test_oauth_error_from_a_non_json_content_type(rsps: responses.RequestsMock) -> None:
    _answer(rsps, {"error": "invalid_grant"}, status=400, content_type="text/plain")
    with pytest.raises(OAuthError):
        _refresh()


def test_jiras_description_is_one_line_and_bounded(rsps: responses.RequestsMock) -> None:
    _answer(rsps, {"error": "invalid_grant", "error_description": "a\nb\r\n\tc" + "d" * 1000}, 400)
    with pytest.raises(OAuthError) as caught:
        _refresh()
    assert caught.value.description.startswith("a b cddd")
    assert "\n" not in str(caught.value)
    assert len(caught.value.description) <= 300


def test_description_that_echoes_a_secret_is_scrubbed(rsps: responses.RequestsMock) -> None:
    _answer(
        rsps,
        {"error": "invalid_grant", "error_description": f"Unknown code {CODE} for {CLIENT_ID}"},
        400,
    )
    with pytest.raises(OAuthError) as caught:
        _exchange()
    assert CODE not in caught.value.description
    assert caught.value.description == f"Unknown code [redacted] for {CLIENT_ID}"


# --- Jira unavailable ----------------------------------------------------------------------------


def _unavailable(call: Any = _refresh) -> JiraUnavailable:
    with pytest.raises(JiraUnavailable) as caught:
        call()
    assert caught.value.retryable is True
    assert isinstance(caught.value, JiraConnectError)
    assert_no_secret(text_of(caught.value))
    return caught.value


def test_proxy_html_page(rsps: responses.RequestsMock) -> None:
    replay(rsps, "proxy_502_html")
    err = _unavailable()
    assert err.status_code == 502
    assert str(err) == (
        "Jira answered the token request with an HTML page (HTTP 502) instead of JSON: "
        "is a proxy or SSO page in front of the base URL?"
    )


def test_html_login_page_with_200(rsps: responses.RequestsMock) -> None:
    _answer(rsps, "<!DOCTYPE html><html><body>Log in</body></html>", content_type="text/plain")
    err = _unavailable(_exchange)
    assert err.status_code == 200
    assert "HTML page (HTTP 200)" in str(err)


def test_form_param_500(rsps: responses.RequestsMock) -> None:
    replay(rsps, "token_500_form_param")
    err = _unavailable()
    assert err.status_code == 500
    assert str(err).startswith("Jira's token endpoint failed with HTTP 500: The @FormParam")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_unavailable_even_with_an_oauth_error(
    rsps: responses.RequestsMock, status: int
) -> None:
    _answer(rsps, {"error": "server_error", "error_description": "try later"}, status=status)
    err = _unavailable()
    assert err.status_code == status
    assert f"HTTP {status}: try later" in str(err)


def test_jiras_own_401_is_unavailable_with_its_status(rsps: responses.RequestsMock) -> None:
    replay(rsps, "jira_401_unauthenticated")
    err = _unavailable()
    assert err.status_code == 401
    assert str(err) == (
        "Jira answered the token request with HTTP 401 and no OAuth error: "
        "Client must be authenticated to access this resource."
    )


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (
            '{"access_token": "abc", ',
            "application/json",
            "not valid JSON (HTTP 200, application/json)",
        ),
        ("not json at all", "text/plain", "not valid JSON (HTTP 200, text/plain)"),
        ("", "application/json", "an empty body (HTTP 200)"),
        ('["access_token"]', "application/json", "JSON that is not an object"),
        ('"access_token"', "application/json", "JSON that is not an object"),
        (b"\xff\xfe\xfd", "application/json", "not valid JSON"),
    ],
)
def test_garbage_is_unavailable(
    rsps: responses.RequestsMock, body: str | bytes, content_type: str, words: str
) -> None:
    rsps.add(responses.POST, TOKEN_URL, body=body, status=200, content_type=content_type)
    err = _unavailable(_exchange)
    assert words in str(err)
    assert err.status_code == 200


@pytest.mark.parametrize(
    "payload",
    [{}, {"token_type": "bearer"}, {"access_token": ""}, {"access_token": 12}, {"error": ""}],
)
def test_200_without_access_token(rsps: responses.RequestsMock, payload: dict[str, Any]) -> None:
    _answer(rsps, payload)
    err = _unavailable(_exchange)
    assert "HTTP 200 but no access token" in str(err)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_not_followed(rsps: responses.RequestsMock, status: int) -> None:
    rsps.add(
        responses.POST,
        TOKEN_URL,
        status=status,
        headers={"Location": "https://jira.example.com/login.jsp?os_destination=%2Fx"},
    )
    err = _unavailable()
    assert len(rsps.calls) == 1
    assert err.status_code == status
    assert str(err).startswith(
        f"Jira redirected the token request (HTTP {status}) to https://jira.example.com/login.jsp:"
    )
    assert "base URL is probably wrong" in str(err)
    assert "os_destination" not in str(err)


def test_sso_redirect_drops_the_query(rsps: responses.RequestsMock) -> None:
    replay(rsps, "sso_login_redirect")
    err = _unavailable()
    assert "https://sso.example.com/idp/login:" in str(err)
    assert "SAMLRequest" not in str(err)


def test_relative_redirect(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.POST, TOKEN_URL, status=302, headers={"Location": "/login"})
    assert "to https://jira.example.com/login:" in str(_unavailable())


def test_oversized_body_with_content_length(rsps: responses.RequestsMock) -> None:
    _answer(rsps, {"access_token": "a" * 2000})
    err = _unavailable(lambda: _exchange(max_response_bytes=1000))
    assert err.status_code == 200
    assert "larger than 1000 bytes" in str(err)


def test_oversized_body_without_content_length(rsps: responses.RequestsMock) -> None:
    _answer(rsps, {"access_token": "a" * 2000}, auto_calculate_content_length=False)
    err = _unavailable(lambda: _exchange(max_response_bytes=1000))
    assert "larger than 1000 bytes" in str(err)


def test_body_of_exactly_the_limit_is_read(rsps: responses.RequestsMock) -> None:
    body = json.dumps({"access_token": "a", "pad": ""})
    body = body[:-2] + "x" * (100 - len(body)) + '"}'
    assert len(body) == 100
    _answer(rsps, body)
    assert _exchange(max_response_bytes=100).access_token == "a"


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (
            requests.exceptions.ConnectTimeout("connect timed out"),
            "Could not connect to Jira at https://jira.example.com within 3.05 s.",
        ),
        (
            requests.exceptions.ReadTimeout("read timed out"),
            "Jira at https://jira.example.com did not answer the token request within 27 s.",
        ),
        (
            requests.exceptions.SSLError("certificate verify failed"),
            "TLS verification failed for Jira at https://jira.example.com (certificate verify failed)",
        ),
        (
            requests.exceptions.ConnectionError("Connection refused"),
            "Could not connect to Jira at https://jira.example.com: Connection refused.",
        ),
        (requests.exceptions.ProxyError("Cannot connect to proxy"), "through the HTTP proxy"),
        (requests.exceptions.ChunkedEncodingError("Connection broken"), "was cut off"),
        (requests.exceptions.InvalidHeader("bad header"), "Could not send the token request"),
    ],
)
def test_transport_failures_are_unavailable(
    rsps: responses.RequestsMock, error: Exception, words: str
) -> None:
    rsps.add(responses.POST, TOKEN_URL, body=error)
    err = _unavailable(lambda: _refresh(timeout=(3.05, 27.0)))
    assert words in str(err)
    assert err.status_code is None
    assert err.__cause__ is error


def test_refresh_makes_exactly_one_request_whatever_happens(rsps: responses.RequestsMock) -> None:
    for answer in (
        {"body": requests.exceptions.ConnectionError("refused")},
        {"body": "<html>", "status": 503},
        {"json": {"error": "invalid_grant"}, "status": 400},
    ):
        rsps.reset()
        rsps.add(responses.POST, TOKEN_URL, **answer)
        with pytest.raises(JiraConnectError):
            _refresh()
        assert len(rsps.calls) == 1


def test_base_url_for_token_url_is_used_verbatim() -> None:
    client = make_client(base_url=BASE_URL + "///")
    assert client.token_url == TOKEN_URL
