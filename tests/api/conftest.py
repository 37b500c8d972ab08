"""A logged-in front end on the JSON API, and the simulated Jira it connects to."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.flow.conftest import CALLBACK, jira, link, user  # noqa: F401  # the same Acme Jira

LINKS = "/jira/api/links/"
SCHEMA = "/jira/api/openapi.json"
PROBLEM = "application/problem+json"


def connect_url(slug: str) -> str:
    return f"/jira/api/links/{slug}/connect/"


def disconnect_url(slug: str) -> str:
    return f"/jira/api/links/{slug}/disconnect/"


class FrontEnd:
    """What a single-page app does: GET the links (which hands out the CSRF token), POST JSON."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.csrf_token = ""

    def links(self, **extra: Any) -> Any:
        response = self.client.get(LINKS, **extra)
        if response.status_code == 200:
            self.csrf_token = response.json()["csrf_token"] or ""
        return response

    def post(self, url: str, body: Any = None, *, raw: bytes | None = None, **extra: Any) -> Any:
        if not self.csrf_token:
            self.links()
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        return self.client.post(
            url,
            data,
            content_type="application/json",
            HTTP_X_CSRFTOKEN=self.csrf_token,
            **extra,
        )

    def connect(self, slug: str, body: Any = None, **extra: Any) -> Any:
        return self.post(connect_url(slug), body, **extra)

    def disconnect(self, slug: str, **extra: Any) -> Any:
        return self.post(disconnect_url(slug), **extra)


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """A problem document (RFC 9457) with ``status`` and the type named by ``code``."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:django-jira-connect:problem:{code}"
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


@pytest.fixture
def spa(user) -> FrontEnd:  # noqa: F811
    """The user's browser running the front end: session cookie, CSRF enforced."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return FrontEnd(client)
