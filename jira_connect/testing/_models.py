"""Public value types of the simulator: clients, users, options, request records, faults.

They are frozen dataclasses so a test can hold one without racing the server thread, and none of
them lets a secret reach a repr: a failing assertion prints these objects into CI logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, get_args

FaultTarget = Literal["token", "api", "authorize"]
FaultKind = Literal[
    "server_error",
    "bad_gateway_html",
    "malformed_json",
    "invalid_grant",
    "invalid_client",
    "delay",
    "no_refresh_token",
    "no_access_token",
    "unauthorized",
    "anonymous",
    "reset",
    "lost_response",
    "rate_limited",
    "unavailable",
]
RequestTarget = Literal["authorize", "consent", "token", "revoke", "introspect", "api", "other"]

FAULT_TARGETS: tuple[str, ...] = get_args(FaultTarget)
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)

# Which faults make sense where: an "invalid_grant" on a REST call or an "anonymous" token
# response would be a typo in a test, so inject() refuses them.
#: What can go wrong on any endpoint: the server or a proxy in front of it fails, the network is
#: slow or cut.
_ANYWHERE = frozenset({"server_error", "bad_gateway_html", "delay", "reset"})
#: And on the endpoints a client (not a browser) reads JSON from: a broken body, an answer lost
#: after Jira did the work.
_JSON_ENDPOINT = _ANYWHERE | {"malformed_json", "lost_response"}
FAULTS_BY_TARGET: dict[str, frozenset[str]] = {
    "token": _JSON_ENDPOINT
    | {"invalid_grant", "invalid_client", "no_refresh_token", "no_access_token"},
    "api": _JSON_ENDPOINT | {"unauthorized", "anonymous", "rate_limited", "unavailable"},
    "authorize": _ANYWHERE,
}


@dataclass(frozen=True)
class SimulatedClient:
    """One incoming application link registered on the simulator."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    scope: str
    name: str


@dataclass(frozen=True)
class SimulatedUser:
    """A Jira user who can log in on the consent page.

    `key` is the stable identifier (JIRAUSERnnnnn); `name` is the login, which Jira lets an
    admin rename. `email_visible=False` mimics the instance's email-visibility setting.
    """

    key: str
    name: str
    display_name: str
    email: str
    email_visible: bool = True
    active: bool = True
    time_zone: str = "UTC"
    locale: str = "en_US"
    groups: tuple[str, ...] = ("jira-software-users",)


@dataclass(frozen=True)
class RequestRecord:
    """One request the simulator received.

    Holds no secret by construction: no query string, no body, no header, no token. `status` is
    the HTTP status sent, or None when the connection was closed without an answer. `time` is on
    the simulator's clock (wall clock plus `advance()` offsets).
    """

    method: str
    path: str
    target: RequestTarget
    endpoint: str | None
    grant_type: str | None
    client_id: str | None
    user: str | None
    status: int | None
    fault: str | None
    time: float


@dataclass(frozen=True)
class InjectedFault:
    """A fault waiting for matching requests; `remaining` is None for "until cleared"."""

    target: FaultTarget
    kind: FaultKind
    remaining: int | None
    delay: float
    retry_after: int | None = None


@dataclass(frozen=True)
class SimulatorOptions:
    """Lifetimes, identity and behaviour switches: the one list of the simulator's options.

    `JiraDCSimulator(**switches)`, `configure(**switches)`, the command line's ``--set`` and
    its config file all take exactly these names (checked by `from_switches`), so a new
    option is a new field here, documented in docs/testing.md's tables (a test checks both).
    """

    server_title: str = "Simulated Jira"
    version: str = "10.3.0"
    advertised_base_url: str | None = None
    code_ttl: int = 10
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 7776000
    require_pkce: bool = False
    accept_sha256_method: bool = False
    code_verifier_max_length: int = 127
    validate_client_secret: bool = True
    require_redirect_uri_on_refresh: bool = True
    exact_redirect_uri_match: bool = True
    allow_http_redirect_uri: bool = True
    token_response_scope: Literal["scope", "scopes"] | None = None
    refresh_ttl_from_first_grant: bool = True
    invalid_client_status: int = 401
    deny_redirects: bool = True
    hidden_email: Literal["omit", "empty"] = "omit"
    anonymous_fallback: bool = False
    link_changes_revoke_tokens: bool = True
    revocation_endpoint: bool = False
    introspection_endpoint: bool = False
    authorize_https_error: bool = False
    rate_limit_capacity: int = 0
    rate_limit_fill_rate: int = 1
    rate_limit_interval: int = 1
    rate_limit_retry_after_zero: bool = False
    rate_limit_headers: Literal["all", "partial", "none"] = "all"
    rate_limit_anonymous_401: bool = False

    @classmethod
    def names(cls) -> frozenset[str]:
        """The option names, for callers that accept options among other keywords."""
        return frozenset(f.name for f in fields(cls))

    @classmethod
    def from_switches(
        cls, switches: Mapping[str, Any], base: SimulatorOptions | None = None
    ) -> SimulatorOptions:
        """``base`` (default: the defaults) with ``switches`` applied; unknown names raise
        ``TypeError`` naming them, as a misspelt keyword argument would."""
        unknown = set(switches) - cls.names()
        if unknown:
            raise TypeError(
                f"unknown simulator options: {', '.join(sorted(unknown))} "
                "(see jira_connect.testing.SimulatorOptions)"
            )
        return replace(base, **switches) if base is not None else cls(**switches)

    def __post_init__(self) -> None:
        for option in fields(self):
            # A switch set from the command line or a JSON file could be a string: the type
            # of the default is the type of the value (None defaults are checked below).
            expected = type(option.default)
            value = getattr(self, option.name)
            if option.default is not None and (
                type(value) is not expected and not (expected is int and type(value) is float)
            ):
                raise TypeError(f"{option.name} must be {expected.__name__}, not {value!r}")
        if self.token_response_scope not in (None, "scope", "scopes"):
            raise ValueError("token_response_scope must be None, 'scope' or 'scopes'")
        if self.hidden_email not in ("omit", "empty"):
            raise ValueError("hidden_email must be 'omit' or 'empty'")
        if not 43 <= self.code_verifier_max_length <= 128:
            raise ValueError("code_verifier_max_length must be between 43 and 128")
        for name in ("code_ttl", "access_token_ttl", "refresh_token_ttl"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.invalid_client_status not in (400, 401):
            raise ValueError("invalid_client_status must be 400 or 401")
        if self.rate_limit_capacity < 0:
            raise ValueError("rate_limit_capacity must be 0 (no limit) or more")
        if self.rate_limit_fill_rate < 1 or self.rate_limit_interval < 1:
            raise ValueError("rate_limit_fill_rate and rate_limit_interval must be at least 1")
        if self.rate_limit_headers not in ("all", "partial", "none"):
            raise ValueError("rate_limit_headers must be 'all', 'partial' or 'none'")


class SimulatorError(RuntimeError):
    """The simulator was misused, or a helper got an answer it cannot continue from."""
