"""start_authorization(): the authorise URL, state and PKCE S256."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlsplit

from jira_connect.oauth import start_authorization

from . import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, make_client

UNRESERVED = re.compile(r"^[A-Za-z0-9\-._~]+$")


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)


def test_url_has_every_parameter_once() -> None:
    request = start_authorization(make_client(scope="READ WRITE"))
    parts = urlsplit(request.url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "jira.example.com",
        "/jira/rest/oauth2/latest/authorize",
    )
    assert _query(request.url) == {
        "client_id": [CLIENT_ID],
        "redirect_uri": [REDIRECT_URI],
        "response_type": ["code"],
        "scope": ["READ WRITE"],
        "state": [request.state],
        "code_challenge": [_s256(request.code_verifier)],
        "code_challenge_method": ["S256"],
    }
    # Spaces as %20, which every server decodes as a space.
    assert "scope=READ%20WRITE" in request.url


def test_url_carries_no_secret() -> None:
    request = start_authorization(make_client())
    assert CLIENT_SECRET not in request.url
    assert request.code_verifier not in request.url


def test_empty_scope_is_left_out() -> None:
    assert "scope" not in _query(start_authorization(make_client(scope="")).url)


def test_state_has_at_least_128_bits_and_is_unique() -> None:
    states = {start_authorization(make_client()).state for _ in range(500)}
    assert len(states) == 500
    for state in states:
        # token_urlsafe(32): 43 characters of a 64-symbol alphabet = 256 bits.
        assert len(state) >= 43
        assert re.fullmatch(r"[A-Za-z0-9_-]+", state)


def test_code_verifier_shape_and_uniqueness() -> None:
    verifiers = {start_authorization(make_client()).code_verifier for _ in range(500)}
    assert len(verifiers) == 500
    for verifier in verifiers:
        assert 43 <= len(verifier) <= 127
        assert UNRESERVED.match(verifier)


def test_code_challenge_is_s256_of_the_verifier() -> None:
    request = start_authorization(make_client())
    challenge = _query(request.url)["code_challenge"][0]
    digest = hashlib.sha256(request.code_verifier.encode("ascii")).digest()
    assert challenge == base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    assert "=" not in challenge
    assert len(challenge) == 43


def test_rfc7636_appendix_b_vector() -> None:
    # The RFC's own example, through the same helper the tests use.
    assert (
        _s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_http_base_url_works_when_allowed() -> None:
    request = start_authorization(make_client(base_url="http://localhost:2990/jira"))
    assert request.url.startswith("http://localhost:2990/jira/rest/oauth2/latest/authorize?")


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
