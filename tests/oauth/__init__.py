"""Unit tests of ``jira_connect.oauth`` against recorded protocol exchanges (``fixtures/``).

Shared helpers live here (the suite's root conftest belongs to the Django
tests). Every secret below is distinctive so that a leak test can look for it
anywhere: logs, exception messages and args, reprs.
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import requests
import responses

from jira_connect.oauth import OAuthClient
from jira_connect.transport import LinkTLSAdapter

FIXTURES = Path(__file__).parent / "fixtures"

BASE_URL = "https://jira.example.com/jira"
TOKEN_URL = BASE_URL + "/rest/oauth2/latest/token"
MYSELF_URL = BASE_URL + "/rest/api/2/myself"
SERVER_INFO_URL = BASE_URL + "/rest/api/2/serverInfo"
REDIRECT_URI = "https://app.example.com/jira/callback/"

CLIENT_ID = "client-id-0f1e2d3c"
CLIENT_SECRET = "client-secret-S3CRET-5e2f9a7c"
CODE = "auth-code-C0DE-8b3d1f"
CODE_VERIFIER = "verifier-V3RIFIER-" + "x" * 40
REFRESH_TOKEN = "refresh-token-R3FRESH-2a6c9e"
ACCESS_TOKEN = "access-token-ACC3SS-4d8b0f"
# The tokens inside the fixtures' successful answers.
FIXTURE_ACCESS_TOKEN = "eyJhbGciOiJIUzI1NiJ9.access-fixture-4f9d2c"
FIXTURE_REFRESH_TOKEN = "eyJhbGciOiJIUzI1NiJ9.refresh-fixture-7b1e8a"

SECRETS = (
    CLIENT_SECRET,
    CODE,
    CODE_VERIFIER,
    REFRESH_TOKEN,
    ACCESS_TOKEN,
    FIXTURE_ACCESS_TOKEN,
    FIXTURE_REFRESH_TOKEN,
)


def make_client(**overrides: Any) -> OAuthClient:
    values: dict[str, Any] = {
        "base_url": BASE_URL,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT_URI,
        "scope": "WRITE",
    }
    values.update(overrides)
    return OAuthClient(**values)


def load(name: str) -> dict[str, Any]:
    """A recorded exchange: ``{"comment", "request": {method, path}, "response": {...}}``."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def replay(
    rsps: responses.RequestsMock,
    name: str,
    *,
    base_url: str = BASE_URL,
    status: int | None = None,
    headers: dict[str, str] | None = None,
) -> responses.BaseResponse:
    """Register the recorded answer of fixture ``name`` on ``rsps``."""
    exchange = load(name)
    answer = exchange["response"]
    body = json.dumps(answer["json"]) if "json" in answer else answer.get("body", "")
    all_headers = dict(answer.get("headers", {}))
    all_headers.update(headers or {})
    content_type = all_headers.pop("Content-Type", None)
    return rsps.add(
        exchange["request"]["method"],
        base_url + exchange["request"]["path"],
        body=body,
        status=status if status is not None else answer["status"],
        headers=all_headers,
        content_type=content_type,
    )


def form(request: requests.PreparedRequest) -> dict[str, list[str]]:
    """The form fields of a sent request body."""
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return parse_qs(body or "", keep_blank_values=True, strict_parsing=True)


def text_of(exc: BaseException) -> str:
    """Everything an exception shows: str, repr, args, and the same for its causes."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), repr(current.args)]
        for attribute in ("error", "description"):
            parts.append(repr(getattr(current, attribute, "")))
        request = getattr(current, "request", None)
        if request is not None:
            parts += [repr(getattr(request, "body", None)), repr(getattr(request, "headers", None))]
            parts.append(repr(getattr(request, "url", None)))
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"secret {secret[:12]}… leaked"


#: A CA of the link's own, as ``transport.tls_verify`` gives one: an ``ssl.SSLContext``.
PRIVATE_CA = ssl.create_default_context()


def link_verify(session: requests.Session, request: requests.PreparedRequest) -> Any:
    """The TLS verification the link's adapter applies to ``request`` (None: no such adapter)."""
    adapter = session.get_adapter(request.url or "")
    return adapter._link_verify if isinstance(adapter, LinkTLSAdapter) else None
