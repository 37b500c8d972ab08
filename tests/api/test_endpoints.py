"""The JSON endpoints, each answer and each error, through Django's test client (CSRF enforced)."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from jira_connect import signals, state
from jira_connect.models import JiraConnection
from tests.api.conftest import (
    LINKS,
    SCHEMA,
    FrontEnd,
    assert_problem,
    connect_url,
    disconnect_url,
)
from tests.conftest import ACCESS_TOKEN, CLIENT_SECRET, REFRESH_TOKEN, jira_connect_settings
from tests.flow.conftest import query

pytestmark = pytest.mark.django_db


# --- api-links -----------------------------------------------------------------------------------


def test_links_lists_the_link_without_a_connection(spa, link) -> None:
    response = spa.links()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    assert response.json()["links"] == [
        {
            "slug": "acme",
            "name": "Acme Jira",
            "base_url": link.base_url,
            "connect_url": "/jira/api/links/acme/connect/",
            "disconnect_url": "/jira/api/links/acme/disconnect/",
            "connection": None,
        }
    ]


def test_links_shows_the_connection_and_never_a_secret(spa, user, link, connection_factory) -> None:
    refreshed = timezone.now()
    connection = connection_factory(user=user, link=link, last_refreshed_at=refreshed)
    response = spa.links()
    text = response.content.decode()
    for secret in (ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET, link.client_id):
        assert secret not in text
    (row,) = response.json()["links"]
    assert row["connection"] == {
        "status": "active",
        "needs_reconnect": False,
        "reconnect_reason": None,
        "reconnect_message": None,
        "jira": {"key": "JIRAUSER10000", "name": "alice", "display_name": "Alice Example"},
        "scope": "WRITE",
        "connected_since": connection.created_at.isoformat()[:23] + "Z",
        "last_refreshed": refreshed.isoformat()[:23] + "Z",
    }


@pytest.mark.parametrize(
    ("status", "granted", "reason", "words"),
    [
        ("revoked", "WRITE", "revoked", "revoked"),
        ("reauth_required", "WRITE", "rejected", "no longer accepts"),
        ("reauth_required", "READ", "scope_changed", "more access (WRITE)"),
    ],
)
def test_links_says_why_to_reconnect(
    spa, user, link, connection_factory, status, granted, reason, words
) -> None:
    connection_factory(user=user, link=link, status=status, scope=granted)
    connection = spa.links().json()["links"][0]["connection"]
    assert connection["status"] == status
    assert connection["needs_reconnect"] is True
    assert connection["reconnect_reason"] == reason
    assert words in connection["reconnect_message"]


def test_links_shows_only_the_users_own_connection(spa, user_factory, link, connection_factory):
    connection_factory(user=user_factory(), link=link)
    assert spa.links().json()["links"][0]["connection"] is None


def test_links_hands_out_the_csrf_token(spa, link) -> None:
    response = spa.links()
    assert response.json()["csrf_token"]
    assert response.cookies["csrftoken"].value


def test_inactive_links_are_not_listed(spa, link) -> None:
    link.is_active = False
    link.save()
    assert spa.links().json()["links"] == []


def test_links_needs_a_user(client, link) -> None:
    body = assert_problem(client.get(LINKS), 401, "not-authenticated")
    assert body["title"] == "Authentication required"


def test_links_refuses_post(spa, link) -> None:
    response = spa.post(LINKS, {})
    assert_problem(response, 405, "method-not-allowed")
    assert response["Allow"] == "GET, HEAD"


# --- api-connect ---------------------------------------------------------------------------------


def test_connect_answers_the_authorize_url_and_remembers_the_flow(spa, user, link, jira) -> None:
    response = spa.connect("acme", {"next": "/spa/?tab=jira"})
    assert response.status_code == 200, response.content
    authorize_url = response.json()["authorize_url"]
    assert authorize_url.startswith(jira.authorize_endpoint + "?")
    params = query(authorize_url)
    assert params["code_challenge_method"] == "S256"
    assert params["redirect_uri"] == "http://testserver/jira/callback/"
    flows = spa.client.session[state.SESSION_KEY]
    pending = flows[params["state"]]
    assert pending["link_id"] == link.pk
    assert pending["user_pk"] == str(user.pk)
    assert pending["next_url"] == "/spa/?tab=jira"
    assert pending["from_api"] is True


@pytest.mark.parametrize("body", [None, {}, {"next": ""}])
def test_connect_without_next(spa, link, body) -> None:
    response = spa.connect("acme", body)
    assert response.status_code == 200, response.content
    (pending,) = spa.client.session[state.SESSION_KEY].values()
    assert pending["next_url"] == ""


@pytest.mark.parametrize(
    "evil", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_connect_refuses_an_unsafe_next(spa, link, evil) -> None:
    body = assert_problem(spa.connect("acme", {"next": evil}), 400, "invalid-next")
    assert "testserver" in body["detail"]
    assert state.SESSION_KEY not in spa.client.session


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"{", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
        (b'["next"]', "JSON object"),
        (b'"next"', "JSON object"),
        (b'{"next": 1}', "must be a string"),
        (b'{"next": null}', "must be a string"),
        (b'{"nxt": "/"}', "Unknown key"),
    ],
)
def test_connect_refuses_a_malformed_body(spa, link, raw, words) -> None:
    body = assert_problem(spa.post(connect_url("acme"), raw=raw), 400, "invalid-body")
    assert words in body["detail"]


def test_connect_unknown_and_foreign_slugs_answer_the_same(spa, link, link_factory) -> None:
    link_factory(slug="globex", tenant="globex")
    unknown = spa.connect("nope")
    foreign = spa.connect("globex")
    assert_problem(unknown, 404, "not-found")
    assert foreign.status_code == unknown.status_code
    assert foreign.content == unknown.content
    assert state.SESSION_KEY not in spa.client.session


def test_connect_needs_a_user(link) -> None:
    front_end = FrontEnd(Client(enforce_csrf_checks=True))
    assert_problem(front_end.connect("acme"), 401, "not-authenticated")


@pytest.mark.parametrize("token", ["", "wrong" * 8])
def test_connect_needs_the_csrf_header(spa, link, token) -> None:
    spa.links()
    spa.csrf_token = token or "x"
    response = spa.client.post(
        connect_url("acme"),
        b"{}",
        content_type="application/json",
        **({"HTTP_X_CSRFTOKEN": token} if token else {}),
    )
    body = assert_problem(response, 403, "csrf-failed")
    assert "X-CSRFToken" in body["detail"]
    assert state.SESSION_KEY not in spa.client.session


def test_connect_checks_the_origin_like_django(spa, link) -> None:
    response = spa.connect("acme", HTTP_ORIGIN="https://evil.example")
    body = assert_problem(response, 403, "csrf-failed")
    assert "evil.example" in body["detail"]


def test_connect_refuses_get(spa, link) -> None:
    response = spa.client.get(connect_url("acme"))
    assert_problem(response, 405, "method-not-allowed")
    assert response["Allow"] == "POST"


def test_connect_on_a_misconfigured_link(spa, link) -> None:
    with override_settings(JIRA_CONNECT=jira_connect_settings(ALLOW_HTTP=False)):
        assert_problem(spa.connect("acme"), 503, "link-misconfigured")
    assert state.SESSION_KEY not in spa.client.session


# --- api-disconnect ------------------------------------------------------------------------------


def test_disconnect(spa, user, link, connection_factory) -> None:
    connection_factory(user=user, link=link)
    sent = []

    def receiver(**kwargs: object) -> None:
        sent.append(kwargs)

    signals.disconnected.connect(receiver)
    try:
        response = spa.disconnect("acme")
    finally:
        signals.disconnected.disconnect(receiver)
    assert response.status_code == 204
    assert response.content == b""
    assert not JiraConnection.objects.filter(user=user).exists()
    assert spa.links().json()["links"][0]["connection"] is None


def test_disconnect_when_not_connected(spa, link) -> None:
    assert spa.disconnect("acme").status_code == 204


def test_disconnect_unknown_and_foreign_slugs_answer_the_same(
    spa, user, link_factory, connection_factory
) -> None:
    foreign = link_factory(slug="globex", tenant="globex")
    connection_factory(user=user, link=foreign)
    unknown_answer = spa.disconnect("nope")
    foreign_answer = spa.disconnect("globex")
    assert_problem(unknown_answer, 404, "not-found")
    assert foreign_answer.content == unknown_answer.content
    assert JiraConnection.objects.filter(user=user, link=foreign).exists()


def test_disconnect_needs_the_csrf_header(spa, user, link, connection_factory) -> None:
    connection_factory(user=user, link=link)
    response = spa.client.post(disconnect_url("acme"))
    assert_problem(response, 403, "csrf-failed")
    assert JiraConnection.objects.filter(user=user).exists()


def test_disconnect_needs_a_user(link) -> None:
    assert_problem(Client().post(disconnect_url("acme")), 401, "not-authenticated")


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch", "options"])
def test_disconnect_refuses_other_methods(spa, link, method) -> None:
    response = getattr(spa.client, method)(disconnect_url("acme"))
    assert_problem(response, 405, "method-not-allowed")
    assert response["Allow"] == "POST"


# --- the rest of api/ ----------------------------------------------------------------------------


def test_schema_is_public_json(client) -> None:
    response = client.get(SCHEMA)
    assert response.status_code == 200
    assert response.json()["openapi"] == "3.1.0"
    assert_problem(client.post(SCHEMA), 405, "method-not-allowed")


@pytest.mark.parametrize(
    "path", ["/jira/api/", "/jira/api/links", "/jira/api/links/acme/", "/jira/api/nope/x/"]
)
def test_other_api_paths_answer_a_problem_not_a_page(spa, link, path) -> None:
    assert_problem(spa.client.get(path), 404, "not-found")


def test_an_html_link_slugged_api_still_works(spa, link_factory) -> None:
    link_factory(slug="api", name="API Jira")
    response = spa.client.get("/jira/api/connect/")
    assert response.status_code == 200
    assert "API Jira" in response.content.decode()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\x00", "multipart/form-data"),
        (b"--x\r\nContent-Disposition: form-data\r\n\r\n", "multipart/form-data; boundary=x"),
        (b"next=%2F", "application/x-www-form-urlencoded; charset=latin-1"),
        (b"next=%2F", "application/x-www-form-urlencoded; charset=no-such-charset"),
    ],
)
@pytest.mark.parametrize("endpoint", [connect_url, disconnect_url])
def test_unreadable_bodies_are_a_problem_not_a_crash(spa, link, body, content_type, endpoint):
    spa.links()
    response = spa.client.generic(
        "POST", endpoint("acme"), body, content_type, HTTP_X_CSRFTOKEN=spa.csrf_token
    )
    if endpoint is connect_url or response.status_code != 204:  # disconnect reads no body
        assert 400 <= response.status_code < 500
        assert response["Content-Type"] == "application/problem+json"
