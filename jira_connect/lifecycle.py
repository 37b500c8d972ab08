"""Where the protocol meets storage: starting and completing a connection, disconnecting.

The only module that combines ``oauth`` (which knows no models) with the
models (which know no protocol). Views call these functions and render
their outcome; host code can call them too.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from jira_connect import oauth, signals, state, tenancy
from jira_connect.conf import app_settings
from jira_connect.exceptions import LinkAccessDenied
from jira_connect.models import JiraConnection, JiraLink

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


def oauth_client(link: JiraLink, redirect_uri: str) -> oauth.OAuthClient:
    """The protocol's view of a link, with the site's transport settings."""
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


def start_connection(request: HttpRequest, link: JiraLink, next_url: str = "") -> str:
    """Remember a new flow in the session and return Jira's authorise URL to send the user to."""
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
        ),
    )
    logger.info("Started a Jira connection for user %s on link %s", request.user.pk, link.slug)
    return authorization.url


@sensitive_variables()
def complete_connection(
    request: HttpRequest, pending: state.PendingAuthorization, code: str
) -> tuple[JiraConnection, bool]:
    """Exchange the code, read who the user is in Jira, and store the connection.

    Nothing is stored unless every step succeeded. Returns the connection and
    whether it is new (a reconnect updates the existing row and keeps it).
    """
    link = JiraLink.objects.filter(pk=pending.link_id).first()
    if link is None or not tenancy.request_may_use(request, link):
        raise LinkAccessDenied("This Jira link is no longer available to you.")
    client = oauth_client(link, pending.redirect_uri)
    tokens = oauth.exchange_code(client, code, pending.code_verifier)
    identity = oauth.fetch_identity(client, tokens.access_token)
    connection, created = save_connection(request.user, link, tokens, identity)
    logger.info(
        "User %s connected link %s as Jira user %s", request.user.pk, link.slug, identity.key
    )
    return connection, created


@sensitive_variables()
def save_connection(
    user: Any, link: JiraLink, tokens: oauth.TokenSet, identity: oauth.JiraIdentity
) -> tuple[JiraConnection, bool]:
    """Create or update the user's connection on ``link`` from a fresh grant."""
    now = timezone.now()
    with transaction.atomic():
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
