"""``lifecycle`` for async callers: ``await connection.averify()``.

``lifecycle.verify_connection`` with the same steps and outcomes (a refresh
first when the token is about to expire, one more after Jira rejects it,
the identity stored), but nothing that waits runs in a thread holding the
event loop's caller: the identity call goes to Jira over httpx on the event
loop, refreshes are ``arefreshing``'s single flight, and the identity is
stored with the async ORM. Only building the HTTP client, which loads CA
certificates into an SSL context, runs in a thread.

Import only with httpx installed (``django-jira-connect[async]``).
"""

from __future__ import annotations

import asyncio

import httpx
from django.db import router
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from jira_connect import lifecycle, oauth
from jira_connect.arefreshing import arefresh_connection, exchange, httpx_timeout
from jira_connect.conf import app_settings
from jira_connect.exceptions import JiraAuthenticationFailed
from jira_connect.models import JiraConnection, JiraLink
from jira_connect.refreshing import refresh_redirect_uri


async def averify_connection(connection: JiraConnection) -> oauth.JiraIdentity:
    """Ask Jira who the token belongs to and store the answer (``verify_connection``'s rules).

    Raises ``ReauthorizationRequired`` when the grant is gone (the connection
    marked so, ``token_refresh_failed`` sent), ``JiraUnavailable`` when Jira
    cannot answer, ``JiraAPIError`` when it refuses the call.
    """
    if not JiraConnection.link.is_cached(connection):
        using = connection._state.db
        connection.link = await JiraLink.objects.using(using).aget(pk=connection.link_id)
    if connection.is_expired(leeway=app_settings.REFRESH_LEEWAY) or not connection.access_token:
        await arefresh_connection(connection, stale_access_token=connection.access_token)
    client, http = await asyncio.to_thread(_clients, connection)
    async with http:
        try:
            identity = await _fetch_identity(http, client, connection.access_token)
        except JiraAuthenticationFailed:
            await arefresh_connection(connection, stale_access_token=connection.access_token)
            identity = await _fetch_identity(http, client, connection.access_token)
    fields = lifecycle.identity_fields(identity)
    using = router.db_for_write(JiraConnection, instance=connection)
    await (
        JiraConnection.objects.using(using)
        .filter(pk=connection.pk)
        .aupdate(**fields, updated_at=timezone.now())
    )
    for name, value in fields.items():
        setattr(connection, name, value)
    return identity


def _clients(connection: JiraConnection) -> tuple[oauth.OAuthClient, httpx.AsyncClient]:
    """The link's OAuth client (its checks: host allowed, secret readable) and an httpx client
    with its TLS settings and timeout. Run in a thread: loading CA certificates takes a while."""
    redirect_uri = refresh_redirect_uri(connection) or "urn:unused"
    client = lifecycle.oauth_client(connection.link, redirect_uri)
    http = httpx.AsyncClient(
        verify=client.verify, timeout=httpx_timeout(client.timeout), follow_redirects=False
    )
    return client, http


@sensitive_variables()
async def _fetch_identity(
    http: httpx.AsyncClient, client: oauth.OAuthClient, access_token: str
) -> oauth.JiraIdentity:
    """``oauth.fetch_identity`` over httpx, on the event loop."""
    request = oauth.identity_request(client, access_token)
    answer = await exchange(
        http,
        request.method,
        request.url,
        headers=request.headers,
        max_bytes=client.max_response_bytes,
        what=oauth.IDENTITY_REQUEST,
    )
    return oauth.parse_identity_answer(
        request,
        status=answer.status_code,
        headers=answer.headers,
        content=answer.content,
        url=answer.url,
    )
