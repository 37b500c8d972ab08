"""The Jira Data Center OAuth 2.0 protocol, and nothing else.

Plain values in, plain values (frozen dataclasses) out, or the app's
exceptions. No models, no settings: ``jira_connect.lifecycle`` combines this
with storage.

Built on oauthlib's ``WebApplicationClient`` (the protocol core that
requests-oauthlib itself delegates to) for PKCE and the token request bodies,
and on a plain ``requests.Session`` for transport. ``OAuth2Session`` is not
used for the exchanges: it refuses ``http://`` token URLs unless the
process-wide ``OAUTHLIB_INSECURE_TRANSPORT`` variable is set, reads response
bodies without a bound, logs request bodies and tokens at DEBUG, and parses
token responses under further environment variables. Here:

- every call has the caller's timeout, TLS verification (on by default), no
  redirects and a bounded read (``jira_connect._http``);
- the base URL is the caller's to check, once, with the site's rules (https
  unless ``ALLOW_HTTP``, ``JIRA_HOSTS``): ``jira_connect.transport.ensure_allowed``
  runs before every client is built, so this module does not check it again;
- no secret is logged, put in a URL, or put in an exception's message or args;
  Django's error reports redact the locals of the functions that hold them;
- requests-oauthlib's own loggers get a redaction filter when the app is ready
  (``AppConfig.ready()``, ``jira_connect._logging``), for any other code in the
  process that uses it.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Final
from urllib.parse import quote, urlencode

import requests
from django.views.decorators.debug import sensitive_variables
from oauthlib.oauth2 import WebApplicationClient

from jira_connect import _http
from jira_connect.conf import Timeout
from jira_connect.exceptions import (
    JiraAPIError,
    JiraAuthenticationFailed,
    JiraConnectConfigurationError,
    JiraUnavailable,
    OAuthError,
)
from jira_connect.transport import USER_AGENT, Verify

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "AuthorizationRequest",
    "CredentialsCheck",
    "JiraIdentity",
    "OAuthClient",
    "ServerInfo",
    "Timeout",
    "TokenRequest",
    "TokenSet",
    "exchange_code",
    "fetch_identity",
    "fetch_server_info",
    "parse_token_answer",
    "probe_client_credentials",
    "refresh",
    "refresh_request",
    "start_authorization",
]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT: Final = 10.0
DEFAULT_MAX_RESPONSE_BYTES: Final = 1_048_576

AUTHORIZE_PATH: Final = "/rest/oauth2/latest/authorize"
TOKEN_PATH: Final = "/rest/oauth2/latest/token"  # noqa: S105 (a path, not a secret)
MYSELF_PATH: Final = "/rest/api/2/myself"
SERVER_INFO_PATH: Final = "/rest/api/2/serverInfo"

#: RFC 7636 allows 43 to 128 characters; Jira's page says up to 127.
CODE_VERIFIER_LENGTH: Final = 64
#: 32 random bytes: 256 bits, 43 URL-safe characters.
STATE_BYTES: Final = 32
#: Longest ``expires_in`` taken at face value (ten years); anything longer is ignored.
MAX_EXPIRES_IN: Final = 10 * 365 * 24 * 3600

#: The only token type Jira issues (compared case-insensitively; a missing one means this).
BEARER: Final = "bearer"

_TOKEN_HEADERS: Final = {
    "Accept": "application/json",
    "Content-Type": "application/x-www-form-urlencoded",
}


# --- values --------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OAuthClient:
    """Everything needed to talk to one incoming application link.

    ``base_url`` includes any context path (``https://host/jira``); trailing
    slashes are dropped. It is taken as given: the caller has checked it
    (``jira_connect.transport.ensure_allowed``). ``redirect_uri`` is sent, as
    the same string, on authorise, exchange and refresh, which refuse to run
    without one; the identity call sends none and needs none.
    """

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str
    redirect_uri: str = ""
    verify: Verify = True
    timeout: Timeout = DEFAULT_TIMEOUT
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    user_agent: str = USER_AGENT
    #: The site's say in the session each call builds (``CONFIGURE_SESSION``): run first,
    #: before the link's TLS adapter and the no-credentials auth are put on.
    configure_session: Callable[[requests.Session], None] | None = field(
        default=None, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.strip().rstrip("/"))
        if not self.client_id:
            raise JiraConnectConfigurationError("The link's client ID is empty.")
        if self.max_response_bytes < 1:
            raise JiraConnectConfigurationError("max_response_bytes must be positive.")

    def sent_redirect_uri(self) -> str:
        """The Redirect URL for a call that sends one, or JiraConnectConfigurationError."""
        if not self.redirect_uri:
            raise JiraConnectConfigurationError(
                "No Redirect URL for this call: set JIRA_CONNECT['CALLBACK_URL'], or start "
                "the connection from a request."
            )
        return self.redirect_uri

    @property
    def authorize_url(self) -> str:
        return self.base_url + AUTHORIZE_PATH

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the user, and what to keep server-side until the callback."""

    url: str
    state: str
    code_verifier: str = field(repr=False)


@dataclass(frozen=True)
class TokenSet:
    """A successful token response.

    ``refresh_token`` is None when Jira sent none: keep the one you have.
    ``expires_at`` (aware, UTC) is counted from just before the request was
    sent, so it is never later than Jira's own expiry. ``scope`` is the granted
    scope when Jira said (``scope`` or ``scopes``), else None.
    """

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    token_type: str
    expires_in: int | None
    expires_at: datetime | None
    scope: str | None


@dataclass(frozen=True)
class JiraIdentity:
    """The Jira user an access token belongs to (``/rest/api/2/myself``).

    ``key`` is the stable id (``JIRAUSER10000``); ``name`` is the login and can
    be renamed. ``email`` is "" when the instance hides it.
    """

    key: str
    name: str
    display_name: str
    email: str


@dataclass(frozen=True)
class ServerInfo:
    """What Jira says about itself (``/rest/api/2/serverInfo``, anonymous).

    ``base_url`` is Jira's own idea of its URL, which may differ from the one
    used to reach it (proxies). Data Center reports ``deployment_type``
    "Server".
    """

    base_url: str
    version: str
    deployment_type: str
    title: str

    @property
    def is_cloud(self) -> bool:
        return self.deployment_type.lower() == "cloud"


@dataclass(frozen=True)
class CredentialsCheck:
    """What Jira's token endpoint said to a deliberately invalid authorization code.

    ``accepted`` is True when Jira knows the client and accepted its secret
    (it rejected only the code: ``invalid_grant``), False when it rejected the
    client (``invalid_client``), None when the answer does not tell.
    """

    accepted: bool | None
    error: str
    description: str
    status_code: int | None


# --- the protocol --------------------------------------------------------------------------------


def start_authorization(client: OAuthClient) -> AuthorizationRequest:
    """Build the authorise URL, with a fresh ``state`` and PKCE S256."""
    pkce = WebApplicationClient(client.client_id)
    code_verifier = pkce.create_code_verifier(CODE_VERIFIER_LENGTH)
    code_challenge = pkce.create_code_challenge(code_verifier, "S256")
    state = secrets.token_urlsafe(STATE_BYTES)
    params = {
        "client_id": client.client_id,
        "redirect_uri": client.sent_redirect_uri(),
        "response_type": "code",
        "scope": client.scope,
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    if not client.scope:
        del params["scope"]
    url = f"{client.authorize_url}?{urlencode(params, quote_via=quote)}"
    return AuthorizationRequest(url=url, state=state, code_verifier=code_verifier)


@sensitive_variables()
def exchange_code(client: OAuthClient, code: str, code_verifier: str) -> TokenSet:
    """Exchange an authorization code (and its PKCE verifier) for tokens. One request."""
    if not code or not code_verifier:
        raise ValueError("exchange_code() needs a code and its code verifier.")
    body = WebApplicationClient(client.client_id).prepare_request_body(
        code=code,
        redirect_uri=client.sent_redirect_uri(),
        include_client_id=True,
        code_verifier=code_verifier,
        client_secret=client.client_secret,
    )
    return _token_request(
        client,
        body,
        grant_type="authorization_code",
        redact=(client.client_secret, code, code_verifier),
    )


@sensitive_variables()
def refresh(client: OAuthClient, refresh_token: str) -> TokenSet:
    """Trade a refresh token for a new token pair. Always sends ``redirect_uri``; one request.

    Jira rotates both tokens: the old refresh token is dead once this succeeds,
    and may be dead even when it fails with ``JiraUnavailable``.
    """
    request = refresh_request(client, refresh_token)
    return _token_request(
        client, request.body.decode("utf-8"), grant_type="refresh_token", redact=request.redact
    )


@dataclass(frozen=True)
class TokenRequest:
    """A token request to send with another HTTP client (the async path's httpx): POST
    ``body`` with ``headers`` to ``url``, no redirects, ``client.timeout``, ``client.verify``,
    at most ``client.max_response_bytes`` read; then ``parse_token_answer``."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes = field(repr=False)
    redact: tuple[str, ...] = field(repr=False)


@sensitive_variables()
def refresh_request(client: OAuthClient, refresh_token: str) -> TokenRequest:
    """The refresh request ``refresh()`` sends, for a transport of the caller's."""
    if not refresh_token:
        raise ValueError("refresh() needs a refresh token.")
    body = WebApplicationClient(client.client_id).prepare_refresh_body(
        refresh_token=refresh_token,
        client_id=client.client_id,
        client_secret=client.client_secret,
        redirect_uri=client.sent_redirect_uri(),
    )
    return TokenRequest(
        method="POST",
        url=client.token_url,
        headers={**_TOKEN_HEADERS, "User-Agent": client.user_agent},
        body=body.encode("utf-8"),
        redact=(client.client_secret, refresh_token),
    )


@sensitive_variables()
def parse_token_answer(
    request: TokenRequest,
    *,
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    url: str,
    issued_at: datetime,
) -> TokenSet:
    """Read the token endpoint's answer to ``request`` received by another HTTP client: the
    same rules (and exceptions) as ``refresh()``. ``issued_at``: when the request was sent."""
    response = _response(status=status, headers=headers, content=content, url=url)
    return _parse_token_response(response, issued_at=issued_at, redact=request.redact)


@sensitive_variables()
def fetch_identity(client: OAuthClient, access_token: str) -> JiraIdentity:
    """Who the access token belongs to: ``GET /rest/api/2/myself`` with the bearer token.

    Raises ``JiraAuthenticationFailed`` on a 401 or on an answer Jira gave
    anonymously (``X-AUSERNAME: anonymous``), ``JiraAPIError`` on another
    4xx, ``JiraUnavailable`` on anything else that is not a user.
    """
    request = identity_request(client, access_token)
    response = _http.send(
        request.method,
        request.url,
        headers=request.headers,
        verify=client.verify,
        timeout=client.timeout,
        max_bytes=client.max_response_bytes,
        configure=client.configure_session,
        what=IDENTITY_REQUEST,
    )
    _http.redact_response(response)
    return _identity(request, response)


#: How errors name the identity call.
IDENTITY_REQUEST = "the identity request"


@dataclass(frozen=True)
class IdentityRequest:
    """The identity call ``fetch_identity`` makes, for another HTTP client (the async path's
    httpx): GET ``url`` with ``headers``, no redirects, ``client.timeout``, ``client.verify``, at
    most ``client.max_response_bytes`` read; then ``parse_identity_answer``."""

    method: str
    url: str
    headers: dict[str, str] = field(repr=False)  # the bearer token
    redact: tuple[str, ...] = field(repr=False)


@sensitive_variables()
def identity_request(client: OAuthClient, access_token: str) -> IdentityRequest:
    """The request ``fetch_identity`` sends, for a transport of the caller's."""
    if not access_token:
        raise ValueError("fetch_identity() needs an access token.")
    return IdentityRequest(
        method="GET",
        url=client.base_url + MYSELF_PATH,
        headers={
            "Accept": "application/json",
            "Authorization": f"Bearer {access_token}",
            "User-Agent": client.user_agent,
        },
        redact=(access_token,),
    )


def parse_identity_answer(
    request: IdentityRequest, *, status: int, headers: Mapping[str, str], content: bytes, url: str
) -> JiraIdentity:
    """Read Jira's answer to ``request`` received by another HTTP client: the same rules (and
    exceptions) as ``fetch_identity()``."""
    return _identity(request, _response(status=status, headers=headers, content=content, url=url))


def _response(
    *, status: int, headers: Mapping[str, str], content: bytes, url: str
) -> requests.Response:
    """An answer received by another HTTP client, as the parsers here read it (no request in it)."""
    response = requests.Response()
    response.status_code = status
    response.headers = requests.structures.CaseInsensitiveDict(headers)
    response._content = content
    response.url = url
    return response


def _identity(request: IdentityRequest, response: requests.Response) -> JiraIdentity:
    url = request.url
    payload = _check_api_response(
        response, url, what=IDENTITY_REQUEST, redact=request.redact, authenticated=True
    )
    key = payload.get("key")
    if not isinstance(key, str) or not key:
        raise JiraUnavailable(
            f"Jira's answer from {url} has no user key: is this Jira Data Center (Cloud has no "
            "user keys)?",
            status_code=response.status_code,
        )
    name = _string(payload.get("name"))
    identity = JiraIdentity(
        key=key,
        name=name,
        display_name=_string(payload.get("displayName")) or name,
        email=_string(payload.get("emailAddress")),
    )
    base_url = url.removesuffix(MYSELF_PATH)
    logger.debug("Jira at %s identified the token's user as key %s", base_url, key)
    return identity


def fetch_server_info(
    base_url: str,
    *,
    verify: Verify = True,
    timeout: Timeout = DEFAULT_TIMEOUT,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    user_agent: str = USER_AGENT,
    configure_session: Callable[[requests.Session], None] | None = None,
) -> ServerInfo:
    """What Jira says about itself: ``GET /rest/api/2/serverInfo``, anonymously.

    ``base_url`` is taken as given, as ``OAuthClient`` takes it: check it first.
    """
    url = base_url.strip().rstrip("/") + SERVER_INFO_PATH
    response = _http.send(
        "GET",
        url,
        headers={"Accept": "application/json", "User-Agent": user_agent},
        verify=verify,
        timeout=timeout,
        max_bytes=max_response_bytes,
        configure=configure_session,
        what="the server information request",
    )
    payload = _check_api_response(
        response, url, what="the server information request", authenticated=False
    )
    version = payload.get("version")
    if not isinstance(version, str) or not version:
        raise JiraUnavailable(
            f"The answer from {url} has no Jira version: is the base URL (with any context "
            "path) Jira's?",
            status_code=response.status_code,
        )
    return ServerInfo(
        base_url=_string(payload.get("baseUrl")),
        version=version,
        deployment_type=_string(payload.get("deploymentType")),
        title=_string(payload.get("serverTitle")),
    )


@sensitive_variables()
def probe_client_credentials(client: OAuthClient) -> CredentialsCheck:
    """Check the client ID and secret without a user, by exchanging a code that cannot exist.

    Jira must reject the code; how it does tells whether it accepted the
    client. Raises ``JiraUnavailable`` when Jira cannot be asked (or answers
    something that is not an OAuth answer).
    """
    code = "jira-connect-probe-" + secrets.token_urlsafe(16)
    code_verifier = WebApplicationClient(client.client_id).create_code_verifier(
        CODE_VERIFIER_LENGTH
    )
    try:
        exchange_code(client, code, code_verifier)
    except OAuthError as err:
        if err.error == "invalid_grant":
            accepted: bool | None = True
        elif err.error == "invalid_client":
            accepted = False
        else:
            accepted = None
        logger.info(
            "Credentials probe at %s: Jira answered %s (HTTP %s)",
            client.base_url,
            err.error,
            err.status_code,
        )
        return CredentialsCheck(
            accepted=accepted,
            error=err.error,
            description=err.description,
            status_code=err.status_code,
        )
    logger.warning("Credentials probe at %s: Jira accepted a made-up code", client.base_url)
    return CredentialsCheck(accepted=True, error="", description="", status_code=200)


#: The start of what Jira's authorise endpoint answers (HTTP 400, before the consent page) when
#: its own base URL is not https, or a proxy in front of it hides that the request came over
#: HTTPS: "Please ensure that your server is using HTTPS and that your application base URL is
#: configured appropriately".
HTTPS_BASE_URL_ERROR: Final = "Please ensure that your server is using HTTPS"


@dataclass(frozen=True)
class AuthorizeCheck:
    """How Jira's authorise endpoint answered a request no user made.

    ``https_misconfigured`` is True when it refused with its HTTPS/base-URL
    error, which no user gets past.
    """

    status_code: int
    https_misconfigured: bool


def probe_authorize_endpoint(client: OAuthClient) -> AuthorizeCheck:
    """Open the authorise URL as a browser would, without following Jira's redirect.

    Jira normally redirects to its login or consent page; one request, no
    state kept. Raises ``JiraUnavailable`` when Jira cannot be asked.
    """
    url = start_authorization(client).url
    response = _http.send(
        "GET",
        url,
        headers={"Accept": "text/html", "User-Agent": client.user_agent},
        verify=client.verify,
        timeout=client.timeout,
        max_bytes=client.max_response_bytes,
        configure=client.configure_session,
        what="the authorisation request",
    )
    text = " ".join((response.content or b"").decode("utf-8", "replace").split())
    misconfigured = response.status_code == 400 and HTTPS_BASE_URL_ERROR.lower() in text.lower()
    logger.info(
        "Authorise endpoint probe at %s: HTTP %s%s",
        client.base_url,
        response.status_code,
        " (HTTPS/base URL error)" if misconfigured else "",
    )
    return AuthorizeCheck(status_code=response.status_code, https_misconfigured=misconfigured)


# --- helpers -------------------------------------------------------------------------------------


def _token_request(
    client: OAuthClient, body: str, *, grant_type: str, redact: tuple[str, ...]
) -> TokenSet:
    """POST a prepared form to the token endpoint and parse the answer."""
    url = client.token_url
    issued_at = datetime.now(timezone.utc)
    logger.debug("Requesting tokens from %s (grant_type=%s)", url, grant_type)
    response = _http.send(
        "POST",
        url,
        headers={**_TOKEN_HEADERS, "User-Agent": client.user_agent},
        data=body.encode("utf-8"),
        verify=client.verify,
        timeout=client.timeout,
        max_bytes=client.max_response_bytes,
        configure=client.configure_session,
        what="the token request",
    )
    logger.debug("Jira's token endpoint answered HTTP %s", response.status_code)
    return _parse_token_response(response, issued_at=issued_at, redact=redact)


def _parse_token_response(
    response: requests.Response, *, issued_at: datetime, redact: tuple[str, ...]
) -> TokenSet:
    status = response.status_code
    if 300 <= status < 400:
        raise JiraUnavailable(
            _http.describe_redirect(response, "the token request"), status_code=status
        )
    payload = _http.json_object(response)
    if payload is None:
        raise JiraUnavailable(
            f"Jira answered the token request with {_http.describe_body(response)}",
            status_code=status,
        )
    error = payload.get("error")
    if 200 <= status < 300:
        access_token = payload.get("access_token")
        if isinstance(access_token, str) and access_token:
            return _token_set(payload, access_token, issued_at, redact)
    code = _http.clean_text(error, limit=100, redact=redact) if isinstance(error, str) else ""
    if code and status < 500:
        description = payload.get("error_description")
        raise OAuthError(
            code,
            _http.clean_text(description, redact=redact) if isinstance(description, str) else "",
            status,
        )
    detail = _http.detail(payload, redact=redact)
    suffix = f": {detail}" if detail else ""
    if 200 <= status < 300:
        message = f"Jira answered the token request with HTTP {status} but no access token{suffix}"
    elif status >= 500:
        message = f"Jira's token endpoint failed with HTTP {status}{suffix}"
    else:
        message = f"Jira answered the token request with HTTP {status} and no OAuth error{suffix}"
    raise JiraUnavailable(message, status_code=status)


def _token_set(
    payload: dict[str, Any], access_token: str, issued_at: datetime, redact: Iterable[str] = ()
) -> TokenSet:
    kind = payload.get("token_type")
    if (
        kind is not None
        and kind != ""
        and not (isinstance(kind, str) and kind.strip().lower() == BEARER)
    ):
        shown = _http.clean_text(str(kind), limit=40, redact=(*redact, access_token))
        raise JiraUnavailable(
            f"Jira issued a token of type {shown!r}, not a bearer token.",
            status_code=200,
        )
    refresh_token = payload.get("refresh_token")
    if refresh_token is not None and not (isinstance(refresh_token, str) and refresh_token):
        logger.warning("Ignored an empty or non-string refresh_token in Jira's token response")
    if not isinstance(refresh_token, str) or not refresh_token:
        refresh_token = None
    expires_in = _expires_in(payload.get("expires_in"))
    return TokenSet(
        access_token=access_token,
        refresh_token=refresh_token,
        token_type=BEARER,
        expires_in=expires_in,
        expires_at=None if expires_in is None else issued_at + timedelta(seconds=expires_in),
        scope=_granted_scope(payload),
    )


def _expires_in(value: object) -> int | None:
    """``expires_in`` as whole seconds; None when missing or unusable."""
    if value is None:
        return None
    seconds: float | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        # Compared as an int: float() of an absurd integer overflows.
        if not 0 <= value <= MAX_EXPIRES_IN:
            logger.warning("Ignored an unusable expires_in in Jira's token response")
            return None
        return value
    if isinstance(value, float):
        seconds = value
    elif isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            seconds = None
    if seconds is None or not math.isfinite(seconds) or not 0 <= seconds <= MAX_EXPIRES_IN:
        logger.warning("Ignored an unusable expires_in in Jira's token response")
        return None
    return int(seconds)


def _granted_scope(payload: dict[str, Any]) -> str | None:
    """The granted scope from ``scope`` or the non-standard ``scopes`` (string or list)."""
    for key in ("scope", "scopes"):
        value = payload.get(key)
        items = value if isinstance(value, list) else [value]
        words = [
            word
            for item in items
            if isinstance(item, str)
            for word in item.replace(",", " ").split()
        ]
        if words:
            return " ".join(words)
    return None


def _check_api_response(
    response: requests.Response,
    url: str,
    *,
    what: str,
    authenticated: bool,
    redact: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The JSON object of a successful REST answer, or the matching exception.

    For an ``authenticated`` (bearer) call, a 401 or an anonymous answer means
    the token was not accepted. Anonymous calls are answered anonymously.
    """
    status = response.status_code
    if 300 <= status < 400:
        raise JiraUnavailable(_http.describe_redirect(response, what), status_code=status)
    payload = _http.json_object(response)
    detail = _http.detail(payload, redact=redact)
    suffix = f": {detail}" if detail else ""
    anonymous = response.headers.get("X-AUSERNAME", "").strip().lower() == "anonymous"
    if authenticated and (status == 401 or (anonymous and status < 500)):
        raise JiraAuthenticationFailed(
            f"Jira did not accept the access token for {url} (HTTP {status}"
            f"{', answered anonymously' if anonymous else ''}){suffix}",
            response=response,
        )
    if 400 <= status < 500:
        raise JiraAPIError(f"Jira answered {url} with HTTP {status}{suffix}", response=response)
    if not 200 <= status < 300:
        raise JiraUnavailable(f"Jira answered {url} with HTTP {status}{suffix}", status_code=status)
    if payload is None:
        raise JiraUnavailable(
            f"Jira answered {what} with {_http.describe_body(response)}", status_code=status
        )
    return payload


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""
