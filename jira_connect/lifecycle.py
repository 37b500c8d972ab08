"""Where the protocol meets storage: starting and completing a connection, disconnecting.

The only module that combines ``oauth`` (which knows no models) with the
models (which know no protocol). Views call these functions and render
their outcome; host code can call them too.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from django.db import router, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from jira_connect import oauth, signals, state, tenancy
from jira_connect.conf import app_settings
from jira_connect.exceptions import JiraAuthenticationFailed, LinkAccessDenied
from jira_connect.models import JiraConnection, JiraLink
from jira_connect.refreshing import oauth_client, refresh_connection
from jira_connect.transport import ensure_allowed, tls_verify

logger = logging.getLogger(__name__)


def redirect_uri_for(request: HttpRequest) -> str:
    """The Redirect URL registered in Jira: the setting, or built from this request."""
    return app_settings.CALLBACK_URL or request.build_absolute_uri(reverse("jira_connect:callback"))


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
            scope=link.scope,
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
    if not tokens.scope and pending.scope:
        tokens = dataclasses.replace(tokens, scope=pending.scope)
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
    using = router.db_for_write(JiraConnection)
    with transaction.atomic(using=using):  # the signal waits for the caller's commit
        connection, created = JiraConnection.objects.using(using).update_or_create(
            link=link,
            user=user,
            defaults={
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token or "",
                "expires_at": tokens.expires_at,
                "scope": tokens.scope or link.scope,
                "status": JiraConnection.Status.ACTIVE,
                **identity_fields(identity),
                "redirect_uri": pending_redirect_uri,
                "last_refreshed_at": now,
                "last_error": "",
                "last_error_at": None,
                "last_failure_kind": "",
            },
        )
        transaction.on_commit(
            lambda: signals.connected.send(
                sender=JiraConnection, connection=connection, user=user, link=link, created=created
            ),
            using=using,
        )
    return connection, created


def revoke(connection: JiraConnection, reason: str = "Revoked by an administrator.") -> None:
    """Cut a connection off but keep its record: tokens forgotten, status ``revoked``.

    For staff who must stop a user's access now and keep the trace of who was
    connected as whom; the user can connect again (which makes it active).
    Jira's own grant stays until the user revokes it in their Jira profile.
    """
    using = router.db_for_write(JiraConnection, instance=connection)
    with transaction.atomic(using=using):
        JiraConnection.objects.using(using).filter(pk=connection.pk).update(
            status=JiraConnection.Status.REVOKED,
            access_token=None,
            refresh_token=None,
            expires_at=None,
            last_error=reason[:1000],
            last_error_at=timezone.now(),
            updated_at=timezone.now(),
        )
        transaction.on_commit(
            lambda: signals.revoked.send(
                sender=JiraConnection, connection=connection, reason=reason
            ),
            using=using,
        )
    connection.status = JiraConnection.Status.REVOKED
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
    using = router.db_for_write(JiraConnection, instance=connection)
    with transaction.atomic(using=using):
        connection.delete(using=using)
        transaction.on_commit(
            lambda: signals.disconnected.send(
                sender=JiraConnection, connection=connection, user=user, link=link
            ),
            using=using,
        )
    logger.info("User %s disconnected link %s", user.pk, link.slug)


def verify_connection(connection: JiraConnection) -> oauth.JiraIdentity:
    """Ask Jira who the token belongs to and store the answer.

    Refreshes first when the token is about to expire, and once more if Jira
    rejects it. Raises ``ReauthorizationRequired`` when the grant is gone.
    """
    if connection.is_expired(leeway=app_settings.REFRESH_LEEWAY) or not connection.access_token:
        refresh_connection(connection, stale_access_token=connection.access_token)
    client = oauth_client(connection.link)  # the identity call sends no Redirect URL
    try:
        identity = oauth.fetch_identity(client, connection.access_token)
    except JiraAuthenticationFailed:
        refresh_connection(connection, stale_access_token=connection.access_token)
        identity = oauth.fetch_identity(client, connection.access_token)
    fields = identity_fields(identity)
    using = router.db_for_write(JiraConnection, instance=connection)
    JiraConnection.objects.using(using).filter(pk=connection.pk).update(
        **fields, updated_at=timezone.now()
    )
    for name, value in fields.items():
        setattr(connection, name, value)
    return identity


def identity_fields(identity: oauth.JiraIdentity) -> dict[str, str]:
    """The connection's columns that record who the user is in Jira, from ``identity``.

    One mapping for every place that stores an identity (a new grant, ``verify_connection`` and
    its async twin), so that a field added to the identity is stored by all of them alike.
    """
    return {
        "jira_key": identity.key,
        "jira_name": identity.name,
        "jira_display_name": identity.display_name,
        "jira_email": identity.email,
    }


def reconnect_url(connection: JiraConnection) -> str:
    """Where the user goes to connect again: the link's connect page."""
    return connection.reconnect_url


__all__ = [
    "complete_connection",
    "disconnect",
    "ensure_allowed",
    "oauth_client",
    "reconnect_url",
    "redirect_uri_for",
    "refresh_connection",
    "revoke",
    "save_connection",
    "start_connection",
    "tls_verify",
    "verify_connection",
]
