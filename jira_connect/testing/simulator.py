"""A Jira Data Center OAuth 2.0 provider on loopback, for tests and the demo.

It is the other side of the wire: it imports neither Django nor any runtime `jira_connect`
module, and runtime code never imports it. Every behaviour follows the shared fact sheet on
Jira DC's provider (jira-dc-oauth.md); where the facts are unverified, a switch picks the
behaviour and the default is the stricter one, so a client that passes here also survives the
lenient variants.

Run it by hand with ``python -m jira_connect.testing --help``.
"""

from __future__ import annotations

import dataclasses
import http.client
import re
import secrets
import shutil
import ssl
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from jira_connect.testing import _oauth, _scopes
from jira_connect.testing._core import (
    AUTHORIZE_PATH,
    CONSENT_PATH,
    TOKEN_PATH,
    Fault,
    SimulatorCore,
)
from jira_connect.testing._data import build_dataset
from jira_connect.testing._http import HTTPServerThread
from jira_connect.testing._models import (
    FAULT_TARGETS,
    FAULTS_BY_TARGET,
    FaultKind,
    FaultTarget,
    InjectedFault,
    RequestRecord,
    SimulatedClient,
    SimulatedUser,
    SimulatorError,
    SimulatorOptions,
)

__all__ = ["JiraDCSimulator", "SimulatorError", "main", "pkce_pair"]


def pkce_pair(method: Literal["S256", "plain"] = "S256") -> tuple[str, str]:
    """Return a fresh (code_verifier, code_challenge) pair for tests that play the client."""
    verifier = secrets.token_urlsafe(48)[:64]
    return verifier, (_oauth.s256(verifier) if method == "S256" else verifier)


class JiraDCSimulator(SimulatorCore):
    """A simulated Jira DC OAuth 2.0 provider and a few REST endpoints, on a real HTTP server.

    Start it (``with JiraDCSimulator() as sim:``), register an incoming link with
    ``register_client(redirect_uri=...)``, send a browser or ``sim.authorize(url)`` to
    ``{base_url}/rest/oauth2/latest/authorize``, then exchange the code at
    ``{base_url}/rest/oauth2/latest/token`` and call ``{base_url}/rest/api/2/...``.
    All state sits behind one lock, so tests may hammer it from many threads; several
    simulators can run in one process.

    Server: ``host``, ``port`` (0 picks a free one), ``context_path`` (kept in ``base_url``),
    ``tls`` (HTTPS with a throw-away CA: trust ``ca_cert_path``), ``users`` (replaces the
    built-in alice and bob), ``verbose`` (log requests to stderr, never query strings) and
    ``max_log`` (records kept in ``requests``; the counters count everything).

    Every other keyword is an option: a field of `SimulatorOptions` (identity, lifetimes, the
    switches that pick a behaviour where the fact sheet is unverified, stricter by default,
    and the rate limiter's), each described in docs/testing.md ("Switches" and "Rate
    limits"). An unknown name raises ``TypeError``; ``configure()`` changes them while
    running.

    Not switches but documented facts: form-encoded token requests (a JSON body gets a 500),
    parameters also read from the query string, no HTTP Basic client authentication,
    single-use codes, refresh-token rotation that kills the old pair at once, scopes capped by
    the link's scope, ``deploymentType: "Server"``, and Jira's 401 body.

    Faults (``inject``) answer in place of Jira and change no state, except ``delay`` (answers
    normally afterwards), ``no_refresh_token`` (a new access token; no new refresh token, the
    old one stays valid) and ``lost_response`` (processed, then the connection is dropped).
    """

    # Set by start() and by the first use of tls=True (the constructor is SimulatorCore's).
    _server: HTTPServerThread | None = None
    _tls_dir: Path | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> JiraDCSimulator:
        """Bind the socket and serve in a daemon thread; returns self for chaining."""
        if self._server is not None:
            raise SimulatorError("the simulator is already running")
        server = HTTPServerThread(self.host, self._port, self._handle, verbose=self.verbose)
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            cert, key, _ = self._certificate_files()
            context.load_cert_chain(cert, key)
            server.wrap_socket(
                lambda sock: context.wrap_socket(
                    sock, server_side=True, do_handshake_on_connect=False
                )
            )
        self._port = server.port
        self._server = server
        server.start()
        return self

    def stop(self) -> None:
        """Stop serving and close open connections; safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> JiraDCSimulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._port else "not started"
        return f"<JiraDCSimulator {self._options.server_title!r} {where}>"

    @property
    def authorize_endpoint(self) -> str:
        return self.base_url + AUTHORIZE_PATH

    @property
    def token_endpoint(self) -> str:
        return self.base_url + TOKEN_PATH

    @property
    def api_url(self) -> str:
        return self.base_url + "/rest/api/2"

    @property
    def ca_cert_path(self) -> str:
        """The CA certificate to trust when ``tls=True`` (for ``requests``' ``verify=``)."""
        if not self.tls:
            raise SimulatorError("the simulator was created with tls=False")
        return str(self._certificate_files()[2])

    def _certificate_files(self) -> tuple[Path, Path, Path]:
        from jira_connect.testing._tls import write_certificates

        if self._tls_dir is None:
            self._tls_dir = Path(tempfile.mkdtemp(prefix="jira-simulator-"))
            weakref.finalize(self, shutil.rmtree, self._tls_dir, True)
            write_certificates(self._tls_dir, self.host)
        return self._tls_dir / "cert.pem", self._tls_dir / "key.pem", self._tls_dir / "ca.pem"

    # -- configuration and state -------------------------------------------------------------
    @property
    def options(self) -> SimulatorOptions:
        return self._options

    def configure(self, **switches: Any) -> SimulatorOptions:
        """Change lifetimes or switches while running, e.g. ``configure(code_ttl=60)``."""
        with self._lock:
            self._options = SimulatorOptions.from_switches(switches, self._options)
            return self._options

    def reset(self) -> None:
        """Forget codes, tokens, faults, the log, rate-limit buckets, clock offsets and created
        issues.

        Registered clients, users and options stay, so a module-level simulator can be reset
        between tests.
        """
        with self._lock:
            self._provider.forget_tokens()
            self._faults.clear()
            self._log.clear()
            self._counts.clear()
            self._limiter.forget()
            self._clock_offset = 0.0
            self._data = build_dataset(self._users)

    def advance(self, seconds: float) -> None:
        """Move the clock forward, so codes and tokens expire without sleeping."""
        with self._lock:
            self._clock_offset += seconds

    # -- clients (incoming links) ------------------------------------------------------------
    def register_client(
        self,
        *,
        redirect_uri: str,
        scope: str = "WRITE",
        name: str = "Example app",
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> SimulatedClient:
        """Create an incoming link, as a Jira admin does, and return its credentials."""
        if not _scopes.is_valid_scope_string(scope):
            raise ValueError(f"not a Jira DC scope string: {scope!r}")
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            raise ValueError(f"the Redirect URL must be an absolute http(s) URL: {redirect_uri!r}")
        if parts.scheme == "http" and not self._options.allow_http_redirect_uri:
            raise ValueError("the Redirect URL must use HTTPS (allow_http_redirect_uri=False)")
        client = SimulatedClient(
            client_id=client_id or secrets.token_hex(16),
            client_secret=client_secret or secrets.token_hex(32),
            redirect_uri=redirect_uri,
            scope=" ".join(_scopes.split_scope(scope)),
            name=name,
        )
        with self._lock:
            if client.client_id in self._provider.clients:
                raise ValueError(f"client_id already registered: {client.client_id}")
            self._provider.clients[client.client_id] = client
        return client

    def client(self, client_id: str) -> SimulatedClient:
        with self._lock:
            try:
                return self._provider.clients[client_id]
            except KeyError:
                raise SimulatorError(f"no client {client_id!r}") from None

    @property
    def clients(self) -> list[SimulatedClient]:
        with self._lock:
            return list(self._provider.clients.values())

    def remove_client(self, client_id: str) -> None:
        """Delete the incoming link (its tokens die with it unless the switch says otherwise)."""
        with self._lock:
            self.client(client_id)
            del self._provider.clients[client_id]
            if self._options.link_changes_revoke_tokens:
                self._provider.revoke(client_id=client_id)

    def reset_client_secret(self, client_id: str) -> SimulatedClient:
        """Regenerate the link's secret, as the admin's "reset" does; returns the new client."""
        with self._lock:
            client = dataclasses.replace(
                self.client(client_id), client_secret=secrets.token_hex(32)
            )
            self._provider.clients[client_id] = client
            if self._options.link_changes_revoke_tokens:
                self._provider.revoke(client_id=client_id)
            return client

    # -- users -------------------------------------------------------------------------------
    @property
    def users(self) -> list[SimulatedUser]:
        with self._lock:
            return list(self._users)

    def user(self, name_or_key: str) -> SimulatedUser:
        with self._lock:
            found = self._find_user(name_or_key)
        if found is None:
            raise SimulatorError(f"no user {name_or_key!r}")
        return found

    def add_user(
        self,
        name: str,
        *,
        display_name: str | None = None,
        email: str | None = None,
        key: str | None = None,
        email_visible: bool = True,
        active: bool = True,
        time_zone: str = "UTC",
        locale: str = "en_US",
        groups: Sequence[str] = ("jira-software-users",),
    ) -> SimulatedUser:
        """Add a user who can log in on the consent page.

        ``email_visible=False`` hides the email from the REST API, as Jira's email-visibility
        setting does (see the ``hidden_email`` switch).
        """
        with self._lock:
            if self._find_user(name) is not None or (key and self._find_user(key)):
                raise ValueError(f"user already exists: {name!r}")
            if key is None:
                numbers = [
                    int(u.key[8:]) for u in self._users if re.fullmatch(r"JIRAUSER\d+", u.key)
                ]
                key = f"JIRAUSER{max(numbers, default=9999) + 1}"
            user = SimulatedUser(
                key=key,
                name=name,
                display_name=display_name or name.title(),
                email=email or f"{name}@example.com",
                email_visible=email_visible,
                active=active,
                time_zone=time_zone,
                locale=locale,
                groups=tuple(groups),
            )
            self._users.append(user)
            return user

    def rename_user(self, name_or_key: str, new_name: str) -> SimulatedUser:
        """Rename a login (the key stays): what a Jira admin may do at any time."""
        with self._lock:
            user = self.user(name_or_key)
            if self._find_user(new_name) not in (None, user):
                raise ValueError(f"user already exists: {new_name!r}")
            renamed = dataclasses.replace(user, name=new_name)
            self._users[self._users.index(user)] = renamed
            return renamed

    # -- admin-side state changes ------------------------------------------------------------
    def revoke(
        self, *, user: str | None = None, client_id: str | None = None, token: str | None = None
    ) -> int:
        """Revoke what a user granted (their "Authorized applications" page) to one client or
        all; with only ``client_id``, every user's grant to that client. ``token`` (an access
        or refresh token) instead picks the one grant holding it, so a test can cut off one
        connection while others of the same Jira user keep theirs. Returns the number of
        grants revoked."""
        if token is not None:
            if user is not None or client_id is not None:
                raise ValueError("revoke() takes a token alone, or a user and/or a client_id")
            with self._lock:
                return self._provider.revoke(token=token)
        if user is None and client_id is None:
            raise ValueError("revoke() needs a user, a client_id, both, or a token")
        with self._lock:
            user_key = self.user(user).key if user is not None else None
            return self._provider.revoke(user_key=user_key, client_id=client_id)

    def expire_access_tokens(self, *, token: str | None = None) -> None:
        """Make every current access token expired (refresh tokens keep working); with
        ``token`` (an access or refresh token), only that of the grant holding it."""
        with self._lock:
            self._provider.expire_access_tokens(self.now(), token)

    def is_valid_access_token(self, token: str) -> bool:
        with self._lock:
            return self._provider.grant_for_access_token(token, self.now()) is not None

    def is_valid_refresh_token(self, token: str) -> bool:
        with self._lock:
            return self._provider.grant_for_refresh_token(token, self.now()) is not None

    # -- faults ------------------------------------------------------------------------------
    def inject(
        self,
        target: FaultTarget,
        fault: FaultKind,
        *,
        times: int | None = 1,
        delay: float = 0.5,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` requests to ``target`` ("token", "api" or "authorize")
        fail with ``fault`` (``times=None``: until ``clear_faults()``). Faults are used in the
        order they were injected. ``retry_after`` is the ``Retry-After`` header (seconds) of
        the ``rate_limited`` (429) and ``unavailable`` (503) faults; None sends none."""
        if target not in FAULT_TARGETS:
            raise ValueError(f"unknown fault target {target!r}; use one of {FAULT_TARGETS}")
        if fault not in FAULTS_BY_TARGET[target]:
            allowed = ", ".join(sorted(FAULTS_BY_TARGET[target]))
            raise ValueError(f"fault {fault!r} does not apply to {target!r}; use one of {allowed}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for every request)")
        with self._lock:
            self._faults.append(Fault(target, fault, times, delay, retry_after))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending_faults(self) -> list[InjectedFault]:
        with self._lock:
            return [
                InjectedFault(f.target, f.kind, f.remaining, f.delay, f.retry_after)
                for f in self._faults
            ]

    # -- observability -----------------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        """The request log, oldest first (capped at ``max_log`` records)."""
        with self._lock:
            return list(self._log)

    def token_requests(self, grant_type: str | None = None) -> int:
        """How many requests reached the token endpoint (faulted ones included)."""
        return self._count("token", grant_type)

    def api_requests(self, endpoint: str | None = None) -> int:
        """How many REST calls arrived, optionally for one endpoint such as "myself"."""
        return self._count("api", endpoint)

    def authorize_requests(self) -> int:
        return self._count("authorize", None)

    def _count(self, target: str, detail: str | None) -> int:
        with self._lock:
            if detail is not None:
                return self._counts[(target, detail)]
            return sum(n for (kind, _), n in self._counts.items() if kind == target)

    # -- browserless consent -----------------------------------------------------------------
    def authorize_url(
        self,
        client: SimulatedClient,
        *,
        scope: str | None = None,
        state: str | None = None,
        code_challenge: str | None = None,
        code_challenge_method: str | None = None,
        redirect_uri: str | None = None,
    ) -> str:
        """Build an authorize URL for ``client``, for tests that play the client."""
        params = {
            "client_id": client.client_id,
            "redirect_uri": redirect_uri or client.redirect_uri,
            "response_type": "code",
            "scope": scope,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": code_challenge_method or ("S256" if code_challenge else None),
        }
        return _oauth.add_query(self.authorize_endpoint, params)

    def authorize(
        self, authorize_url: str, *, user: str = "alice", allow: bool = True, timeout: float = 10
    ) -> str:
        """Play the user: open ``authorize_url``, choose ``user`` and Allow (or Deny) on the
        consent page, over real HTTP. Returns the URL Jira redirects to (the client's callback
        with ``code``/``state`` or ``error``) without following it."""
        status, location, body = self._http("GET", authorize_url, timeout=timeout)
        if status != 302 or not location:
            raise SimulatorError(f"authorize answered {status}, not a redirect: {_text(body)}")
        consent = urlsplit(location)
        if not consent.path.endswith(CONSENT_PATH):
            return location  # an error sent straight back to the client
        form = [
            *parse_qsl(consent.query),
            ("user", user),
            ("decision", "approve" if allow else "deny"),
        ]
        consent_url = consent._replace(query="").geturl()
        status, final, body = self._http("POST", consent_url, form=urlencode(form), timeout=timeout)
        if status != 302 or not final:
            raise SimulatorError(f"consent answered {status}, not a redirect: {_text(body)}")
        return final

    def issue_tokens(
        self, client_id: str, *, user: str = "alice", scope: str | None = None
    ) -> dict[str, Any]:
        """Grant ``client_id`` access as ``user`` at once and return the token response Jira
        would send (``access_token``, ``refresh_token``, ``expires_in``, ...).

        The grant is the one the consent page and a code exchange make, under the same rules
        (scope capped by the link's, lifetimes, rotation on refresh), but without HTTP: for
        tests and benchmarks that need many connections with real tokens. ``scope`` defaults
        to the link's. Nothing reaches the token endpoint, so it is not counted in
        ``token_requests()`` and injected faults do not apply.
        """
        with self._lock:
            client = self.client(client_id)
            found = self._find_user(user)
            if found is None or not found.active:
                raise SimulatorError(f"no active user {user!r}")
            requested = _scopes.split_scope(scope if scope is not None else client.scope)
            unknown = [name for name in requested if name not in _scopes.JIRA_SCOPES]
            if unknown:
                raise ValueError(f"not Jira DC scopes: {' '.join(unknown)}")
            granted = _scopes.cap(requested, _scopes.split_scope(client.scope))
            if not granted:
                raise ValueError(f"the link may not grant {scope!r}")
            consent = _oauth.AuthorizationRequest(
                client, client.redirect_uri, tuple(granted), None, None, None
            )
            now = self.now()
            code = self._provider.issue_code(consent, found.key, now, self._options.code_ttl)
            exchange = {
                "grant_type": "authorization_code",
                "code": code,
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "redirect_uri": client.redirect_uri,
            }
            return self._provider.token(exchange, self._options, now)

    def _http(
        self, method: str, url: str, *, form: str | None = None, timeout: float
    ) -> tuple[int, str | None, bytes]:
        parts = urlsplit(url)
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            context = ssl.create_default_context()
            if self.tls:
                context.load_verify_locations(self.ca_cert_path)
            connection = http.client.HTTPSConnection(parts.netloc, timeout=timeout, context=context)
        else:
            connection = http.client.HTTPConnection(parts.netloc, timeout=timeout)
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else {}
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request(method, path or "/", body=form, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheader("Location"), response.read()
        finally:
            connection.close()


def _text(body: bytes, limit: int = 300) -> str:
    """A short plain-text rendering of an HTML or JSON body, for error messages."""
    text = re.sub(
        r"<(style|script)[^>]*>.*?</\1>", " ", body.decode("utf-8", "replace"), flags=re.S
    )
    text = re.sub(r"<[^>]+>", " ", text)
    return " ".join(text.split())[:limit]


def main(argv: Sequence[str] | None = None, **kwargs: Any) -> int:
    """Command-line entry point; see ``jira_connect.testing._cli.main``."""
    from jira_connect.testing._cli import main as cli_main

    return cli_main(argv, **kwargs)
