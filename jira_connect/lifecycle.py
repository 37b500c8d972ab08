"""Where the protocol meets storage: starting and completing a connection, disconnecting.

The only module that combines ``oauth`` (which knows no models) with the
models (which know no protocol). Views call these functions and render
their outcome; host code can call them too.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from jira_connect import oauth, signals, state, tenancy
from jira_connect.conf import app_settings
from jira_connect.exceptions import (
    JiraAuthenticationFailed,
    JiraConnectConfigurationError,
    JiraUnavailable,
    LinkAccessDenied,
    OAuthError,
    ReauthorizationRequired,
)
from jira_connect.models import JiraConnection, JiraLink
from jira_connect.validators import validate_base_url

logger = logging.getLogger(__name__)

_CA_DIR = Path(tempfile.gettempdir()) / "jira_connect_ca"


def redirect_uri_for(request: HttpRequest) -> str:
    """The Redirect URL registered in Jira: the setting, or built from this request."""
    return app_settings.CALLBACK_URL or request.build_absolute_uri(reverse("jira_connect:callback"))


def tls_verify(link: JiraLink) -> bool | str:
    """What requests' ``verify`` should be for ``link``: off, a CA bundle file, or on."""
    if not link.verify_tls:
        return False
    if not link.ca_bundle.strip():
        return True
    # requests wants a path; one file per distinct bundle, written once.
    pem = link.ca_bundle.strip() + "\n"
    path = _CA_DIR / f"{hashlib.sha256(pem.encode()).hexdigest()}.pem"
    if not path.exists():
        _CA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = path.with_suffix(f".{time.monotonic_ns()}.tmp")
        partial.write_text(pem)
        partial.replace(path)
    return str(path)


def ensure_allowed(link: JiraLink) -> None:
    """Check the base URL again at call time, not only when it was saved.

    ``ALLOW_HTTP`` and ``JIRA_HOSTS`` may have been tightened since: a stored
    link must not keep reaching a host the site no longer allows.
    """
    try:
        validate_base_url(link.base_url)
    except ValidationError as err:
        raise JiraConnectConfigurationError(
            f"The Jira link {link.slug!r} may not be used: {' '.join(err.messages)}"
        ) from None


def oauth_client(link: JiraLink, redirect_uri: str) -> oauth.OAuthClient:
    """The protocol's view of a link, with the site's transport settings."""
    ensure_allowed(link)
    return oauth.OAuthClient(
        base_url=link.base_url,
        client_id=link.client_id,
        client_secret=link.client_secret,
        redirect_uri=redirect_uri,
        scope=link.scope,
        verify=tls_verify(link),
        timeout=app_settings.HTTP_TIMEOUT,
        allow_http=app_settings.ALLOW_HTTP,
    )


def start_connection(
    request: HttpRequest, link: JiraLink, next_url: str = "", *, from_api: bool = False
) -> str:
    """Remember a new flow in the session and return Jira's authorise URL to send the user to.

    ``from_api``: the flow belongs to a front end using the JSON API, which
    reads the outcome from ``next``'s query string rather than from messages.
    """
    redirect_uri = redirect_uri_for(request)
    authorization = oauth.start_authorization(oauth_client(link, redirect_uri))
    state.remember(
        request.session,
        state.PendingAuthorization(
            state=authorization.state,
            link_id=link.pk,
            user_pk=str(request.user.pk),
            code_verifier=authorization.code_verifier,
            redirect_uri=redirect_uri,
            next_url=next_url,
            started_at=time.time(),
            from_api=from_api,
        ),
    )
    logger.info("Started a Jira connection for user %s on link %s", request.user.pk, link.slug)
    return authorization.url


@sensitive_variables()
def complete_connection(
    request: HttpRequest,
    pending: state.PendingAuthorization,
    code: str,
    link: JiraLink | None = None,
) -> tuple[JiraConnection, bool]:
    """Exchange the code, read who the user is in Jira, and store the connection.

    ``link`` is the pending flow's link when the caller has already loaded
    it. Nothing is stored unless every step succeeded. Returns the connection
    and whether it is new (a reconnect updates the existing row and keeps it).
    """
    if link is None or link.pk != pending.link_id:
        link = JiraLink.objects.filter(pk=pending.link_id).first()
    if link is None or not tenancy.request_may_use(request, link):
        raise LinkAccessDenied("This Jira link is no longer available to you.")
    client = oauth_client(link, pending.redirect_uri)
    tokens = oauth.exchange_code(client, code, pending.code_verifier)
    identity = oauth.fetch_identity(client, tokens.access_token)
    connection, created = save_connection(
        request.user, link, tokens, identity, pending.redirect_uri
    )
    logger.info(
        "User %s connected link %s as Jira user %s", request.user.pk, link.slug, identity.key
    )
    return connection, created


@sensitive_variables()
def save_connection(
    user: Any,
    link: JiraLink,
    tokens: oauth.TokenSet,
    identity: oauth.JiraIdentity,
    pending_redirect_uri: str,
) -> tuple[JiraConnection, bool]:
    """Create or update the user's connection on ``link`` from a fresh grant."""
    now = timezone.now()
    with transaction.atomic():  # a no-op savepoint inside ATOMIC_REQUESTS; the signal waits for it
        connection, created = JiraConnection.objects.update_or_create(
            link=link,
            user=user,
            defaults={
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token or "",
                "expires_at": tokens.expires_at,
                "scope": tokens.scope or link.scope,
                "status": JiraConnection.Status.ACTIVE,
                "jira_key": identity.key,
                "jira_name": identity.name,
                "jira_display_name": identity.display_name,
                "jira_email": identity.email,
                "redirect_uri": pending_redirect_uri,
                "last_refreshed_at": now,
                "last_error": "",
                "last_error_at": None,
            },
        )
        transaction.on_commit(
            lambda: signals.connected.send(
                sender=JiraConnection, connection=connection, user=user, link=link, created=created
            )
        )
    return connection, created


def revoke(connection: JiraConnection, reason: str = "Revoked by an administrator.") -> None:
    """Cut a connection off but keep its record: tokens forgotten, status ``revoked``.

    For staff who must stop a user's access now and keep the trace of who was
    connected as whom; the user can connect again (which makes it active).
    Jira's own grant stays until the user revokes it in their Jira profile.
    """
    with transaction.atomic():
        JiraConnection.objects.filter(pk=connection.pk).update(
            status=JiraConnection.Status.REVOKED,
            access_token=None,
            refresh_token=None,
            expires_at=None,
            last_error=reason[:1000],
            last_error_at=timezone.now(),
            updated_at=timezone.now(),
        )
    connection.status = JiraConnection.Status.REVOKED  # type: ignore[assignment]
    for name in ("access_token", "refresh_token"):
        setattr(connection, name, "")  # the field reads a stored NULL back as ""
    connection.expires_at = None
    logger.info("Connection %s revoked", connection.pk)


def disconnect(connection: JiraConnection) -> None:
    """Forget the connection and its tokens.

    Jira Data Center has no token revocation endpoint: the grant stays listed
    under the user's profile, "Authorized applications", where they can
    revoke it.
    """
    user, link = connection.user, connection.link
    with transaction.atomic():
        connection.delete()
        transaction.on_commit(
            lambda: signals.disconnected.send(
                sender=JiraConnection, connection=connection, user=user, link=link
            )
        )
    logger.info("User %s disconnected link %s", user.pk, link.slug)


# --- keeping tokens fresh -------------------------------------------------------------------------

#: Threads of one process queue on these, not on the database. A fixed set of stripes
#: (a connection's lock is ``pk % len``) keeps memory flat however many connections a
#: long-running process refreshes; two connections sharing a stripe only queue briefly.
#: Re-entrant: a signal receiver that refreshes another connection on the same stripe
#: (the signals are sent on commit, while the stripe is held) must not deadlock.
_LOCK_STRIPES = tuple(threading.RLock() for _ in range(64))


def _connection_lock(pk: int) -> AbstractContextManager[bool]:
    return _LOCK_STRIPES[pk % len(_LOCK_STRIPES)]


def _locked_row(pk: int) -> JiraConnection:
    """The connection's row, locked until the transaction ends; the link's row is not.

    A plain ``select_for_update()`` with ``select_related("link")`` would lock
    the link's row too (``FOR UPDATE`` without ``OF``), and every refresh on a
    link would wait for the one before, across all workers.
    """
    features = connections[router.db_for_write(JiraConnection)].features
    queryset = JiraConnection.objects.select_related("link")
    row: JiraConnection
    if features.has_select_for_update_of:
        row = queryset.select_for_update(of=("self",)).get(pk=pk)
        return row
    if features.has_select_for_update:
        JiraConnection.objects.select_for_update().filter(pk=pk).values_list("pk").get()
    row = queryset.get(pk=pk)
    return row


def reconnect_url(connection: JiraConnection) -> str:
    """Where the user goes to connect again: the link's connect page."""
    return reverse("jira_connect:connect", args=[connection.link.slug])


def _refresh_redirect_uri(connection: JiraConnection) -> str:
    # The exact Redirect URL the grant was made with, which Jira may check again.
    return connection.redirect_uri or app_settings.CALLBACK_URL


@sensitive_variables()
def refresh_connection(
    connection: JiraConnection, *, stale_access_token: str | None = None, force: bool = False
) -> JiraConnection:
    """Make sure ``connection`` holds a usable access token, refreshing it at most once.

    ``stale_access_token`` is the token the caller holds and found wanting
    (about to expire, or answered 401): if the stored token already differs,
    another thread or process refreshed meanwhile and its token is used, with
    no request to Jira. ``force`` refreshes even a token that is not expiring
    (``connection.refresh()``). Returns the connection with the current
    tokens loaded; raises ``ReauthorizationRequired`` when Jira rejected the
    grant and ``JiraUnavailable`` when Jira could not be asked.

    Single flight: an in-process lock per connection, then the row lock
    (``select_for_update``) inside a transaction, then a re-read of the row.
    The new token pair is saved in the same transaction that read the old one.
    """
    leeway = app_settings.REFRESH_LEEWAY

    def needs_refresh(current: JiraConnection) -> bool:
        if force or not current.access_token:
            return True
        if stale_access_token is not None and current.access_token == stale_access_token:
            return True  # the caller's token is wanting, and nobody replaced it yet
        return current.is_expired(leeway=leeway)

    _single_flight(connection, needs_refresh)
    return connection


def refresh_if_due(
    connection: JiraConnection, *, within: int, refreshed_before: datetime | None = None
) -> bool:
    """Refresh when the token expires within ``within`` seconds, or was last refreshed
    before ``refreshed_before`` (so an idle user's refresh token does not run out).

    Decided again under the row lock, so many workers running this at once
    refresh each connection once. Returns whether this call refreshed.
    """

    def due(current: JiraConnection) -> bool:
        if current.is_expired(leeway=within) or not current.access_token:
            return True
        last = current.last_refreshed_at or current.created_at
        return refreshed_before is not None and last < refreshed_before

    return _single_flight(connection, due)


def _single_flight(
    connection: JiraConnection, needs_refresh: Callable[[JiraConnection], bool]
) -> bool:
    """Refresh ``connection`` if ``needs_refresh`` says so once its row is locked and re-read.

    An in-process lock per connection first (threads queue here, not on the
    database), then ``select_for_update`` inside a transaction, then the
    re-read: another worker may have refreshed meanwhile, and then its token
    is used. The new token pair is saved in the transaction that read the
    old one. Raises once the transaction has committed, so a status change
    to ``reauth_required`` is stored before the caller hears about it.
    """
    with _connection_lock(connection.pk):
        outcome: Exception | None = None
        refreshed = False
        with transaction.atomic():
            current = _locked_row(connection.pk)
            if current.status != JiraConnection.Status.ACTIVE:  # type: ignore[comparison-overlap]
                outcome = _reauthorization_required(
                    current, _("This Jira connection must be reconnected.")
                )
            elif needs_refresh(current):
                outcome = _refresh_locked(current)
                refreshed = outcome is None
        _copy_tokens(current, connection)
        if outcome is not None:
            raise outcome
        return refreshed


def _refresh_locked(current: JiraConnection) -> Exception | None:
    """Refresh under the row lock; return the exception to raise once the transaction commits."""
    now = timezone.now()
    if not current.refresh_token:
        return _mark_reauth(current, "no refresh token", now)
    retry_after = app_settings.REFRESH_RETRY_AFTER
    if (
        retry_after
        and current.last_error_at is not None
        and (current.last_refreshed_at is None or current.last_error_at > current.last_refreshed_at)
        and now - current.last_error_at < timedelta(seconds=retry_after)
    ):
        return JiraUnavailable(
            _("Jira failed moments ago (%(error)s); trying again after %(seconds)s seconds.")
            % {"error": current.last_error, "seconds": retry_after}
        )
    client = oauth_client(current.link, _refresh_redirect_uri(current))
    try:
        tokens = oauth.refresh(client, current.refresh_token)
    except OAuthError as err:
        if err.error == "invalid_grant":
            return _mark_reauth(current, str(err), now, cause=err)
        _record_failure(current, str(err), now, reauth=False, error=err)
        return err
    except JiraUnavailable as err:
        _record_failure(current, str(err), now, reauth=False, error=err)
        return err
    current.access_token = tokens.access_token
    if tokens.refresh_token:  # never replace a stored refresh token by nothing
        current.refresh_token = tokens.refresh_token
    current.expires_at = tokens.expires_at
    if tokens.scope:
        current.scope = tokens.scope
    current.last_refreshed_at = now
    current.last_error = ""
    current.last_error_at = None
    current.save(
        update_fields=[
            "access_token",
            "refresh_token",
            "expires_at",
            "scope",
            "last_refreshed_at",
            "last_error",
            "last_error_at",
            "updated_at",
        ]
    )
    refreshed = current
    transaction.on_commit(
        lambda: signals.token_refreshed.send(sender=JiraConnection, connection=refreshed)
    )
    logger.info("Refreshed the Jira tokens of connection %s", current.pk)
    return None


def _mark_reauth(
    current: JiraConnection, reason: str, now: datetime, cause: Exception | None = None
) -> Exception:
    current.status = JiraConnection.Status.REAUTH_REQUIRED  # type: ignore[assignment]
    raised = _reauthorization_required(
        current, _("Jira no longer accepts this connection: please reconnect.")
    )
    # The signal carries what went wrong: Jira's OAuth error, or what will be raised.
    _record_failure(current, reason, now, reauth=True, error=cause or raised)
    return raised


def _record_failure(
    current: JiraConnection, reason: str, now: datetime, *, reauth: bool, error: Exception | None
) -> None:
    current.last_error = reason[:1000]
    current.last_error_at = now
    current.save(update_fields=["status", "last_error", "last_error_at", "updated_at"])
    failed = current
    transaction.on_commit(
        lambda: signals.token_refresh_failed.send(
            sender=JiraConnection, connection=failed, error=error, reauth_required=reauth
        )
    )
    logger.warning(
        "Refreshing the Jira tokens of connection %s failed%s: %s",
        current.pk,
        " (must reconnect)" if reauth else "",
        reason,
    )


def _reauthorization_required(current: JiraConnection, message: str) -> ReauthorizationRequired:
    return ReauthorizationRequired(
        message, reconnect_url=reconnect_url(current), connection=current
    )


def _copy_tokens(source: JiraConnection, target: JiraConnection) -> None:
    for name in (
        "access_token",
        "refresh_token",
        "expires_at",
        "scope",
        "status",
        "last_refreshed_at",
        "last_error",
        "last_error_at",
    ):
        setattr(target, name, getattr(source, name))


def verify_connection(connection: JiraConnection) -> oauth.JiraIdentity:
    """Ask Jira who the token belongs to and store the answer.

    Refreshes first when the token is about to expire, and once more if Jira
    rejects it. Raises ``ReauthorizationRequired`` when the grant is gone.
    """
    if connection.is_expired(leeway=app_settings.REFRESH_LEEWAY) or not connection.access_token:
        refresh_connection(connection, stale_access_token=connection.access_token)
    client = oauth_client(connection.link, _refresh_redirect_uri(connection) or "urn:unused")
    try:
        identity = oauth.fetch_identity(client, connection.access_token)
    except JiraAuthenticationFailed:
        refresh_connection(connection, stale_access_token=connection.access_token)
        identity = oauth.fetch_identity(client, connection.access_token)
    JiraConnection.objects.filter(pk=connection.pk).update(
        jira_key=identity.key,
        jira_name=identity.name,
        jira_display_name=identity.display_name,
        jira_email=identity.email,
        updated_at=timezone.now(),
    )
    connection.jira_key, connection.jira_name = identity.key, identity.name
    connection.jira_display_name, connection.jira_email = identity.display_name, identity.email
    return identity
