"""The bugs the fuzzers found, each as the smallest example.

The seven in jira_connect are fixed: these are their regression tests. The two
in Django (``known_bugs.py``) stay strict ``xfail``: the suite goes red when
Django fixes them, so that the marker gets removed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import django
import pytest
import responses
from django.core.exceptions import BadRequest
from django.http.multipartparser import MultiPartParserError
from django.test import Client

from jira_connect.exceptions import JiraConnectError, JiraUnavailable, OAuthError
from jira_connect.models import JiraConnection, JiraLink
from jira_connect.oauth import exchange_code, fetch_identity, refresh
from tests.conftest import link_form
from tests.fuzz import known_bugs
from tests.oauth import (
    ACCESS_TOKEN,
    CLIENT_SECRET,
    CODE,
    CODE_VERIFIER,
    MYSELF_URL,
    REFRESH_TOKEN,
    TOKEN_URL,
    make_client,
    text_of,
)

DEEP_JSON = b"[" * 5_000
HUGE_EXPIRES_IN = json.dumps({"access_token": "token-1", "expires_in": 10**309}).encode()


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def exchange() -> object:
    return exchange_code(make_client(), CODE, CODE_VERIFIER)


def refresh_tokens() -> object:
    return refresh(make_client(), REFRESH_TOKEN)


def identity() -> object:
    return fetch_identity(make_client(), ACCESS_TOKEN)


CALLS = {
    "exchange_code": ("POST", TOKEN_URL, exchange),
    "refresh": ("POST", TOKEN_URL, refresh_tokens),
    "fetch_identity": ("GET", MYSELF_URL, identity),
}


# --- oauth.py: exceptions that are not the app's ------------------------------------------------


@pytest.mark.parametrize("call", sorted(CALLS))
def test_deeply_nested_json_is_jira_unavailable(mock: responses.RequestsMock, call: str) -> None:
    method, url, function = CALLS[call]
    mock.add(method, url, body=DEEP_JSON, status=200, content_type="application/json")
    with pytest.raises(JiraUnavailable):
        function()


@pytest.mark.parametrize(
    ("status", "location"),
    [
        (301, "http://[x"),  # requests' resolve_redirects: urlparse
        (302, "\x80"),  # requests' get_redirect_target: not UTF-8 (UnicodeDecodeError)
        (300, "http://[x"),  # not followed by requests: _http.describe_redirect
    ],
)
@pytest.mark.parametrize("call", sorted(CALLS))
def test_unparsable_location_is_jira_unavailable(
    mock: responses.RequestsMock, call: str, status: int, location: str
) -> None:
    method, url, function = CALLS[call]
    mock.add(method, url, body=b"", status=status, headers={"Location": location})
    with pytest.raises(JiraUnavailable):
        function()


@pytest.mark.parametrize("call", sorted(CALLS))
def test_superscript_content_length_is_not_a_crash(mock: responses.RequestsMock, call: str) -> None:
    method, url, function = CALLS[call]
    body = b'{"error": "invalid_grant"}'
    mock.add(method, url, body=body, status=400, headers={"Content-Length": "\xb2"})
    # Once fixed: OAuthError or JiraAPIError (the body read), or JiraUnavailable.
    with pytest.raises(JiraConnectError):
        function()


@pytest.mark.parametrize("call", ["exchange_code", "refresh"])
def test_expires_in_beyond_float_range_is_ignored(mock: responses.RequestsMock, call: str) -> None:
    method, url, function = CALLS[call]
    mock.add(method, url, body=HUGE_EXPIRES_IN, status=200, content_type="application/json")
    tokens = function()
    assert tokens.access_token == "token-1"  # type: ignore[attr-defined]
    assert tokens.expires_in is None  # type: ignore[attr-defined]


@pytest.mark.parametrize("call", ["exchange_code", "refresh"])
@pytest.mark.parametrize("status", [200, 400])
def test_oauth_error_of_control_characters_is_not_a_blank_oauth_error(
    mock: responses.RequestsMock, call: str, status: int
) -> None:
    method, url, function = CALLS[call]
    mock.add(method, url, json={"error": "\u0000\t"}, status=status)
    with pytest.raises(JiraConnectError) as caught:
        function()
    assert not isinstance(caught.value, OAuthError) or caught.value.error, "OAuthError('')"


# --- oauth.py: a secret in an exception message --------------------------------------------------


@pytest.mark.parametrize(
    ("call", "secret"),
    [
        ("exchange_code", CLIENT_SECRET),
        ("exchange_code", CODE),
        ("refresh", REFRESH_TOKEN),
    ],
)
def test_token_type_echoing_a_secret_is_redacted(
    mock: responses.RequestsMock, call: str, secret: str
) -> None:
    method, url, function = CALLS[call]
    body = json.dumps({"access_token": "token-1", "token_type": secret}).encode()
    mock.add(method, url, body=body, status=200, content_type="application/json")
    with pytest.raises(JiraUnavailable) as caught:
        function()
    assert secret not in text_of(caught.value), str(caught.value)


# --- the same bugs seen from the callback view: a 500 instead of the 502 page --------------------


@pytest.fixture
def mocked_link(link_factory: Callable[..., JiraLink]) -> JiraLink:
    return link_factory(slug="mocked", base_url="https://jira.example.com/jira")


@pytest.fixture
def carol_client(user_factory: Callable[..., Any]) -> Client:
    client = Client()
    client.force_login(user_factory(username="carol-regression"))
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "answer",
    [
        {"body": DEEP_JSON, "status": 200},  # DEEP_JSON
        {"body": b"", "status": 301, "headers": {"Location": "http://[x"}},  # BAD_LOCATION
    ],
    ids=["deep-json", "bad-location"],
)
def test_callback_answers_502_when_the_token_endpoint_answers_garbage(
    mock: responses.RequestsMock,
    carol_client: Client,
    mocked_link: JiraLink,
    answer: dict[str, object],
) -> None:
    started = carol_client.post("/jira/mocked/connect/")
    assert started.status_code == 302
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    mock.add("POST", TOKEN_URL, content_type="application/json", **answer)  # type: ignore[arg-type]
    mock.add("GET", MYSELF_URL, json={"key": "JIRAUSER10000", "name": "carol"})
    response = carol_client.get("/jira/callback/?" + urlencode({"state": state, "code": "c0de"}))
    assert response.status_code == 502
    assert not JiraConnection.objects.exists()


@pytest.mark.django_db
def test_callback_ignores_an_absurd_expires_in(
    mock: responses.RequestsMock, carol_client: Client, mocked_link: JiraLink
) -> None:
    """A usable token with an ``expires_in`` beyond float range: connected, expiry unknown."""
    started = carol_client.post("/jira/mocked/connect/")
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    mock.add("POST", TOKEN_URL, content_type="application/json", body=HUGE_EXPIRES_IN, status=200)
    mock.add("GET", MYSELF_URL, json={"key": "JIRAUSER10000", "name": "carol"})
    response = carol_client.get("/jira/callback/?" + urlencode({"state": state, "code": "c0de"}))
    assert response.status_code == 302
    assert JiraConnection.objects.get().expires_at is None


# --- the admin: a 500 on a base URL that urlsplit refuses ----------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "base_url",
    [
        "https://[jira.example.com",  # "Invalid IPv6 URL"
        "https://jira]example.com",  # "Invalid IPv6 URL"
        "https://ex\uff03ample.com",  # "contains invalid characters under NFKC normalization"
    ],
)
def test_admin_refuses_unparsable_base_url(user_factory: Callable[..., Any], base_url: str) -> None:
    client = Client()
    client.force_login(user_factory(username="root-regression", is_staff=True, is_superuser=True))
    response = client.post(
        "/admin/jira_connect/jiralink/add/",
        link_form(base_url=base_url, client_id="client-1", client_secret="S3CR3T-regression"),
    )
    assert response.status_code == 200
    assert "base_url" in response.context["adminform"].form.errors
    assert not JiraLink.objects.exists()


# --- upstream, in Django: exceptions raised inside Django's own error handlers -------------------

CSRF = "FuzzCsrf0123456789abcdefghijklmn"


@pytest.fixture
def csrf_client(user_factory: Callable[..., Any]) -> Client:
    """A logged-in user with a CSRF cookie, sending the token as a page's JavaScript would."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_factory(username="dave-regression"))
    client.cookies["csrftoken"] = CSRF
    return client


@pytest.mark.django_db
@pytest.mark.skipif(
    django.VERSION < (5, 0), reason="Django 4.2 decodes other charsets: no bug there"
)
@pytest.mark.xfail(strict=True, raises=BadRequest, reason=known_bugs.DJANGO_URLENCODED_CHARSET)
@pytest.mark.parametrize("charset", ["latin-1", "utf8"])
@pytest.mark.parametrize("path", ["/jira/mine/disconnect/", "/jira/mine/connect/"])
def test_form_charset_other_than_utf8_is_a_400(
    csrf_client: Client, link_factory: Callable[..., JiraLink], charset: str, path: str
) -> None:
    link_factory(slug="mine")
    content_type = f"application/x-www-form-urlencoded; charset={charset}"
    response = csrf_client.generic("POST", path, b"next=%2F", content_type, HTTP_X_CSRFTOKEN=CSRF)
    assert response.status_code == 400


@pytest.mark.django_db
@pytest.mark.xfail(strict=True, raises=MultiPartParserError, reason=known_bugs.DJANGO_MULTIPART)
@pytest.mark.parametrize(
    ("path", "host"),
    [
        ("/jira/:/connect/", "testserver"),  # no view: Django's 404 handler
        ("/jira/mine/connect/", "evil.com"),  # Host not allowed: Django's 400 handler
    ],
)
def test_malformed_multipart_answered_by_a_django_handler_is_not_a_500(
    csrf_client: Client, link_factory: Callable[..., JiraLink], path: str, host: str
) -> None:
    link_factory(slug="mine")
    response = csrf_client.generic(
        "POST", path, b"\x00", "multipart/form-data", HTTP_X_CSRFTOKEN=CSRF, HTTP_HOST=host
    )
    assert response.status_code in {400, 404}
