"""Links and connections on a running simulator, for a host site's tests.

The one implementation behind the pytest plugin's ``jira_*`` fixtures and the ``TestCase``
helpers of ``jira_connect.testing.testcases``: plain functions, so a test that needs something
the fixtures do not make can call them too. Unlike the simulator, this module is Django-side: it
saves ``JiraLink`` and ``JiraConnection`` rows, so import it once Django is set up (inside a test
or a fixture).

A connection is made the way the app's callback makes one, through the package's own code:
the authorise URL, the consent page (over HTTP, as ``simulator.authorize()`` plays it), the code
exchange and ``/myself``, then ``lifecycle.save_connection``. Its tokens are real tokens of the
simulator, so what a test does with them (a refresh, a revoked grant) happens as with Jira.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.contrib.auth import get_user_model
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from jira_connect import lifecycle, oauth
from jira_connect.conf import app_settings
from jira_connect.models import JiraConnection, JiraLink
from jira_connect.testing._models import SimulatorError
from jira_connect.testing.simulator import JiraDCSimulator

__all__ = [
    "callback_url",
    "connect_user",
    "create_link",
    "create_user",
    "expire_connection",
    "make_connection",
    "revoke_grant",
]

TEST_SERVER = "http://testserver"
"""The host of Django's test client: a Redirect URL on it matches what the connect view builds."""

_numbers = itertools.count(1)


def callback_url() -> str:
    """The Redirect URL the app builds in a test: ``CALLBACK_URL``, else the callback view on
    Django's test-client host (``http://testserver/<your prefix>/callback/``)."""
    if app_settings.CALLBACK_URL:
        return app_settings.CALLBACK_URL
    try:
        return TEST_SERVER + reverse("jira_connect:callback")
    except NoReverseMatch as error:
        raise SimulatorError(
            "jira_connect's URLs are not included in ROOT_URLCONF: pass redirect_uri= "
            "or set JIRA_CONNECT['CALLBACK_URL']"
        ) from error


def create_link(
    simulator: JiraDCSimulator,
    *,
    scope: str = "WRITE",
    redirect_uri: str | None = None,
    **fields: Any,
) -> JiraLink:
    """Register an incoming link on ``simulator`` (as a Jira admin does) and save its
    ``JiraLink`` (as site staff do).

    ``fields`` set or override the link's model fields (``name``, ``slug``, ``tenant``...);
    the slug is unique by default. ``redirect_uri`` is the Redirect URL registered in Jira,
    by default ``callback_url()``.
    """
    number = next(_numbers)
    client = simulator.register_client(redirect_uri=redirect_uri or callback_url(), scope=scope)
    values: dict[str, Any] = {
        "name": f"{simulator.options.server_title} {number}",
        "slug": f"jira-{number}",
        "base_url": simulator.base_url,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "scope": scope,
        **fields,
    }
    link = JiraLink(**values)
    link.save()
    return link


def create_user(**fields: Any) -> Any:
    """A new user of the site's user model, with a unique username (``fields`` override it)."""
    model = get_user_model()
    number = next(_numbers)
    values = {model.USERNAME_FIELD: f"jira-user-{number}@example.com", **fields}
    return model._default_manager.create_user(**values)


def connect_user(
    simulator: JiraDCSimulator,
    link: JiraLink,
    user: Any = None,
    *,
    jira_user: str = "alice",
) -> JiraConnection:
    """Connect ``user`` (a new one when None) to ``link`` as the simulator's ``jira_user``.

    The whole grant, without a browser or the site's views: the package starts the
    authorisation, ``jira_user`` clicks Allow on the simulator's consent page, the package
    exchanges the code, asks ``/myself`` and saves the connection as the callback view does
    (the ``connected`` signal included). So it counts in the simulator's request log: one
    authorise request, one ``authorization_code`` token request and one ``myself`` call.
    Make connections before injecting faults, which they would meet.
    """
    if user is None:
        user = create_user()
    redirect_uri = simulator.client(link.client_id).redirect_uri
    client = lifecycle.oauth_client(link, redirect_uri)
    authorization = oauth.start_authorization(client)
    callback = simulator.authorize(authorization.url, user=jira_user)
    answer = parse_qs(urlsplit(callback).query)
    if "code" not in answer:
        raise SimulatorError(f"Jira did not grant the link: {answer.get('error', ['?'])[0]}")
    tokens = oauth.exchange_code(client, answer["code"][0], authorization.code_verifier)
    identity = oauth.fetch_identity(client, tokens.access_token)
    connection, _ = lifecycle.save_connection(user, link, tokens, identity, redirect_uri)
    return connection


def expire_connection(simulator: JiraDCSimulator, connection: JiraConnection) -> None:
    """Make the connection's access token expired, both in the database (and on
    ``connection``) and in Jira, so its next call refreshes first. Its refresh token still
    works; other connections are untouched."""
    simulator.expire_access_tokens(token=connection.refresh_token)
    past = timezone.now() - timedelta(seconds=1)
    JiraConnection.objects.filter(pk=connection.pk).update(expires_at=past)
    connection.expires_at = past


def revoke_grant(simulator: JiraDCSimulator, connection: JiraConnection) -> None:
    """Revoke the connection's grant in Jira (as its user may, under "Authorized
    applications"), and expire its access token, so its next call refreshes, Jira answers
    ``invalid_grant``, the call raises ``ReauthorizationRequired`` and the connection becomes
    ``REAUTH_REQUIRED``. The database still says active until then, as it would."""
    expire_connection(simulator, connection)
    simulator.revoke(token=connection.refresh_token)


def make_connection(
    simulator: JiraDCSimulator,
    link: JiraLink,
    user: Any = None,
    *,
    jira_user: str = "alice",
    expired: bool = False,
    must_reconnect: bool = False,
) -> JiraConnection:
    """``connect_user``, then ``expire_connection`` (``expired``) or ``revoke_grant``
    (``must_reconnect``): what the fixture factory and the ``TestCase`` helpers call."""
    connection = connect_user(simulator, link, user, jira_user=jira_user)
    if must_reconnect:
        revoke_grant(simulator, connection)
    elif expired:
        expire_connection(simulator, connection)
    return connection
