"""The simulator's state and its side of the wire: routing, faults, logging and endpoints.

`JiraDCSimulator` (the public facade in `simulator.py`) adds the lifecycle and the test-facing
API on top. Everything mutable here sits behind one re-entrant lock, so the threaded server and
a test poking at the state never see half an update.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from jira_connect.testing import _oauth, _pages, _ratelimit
from jira_connect.testing._data import BUILTIN_USERS, Renderer, build_dataset
from jira_connect.testing._http import (
    Request,
    Response,
    html_response,
    json_response,
    redirect,
    text_response,
)
from jira_connect.testing._models import (
    FAULT_TARGETS,
    FaultKind,
    FaultTarget,
    RequestRecord,
    RequestTarget,
    SimulatedUser,
    SimulatorError,
    SimulatorOptions,
)
from jira_connect.testing._rest import RestApi, RestContext, unauthorized

#: The token type Jira issues (a name, not a secret).
BEARER = "bearer"

AUTHORIZE_PATH = "/rest/oauth2/latest/authorize"
TOKEN_PATH = "/rest/oauth2/latest/token"  # noqa: S105  # nosec B105
REVOKE_PATH = "/rest/oauth2/latest/revoke"
INTROSPECT_PATH = "/rest/oauth2/latest/introspect"
CONSENT_PATH = "/plugins/servlet/oauth2/consent"
_API_PATH = re.compile(r"^/rest/api/(?:2|latest)/(?P<endpoint>.+?)/?$")
_AUTHORIZE_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)
_NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


@dataclass
class Fault:
    """A pending fault; `remaining` None means "until cleared"."""

    target: FaultTarget
    kind: FaultKind
    remaining: int | None
    delay: float
    retry_after: int | None = None


@dataclass
class _Seen:
    """What a request revealed about itself, for the log (never a secret)."""

    client_id: str | None = None
    grant_type: str | None = None
    user: str | None = None


@dataclass(frozen=True)
class _Route:
    target: RequestTarget
    endpoint: str | None = None


class SimulatorCore:
    """State of one simulated Jira and the handling of every request that reaches it.

    Its constructor is `JiraDCSimulator`'s: the server settings, then any option of
    `SimulatorOptions` as a keyword (see `JiraDCSimulator`).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        context_path: str = "",
        users: Iterable[SimulatedUser] | None = None,
        tls: bool = False,
        verbose: bool = False,
        max_log: int = 10000,
        **switches: Any,
    ) -> None:
        self._options = SimulatorOptions.from_switches(switches)
        self.verbose = verbose
        self.host = host
        self._port = port
        self.context_path = _normalize_context_path(context_path)
        self.tls = tls
        self._lock = threading.RLock()
        self._provider = _oauth.OAuthProvider()
        self._users: list[SimulatedUser] = list(BUILTIN_USERS if users is None else users)
        self._data = build_dataset(self._users)
        self._faults: list[Fault] = []
        self._log: deque[RequestRecord] = deque(maxlen=max_log)
        self._counts: Counter[tuple[str, str | None]] = Counter()
        self._clock_offset = 0.0
        self._limiter = _ratelimit.RateLimiter()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """Jira's base URL, context path included, no trailing slash."""
        if not self._port:
            raise SimulatorError("start() the simulator first: its port is not known yet")
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self._port}{self.context_path}"

    def now(self) -> float:
        """The simulator's clock: wall time plus every ``advance()``."""
        return time.time() + self._clock_offset

    def _find_user(self, name_or_key: str) -> SimulatedUser | None:
        for user in self._users:
            if user.key == name_or_key or user.name.lower() == name_or_key.lower():
                return user
        return None

    def _find_user_by_key(self, key: str) -> SimulatedUser | None:
        return next((user for user in self._users if user.key == key), None)

    def _resolve_user_key(self, name_or_key: str) -> str | None:
        user = self._find_user(name_or_key)
        return user.key if user else None

    def _user_name(self, key: str) -> str | None:
        user = self._find_user_by_key(key)
        return user.name if user else None

    def _take_fault(self, target: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.target == target:
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    # -- request handling --------------------------------------------------------------------
    def _route(self, path: str) -> _Route | None:
        if self.context_path:
            if path != self.context_path and not path.startswith(self.context_path + "/"):
                return None
            path = path[len(self.context_path) :]
        exact: dict[str, RequestTarget] = {
            AUTHORIZE_PATH: "authorize",
            TOKEN_PATH: "token",
            REVOKE_PATH: "revoke",
            INTROSPECT_PATH: "introspect",
            CONSENT_PATH: "consent",
        }
        if path.rstrip("/") in exact:
            return _Route(exact[path.rstrip("/")])
        match = _API_PATH.match(path)
        if match:
            return _Route("api", match["endpoint"])
        return _Route("other", path or "/")

    def _handle(self, request: Request) -> Response:
        """The server's single entry point: route, apply faults, answer, log."""
        route = self._route(request.path) or _Route("other")
        fault = self._take_fault(route.target) if route.target in FAULT_TARGETS else None
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.delay)
        seen = _Seen()
        try:
            response = self._dispatch(request, route, fault, seen)
        except Exception as error:  # a simulator bug must surface as a 500 in the log too
            response = text_response(500, f"Simulator error: {type(error).__name__}: {error}")
        if fault is not None and fault.kind == "lost_response":
            response.drop = "after"
        self._record(request, route, fault, seen, response)
        return response

    def _dispatch(
        self, request: Request, route: _Route, fault: Fault | None, seen: _Seen
    ) -> Response:
        if route.target == "api":
            return self._api(request, route.endpoint or "", fault, seen)
        if route.target == "token":
            return self._token(request, fault, seen)
        if route.target == "authorize":
            return self._authorize(request, fault, seen)
        if route.target == "consent":
            return self._consent(request, seen)
        if route.target in ("revoke", "introspect"):
            return self._revoke_or_introspect(request, route.target, seen)
        return self._other(request, route)

    def _record(
        self,
        request: Request,
        route: _Route,
        fault: Fault | None,
        seen: _Seen,
        response: Response,
    ) -> None:
        detail = seen.grant_type if route.target == "token" else route.endpoint
        record = RequestRecord(
            method=request.method,
            path=request.path,
            target=route.target,
            endpoint=route.endpoint if route.target == "api" else None,
            grant_type=seen.grant_type,
            client_id=seen.client_id,
            user=seen.user,
            status=None if response.drop else response.status,
            fault=fault.kind if fault else None,
            time=self.now(),
        )
        with self._lock:
            self._log.append(record)
            self._counts[(route.target, detail)] += 1

    @staticmethod
    def _fault_response(kind: str, *, json_start: str) -> Response | None:
        """The answer of a fault that replaces Jira's, or None if the request goes through."""
        if kind == "server_error":
            return text_response(500, "Internal Server Error")
        if kind == "bad_gateway_html":
            return html_response(502, _pages.bad_gateway_page())
        if kind == "malformed_json":
            return Response(
                200, json_start.encode(), [("Content-Type", "application/json;charset=UTF-8")]
            )
        if kind == "reset":
            return Response(0, drop="before")
        return None

    def _other(self, request: Request, route: _Route) -> Response:
        if route.endpoint in ("/", "") and request.method == "GET":
            title = self._options.server_title
            return html_response(
                200,
                _pages.error_page(
                    title,
                    title,
                    "A Jira Data Center simulator: OAuth 2.0 and a few REST endpoints.",
                ),
            )
        title = self._options.server_title
        return html_response(404, _pages.error_page(title, "Page not found", request.path))

    # -- authorize and consent ---------------------------------------------------------------
    def _authorize(self, request: Request, fault: Fault | None, seen: _Seen) -> Response:
        params = {name: values[0] for name, values in request.query.items()}
        seen.client_id = params.get("client_id")
        if fault is not None and (answer := self._fault_response(fault.kind, json_start="")):
            return answer
        if request.method != "GET":
            return Response(405, b"", [("Allow", "GET")])
        if self._options.authorize_https_error:
            # Jira's answer, before any check of the request, when its own base URL is not
            # https or a proxy in front of it does not say the request came over HTTPS.
            title = self._options.server_title
            return html_response(
                400,
                _pages.error_page(title, "Invalid OAuth request", _pages.HTTPS_BASE_URL_MESSAGE),
            )
        with self._lock:
            outcome = self._provider.check_authorize(params, self._options)
        if not isinstance(outcome, _oauth.AuthorizationRequest):
            return self._authorize_failure(outcome)
        kept = {name: params[name] for name in _AUTHORIZE_PARAMS if params.get(name)}
        return redirect(f"{self.base_url}{CONSENT_PATH}?{urlencode(kept)}")

    def _authorize_failure(self, outcome: _oauth.PageError | _oauth.RedirectError) -> Response:
        if isinstance(outcome, _oauth.RedirectError):
            return redirect(outcome.location())
        title = self._options.server_title
        return html_response(
            400, _pages.error_page(title, "Invalid OAuth request", outcome.message)
        )

    def _consent(self, request: Request, seen: _Seen) -> Response:
        if request.method not in ("GET", "POST"):
            return Response(405, b"", [("Allow", "GET, POST")])
        params = {name: values[0] for name, values in request.query.items()}
        if request.method == "POST":
            params.update({name: values[0] for name, values in request.form().items()})
        seen.client_id = params.get("client_id")
        title = self._options.server_title
        with self._lock:
            outcome = self._provider.check_authorize(params, self._options)
            if not isinstance(outcome, _oauth.AuthorizationRequest):
                return self._authorize_failure(outcome)
            if request.method == "GET":
                page = _pages.consent_page(
                    server_title=title,
                    action=self.context_path + CONSENT_PATH,
                    client_name=outcome.client.name,
                    redirect_uri=outcome.redirect_uri,
                    scopes=outcome.scopes,
                    users=self._users,
                    selected_user=self._users[0].name if self._users else None,
                    hidden={name: params[name] for name in _AUTHORIZE_PARAMS if params.get(name)},
                )
                return html_response(200, page, ("X-Frame-Options", "DENY"))
            user = self._find_user(params.get("user", ""))
            decision = params.get("decision")
            if user is None or not user.active or decision not in ("approve", "deny"):
                message = "Choose an active user and Allow or Deny."
                return html_response(400, _pages.error_page(title, "Invalid consent", message))
            seen.user = user.name
            if decision == "approve":
                code = self._provider.issue_code(
                    outcome, user.key, self.now(), self._options.code_ttl
                )
                return redirect(
                    _oauth.add_query(outcome.redirect_uri, {"code": code, "state": outcome.state})
                )
        if self._options.deny_redirects:
            return redirect(
                _oauth.add_query(
                    outcome.redirect_uri, {"error": "access_denied", "state": outcome.state}
                )
            )
        return html_response(
            200,
            _pages.error_page(
                title, "Access denied", f"You denied access to {outcome.client.name}."
            ),
        )

    # -- token endpoint ----------------------------------------------------------------------
    @staticmethod
    def _token_params(request: Request) -> dict[str, str]:
        """Servlet-style parameters: the query string first, then the form body."""
        params = {name: values[0] for name, values in request.form().items()}
        params.update({name: values[0] for name, values in request.query.items()})
        return params

    def _token(self, request: Request, fault: Fault | None, seen: _Seen) -> Response:
        params = self._token_params(request)
        seen.client_id = params.get("client_id")
        seen.grant_type = params.get("grant_type")
        options = self._options
        if fault is not None:
            answer = self._fault_response(fault.kind, json_start='{"access_token":"eyJ0eXAiOi')
            if answer is not None:
                return answer
            if fault.kind in ("invalid_grant", "invalid_client"):
                status = options.invalid_client_status if fault.kind == "invalid_client" else 400
                error = _oauth.OAuthError(fault.kind, "Injected by the simulator.", status)
                return json_response(error.status, error.payload(), *_NO_STORE)
            if fault.kind == "no_access_token":
                partial = {"token_type": BEARER, "expires_in": options.access_token_ttl}
                return json_response(200, {**partial, "created_at": int(self.now())}, *_NO_STORE)
        if request.method != "POST":
            return Response(405, b"", [("Allow", "POST")])
        media_type = request.media_type
        if media_type is not None and media_type != "application/x-www-form-urlencoded":
            return html_response(500, _pages.form_param_error_page())
        keep_refresh = fault is not None and fault.kind == "no_refresh_token"
        with self._lock:
            try:
                body = self._provider.token(
                    params, self._options, self.now(), keep_refresh_token=keep_refresh
                )
            except _oauth.OAuthError as error:
                return json_response(error.status, error.payload(), *_NO_STORE)
            grant = self._provider.grant_for_access_token(body["access_token"], self.now())
            if grant is not None:
                seen.user = self._user_name(grant.user_key)
        return json_response(200, body, *_NO_STORE)

    def _revoke_or_introspect(self, request: Request, target: str, seen: _Seen) -> Response:
        enabled = (
            self._options.revocation_endpoint
            if target == "revoke"
            else self._options.introspection_endpoint
        )
        if not enabled:  # no such endpoint is documented for Jira DC
            return json_response(404, {"message": "null for uri", "status-code": 404})
        if request.method != "POST":
            return Response(405, b"", [("Allow", "POST")])
        params = self._token_params(request)
        seen.client_id = params.get("client_id")
        token = params.get("token", "")
        with self._lock:
            try:
                client = self._provider.authenticate(params, self._options)
            except _oauth.OAuthError as error:
                return json_response(error.status, error.payload(), *_NO_STORE)
            now = self.now()
            grant = self._provider.grant_for_access_token(token, now)
            is_refresh = grant is None
            grant = grant or self._provider.grant_for_refresh_token(token, now)
            if grant is not None and grant.client_id != client.client_id:
                grant = None
            if target == "revoke":
                if grant is not None:
                    self._provider.delete_grant(grant)
                return Response(200, b"", list(_NO_STORE))
            if grant is None:
                return json_response(200, {"active": False}, *_NO_STORE)
            expires = grant.refresh_expires_at if is_refresh else grant.access_expires_at
            return json_response(
                200,
                {
                    "active": True,
                    "client_id": grant.client_id,
                    "username": self._user_name(grant.user_key),
                    "scope": " ".join(grant.scopes),
                    "exp": int(expires),
                    "token_type": "refresh_token" if is_refresh else "bearer",
                },
                *_NO_STORE,
            )

    # -- REST API ----------------------------------------------------------------------------
    def _api(self, request: Request, endpoint: str, fault: Fault | None, seen: _Seen) -> Response:
        anonymous_header = ("X-AUSERNAME", "anonymous")
        if fault is not None:
            answer = self._fault_response(fault.kind, json_start='{"self":"http')
            if answer is not None:
                return answer
            if fault.kind == "unauthorized":
                response = unauthorized()
                response.headers.append(anonymous_header)
                return response
            if fault.kind == "rate_limited":
                return _ratelimit.too_many_requests(fault.retry_after, [])
            if fault.kind == "unavailable":
                return _ratelimit.service_unavailable(fault.retry_after)
        authorization = request.headers.get("authorization")
        token: str | None = None
        if authorization is not None:
            scheme, _, value = authorization.partition(" ")
            token = value.strip() if scheme.lower() == "bearer" else ""
        with self._lock:
            now = self.now()
            grant = self._provider.grant_for_access_token(token, now) if token else None
            caller = self._find_user_by_key(grant.user_key) if grant else None
            if fault is not None and fault.kind == "anonymous":
                caller = None
            elif caller is None:
                serves_anonymous = endpoint == "serverInfo" and authorization is None
                if not (serves_anonymous or self._options.anonymous_fallback):
                    response = unauthorized()
                    response.headers.append(anonymous_header)
                    return response
            seen.user = caller.name if caller else "anonymous"
            options = self._options
            admission = self._limiter.admit(caller.key, options, now) if caller else None
            if admission is not None and not admission.allowed:
                return _ratelimit.over_limit_response(admission, options)
            renderer = Renderer(
                base=options.advertised_base_url or self.base_url,
                user_by_key=self._find_user_by_key,
                hidden_email=options.hidden_email,
            )
            context = RestContext(
                data=self._data,
                renderer=renderer,
                resolve_user=self._resolve_user_key,
                options=options,
                now=now,
                caller=caller,
                scopes=grant.scopes if grant and caller else (),
                anonymous_myself=fault is not None and fault.kind == "anonymous",
            )
            response = RestApi(context).handle(request, endpoint)
        response.headers.append(("X-AUSERNAME", caller.name if caller else "anonymous"))
        if admission is not None:
            response.headers += admission.headers
        return response


def _normalize_context_path(value: str) -> str:
    value = value.strip().strip("/")
    return f"/{value}" if value else ""
