"""The OAuth 2.0 provider's rules: authorize-request checks, codes, token grants, rotation.

Everything here follows jira-dc-oauth.md; where that file says UNVERIFIED, the behaviour is
chosen by a `SimulatorOptions` switch. The class is not thread-safe on its own: the simulator
calls it with its lock held, which is also what makes two concurrent refreshes of one token end
with exactly one winner.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jira_connect.testing import _scopes
from jira_connect.testing._models import SimulatedClient, SimulatorOptions

#: The token type Jira issues (a name, not a secret).
BEARER = "bearer"

_UNRESERVED = re.compile(r"^[A-Za-z0-9\-._~]+$")
PKCE_METHODS = ("S256", "plain")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def s256(verifier: str) -> str:
    """The S256 code challenge of a verifier (RFC 7636 §4.2)."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def make_token(kind: str) -> str:
    """An opaque token that looks like a JWT (header.payload.signature) and carries nothing."""
    compact = (",", ":")
    header = _b64url(json.dumps({"typ": "JWT", "alg": "HS256"}, separators=compact).encode())
    claims = {"jti": secrets.token_hex(16), "typ": kind}
    payload = _b64url(json.dumps(claims, separators=compact).encode())
    return f"{header}.{payload}.{_b64url(secrets.token_bytes(32))}"


def add_query(url: str, params: Mapping[str, str | None]) -> str:
    """Append parameters to a URL that may already have a query string."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(name, value) for name, value in params.items() if value is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


class OAuthError(Exception):
    """An RFC 6749 error answered as JSON by the token endpoint."""

    def __init__(self, error: str, description: str | None = None, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.description = description
        self.status = status

    def payload(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description is not None:
            body["error_description"] = self.description
        return body


@dataclass(frozen=True)
class AuthorizationRequest:
    """A checked authorize request, ready for the consent page."""

    client: SimulatedClient
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None


@dataclass(frozen=True)
class PageError:
    """A request so wrong that Jira shows an error page instead of redirecting."""

    message: str


@dataclass(frozen=True)
class RedirectError:
    """An error reported back to the client's redirect URI."""

    redirect_uri: str
    error: str
    description: str
    state: str | None

    def location(self) -> str:
        return add_query(
            self.redirect_uri,
            {"error": self.error, "error_description": self.description, "state": self.state},
        )


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    user_key: str
    scopes: tuple[str, ...]
    challenge: str | None
    method: str | None
    expires_at: float
    used: bool = False


@dataclass
class Grant:
    """One consent and the token pair currently issued for it (rotation replaces the pair)."""

    id: int
    client_id: str
    user_key: str
    scopes: tuple[str, ...]
    redirect_uri: str
    started_at: float
    access_token: str | None = None
    access_expires_at: float = 0.0
    refresh_token: str | None = None
    refresh_expires_at: float = 0.0


class OAuthProvider:
    """Clients, codes and grants of one simulated Jira, and the rules that move between them."""

    def __init__(self) -> None:
        self.clients: dict[str, SimulatedClient] = {}
        self._ids = itertools.count(1)
        self.forget_tokens()

    def forget_tokens(self) -> None:
        self.codes: dict[str, _Code] = {}
        self.grants: dict[int, Grant] = {}
        self._by_access: dict[str, int] = {}
        self._by_refresh: dict[str, int] = {}

    # -- authorize ---------------------------------------------------------------------------
    def check_authorize(
        self, params: Mapping[str, str], options: SimulatorOptions
    ) -> AuthorizationRequest | PageError | RedirectError:
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            return PageError("The client_id is missing or does not belong to any application.")
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:
            return PageError("The redirect_uri parameter is missing.")
        if not self.redirect_matches(client, redirect_uri, options):
            return PageError(
                "The redirect_uri does not match the Redirect URL registered for this application."
            )
        state = params.get("state")

        def fail(error: str, description: str) -> RedirectError:
            return RedirectError(client.redirect_uri, error, description, state)

        if params.get("response_type") != "code":
            return fail("unsupported_response_type", "Only response_type=code is supported.")
        requested = _scopes.split_scope(params.get("scope"))
        unknown = [scope for scope in requested if scope not in _scopes.JIRA_SCOPES]
        if unknown:
            return fail("invalid_scope", f"Unknown scope: {' '.join(unknown)}.")
        granted = _scopes.cap(requested, _scopes.split_scope(client.scope))
        if not granted:
            return fail("invalid_scope", "The application may not request this scope.")
        challenge = params.get("code_challenge") or None
        method = params.get("code_challenge_method") or None
        if challenge is None:
            if method is not None:
                return fail("invalid_request", "code_challenge_method without code_challenge.")
            if options.require_pkce:
                return fail("invalid_request", "PKCE is required: send a code_challenge.")
        else:
            method = method or "plain"
            allowed = PKCE_METHODS + (("sha256",) if options.accept_sha256_method else ())
            if method not in allowed:
                return fail("invalid_request", f"Unsupported code_challenge_method: {method}.")
            if not self._valid_verifier_syntax(challenge, options):
                return fail("invalid_request", "The code_challenge is malformed.")
        return AuthorizationRequest(
            client, redirect_uri, tuple(granted), state, challenge, method if challenge else None
        )

    @staticmethod
    def redirect_matches(
        client: SimulatedClient, redirect_uri: str, options: SimulatorOptions
    ) -> bool:
        if options.exact_redirect_uri_match:
            return hmac.compare_digest(redirect_uri.encode(), client.redirect_uri.encode())
        return redirect_uri.rstrip("/") == client.redirect_uri.rstrip("/")

    @staticmethod
    def _valid_verifier_syntax(value: str, options: SimulatorOptions) -> bool:
        return 43 <= len(value) <= options.code_verifier_max_length and bool(
            _UNRESERVED.match(value)
        )

    def issue_code(self, request: AuthorizationRequest, user_key: str, now: float, ttl: int) -> str:
        code = secrets.token_urlsafe(24)
        self.codes[code] = _Code(
            client_id=request.client.client_id,
            redirect_uri=request.redirect_uri,
            user_key=user_key,
            scopes=request.scopes,
            challenge=request.code_challenge,
            method=request.code_challenge_method,
            expires_at=now + ttl,
        )
        return code

    # -- token endpoint ----------------------------------------------------------------------
    def authenticate(self, params: Mapping[str, str], options: SimulatorOptions) -> SimulatedClient:
        """Client authentication by body/query parameters only (no HTTP Basic)."""
        bad = OAuthError(
            "invalid_client", "Client authentication failed.", options.invalid_client_status
        )
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            raise bad
        if options.validate_client_secret:
            secret = params.get("client_secret", "")
            if not hmac.compare_digest(secret.encode(), client.client_secret.encode()):
                raise bad
        return client

    def token(
        self,
        params: Mapping[str, str],
        options: SimulatorOptions,
        now: float,
        *,
        keep_refresh_token: bool = False,
    ) -> dict[str, Any]:
        """Run a token request and return the success body, or raise `OAuthError`.

        `keep_refresh_token` is the "no_refresh_token" fault: no new refresh token is issued,
        and on a refresh the old one stays valid (RFC 6749 §6 semantics for an absent field).
        """
        client = self.authenticate(params, options)
        grant_type = params.get("grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "Missing grant_type.")
        if grant_type == "authorization_code":
            grant = self._exchange_code(client, params, options, now)
            self._issue(grant, options, now, with_refresh=not keep_refresh_token)
        elif grant_type == "refresh_token":
            grant = self._refresh(client, params, options, now)
            self._issue(grant, options, now, with_refresh=not keep_refresh_token)
        else:
            raise OAuthError("unsupported_grant_type", f"Unsupported grant_type: {grant_type}.")
        body: dict[str, Any] = {
            "access_token": grant.access_token,
            "token_type": BEARER,
            "expires_in": options.access_token_ttl,
        }
        if not keep_refresh_token:
            body["refresh_token"] = grant.refresh_token
        body["created_at"] = int(now)
        if options.token_response_scope is not None:
            body[options.token_response_scope] = " ".join(grant.scopes)
        return body

    def _exchange_code(
        self,
        client: SimulatedClient,
        params: Mapping[str, str],
        options: SimulatorOptions,
        now: float,
    ) -> Grant:
        code_value = params.get("code")
        if not code_value:
            raise OAuthError("invalid_request", "Missing code.")
        code = self.codes.get(code_value)
        if code is None or code.client_id != client.client_id:
            raise OAuthError("invalid_grant", "Invalid authorization code.")
        if code.used:
            raise OAuthError("invalid_grant", "The authorization code has already been used.")
        code.used = True  # any attempt spends the code, as strict providers do
        if now >= code.expires_at:
            raise OAuthError("invalid_grant", "The authorization code has expired.")
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri or redirect_uri != code.redirect_uri:
            raise OAuthError("invalid_grant", "The redirect_uri does not match the authorization.")
        if code.challenge is not None:
            verifier = params.get("code_verifier")
            if not verifier or not self._valid_verifier_syntax(verifier, options):
                raise OAuthError("invalid_grant", "A valid code_verifier is required.")
            expected = verifier if code.method == "plain" else s256(verifier)
            if not hmac.compare_digest(expected.encode(), code.challenge.encode()):
                raise OAuthError("invalid_grant", "The code_verifier does not match.")
        grant = Grant(
            id=next(self._ids),
            client_id=client.client_id,
            user_key=code.user_key,
            scopes=code.scopes,
            redirect_uri=code.redirect_uri,
            started_at=now,
        )
        self.grants[grant.id] = grant
        return grant

    def _refresh(
        self,
        client: SimulatedClient,
        params: Mapping[str, str],
        options: SimulatorOptions,
        now: float,
    ) -> Grant:
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri and options.require_redirect_uri_on_refresh:
            raise OAuthError("invalid_grant")  # bare, "names nothing", as jira.js reports
        token = params.get("refresh_token")
        if not token:
            raise OAuthError("invalid_request", "Missing refresh_token.")
        grant = self.grant_for_refresh_token(token, now)
        if grant is None or grant.client_id != client.client_id:
            raise OAuthError("invalid_grant", "Invalid refresh token.")
        if redirect_uri and redirect_uri != grant.redirect_uri:
            raise OAuthError("invalid_grant", "The redirect_uri does not match the authorization.")
        return grant

    def _issue(
        self, grant: Grant, options: SimulatorOptions, now: float, *, with_refresh: bool
    ) -> None:
        """Give the grant a new access token and (unless told not to) a new refresh token,
        killing the previous ones at once (rotation)."""
        if grant.access_token is not None:
            self._by_access.pop(grant.access_token, None)
        grant.access_token = make_token("access")
        grant.access_expires_at = now + options.access_token_ttl
        self._by_access[grant.access_token] = grant.id
        if not with_refresh:
            return
        if grant.refresh_token is not None:
            self._by_refresh.pop(grant.refresh_token, None)
        grant.refresh_token = make_token("refresh")
        start = grant.started_at if options.refresh_ttl_from_first_grant else now
        grant.refresh_expires_at = start + options.refresh_token_ttl
        self._by_refresh[grant.refresh_token] = grant.id

    # -- lookups and revocation --------------------------------------------------------------
    def grant_for_access_token(self, token: str, now: float) -> Grant | None:
        grant = self.grants.get(self._by_access.get(token, -1))
        if grant is None or grant.access_token != token or now >= grant.access_expires_at:
            return None
        return grant

    def grant_for_refresh_token(self, token: str, now: float) -> Grant | None:
        grant = self.grants.get(self._by_refresh.get(token, -1))
        if grant is None or grant.refresh_token != token or now >= grant.refresh_expires_at:
            return None
        return grant

    def delete_grant(self, grant: Grant) -> None:
        self.grants.pop(grant.id, None)
        if grant.access_token is not None:
            self._by_access.pop(grant.access_token, None)
        if grant.refresh_token is not None:
            self._by_refresh.pop(grant.refresh_token, None)

    def grant_holding(self, token: str) -> Grant | None:
        """The grant whose current access or refresh token is ``token``, expired or not."""
        for index in (self._by_access, self._by_refresh):
            grant = self.grants.get(index.get(token, -1))
            if grant is not None and token in (grant.access_token, grant.refresh_token):
                return grant
        return None

    def revoke(
        self,
        *,
        user_key: str | None = None,
        client_id: str | None = None,
        token: str | None = None,
    ) -> int:
        """Delete every grant (and unused code) of the user and/or client, or the one grant
        holding ``token``; return the grants."""
        if token is not None:
            grant = self.grant_holding(token)
            if grant is None:
                return 0
            self.delete_grant(grant)
            return 1
        doomed = [
            grant
            for grant in self.grants.values()
            if (user_key is None or grant.user_key == user_key)
            and (client_id is None or grant.client_id == client_id)
        ]
        for grant in doomed:
            self.delete_grant(grant)
        for code in self.codes.values():
            if (user_key is None or code.user_key == user_key) and (
                client_id is None or code.client_id == client_id
            ):
                code.used = True
        return len(doomed)

    def expire_access_tokens(self, now: float, token: str | None = None) -> None:
        """Expire every current access token, or only that of the grant holding ``token``."""
        if token is None:
            grants = list(self.grants.values())
        else:
            grants = [grant for grant in [self.grant_holding(token)] if grant is not None]
        for grant in grants:
            grant.access_expires_at = min(grant.access_expires_at, now)
