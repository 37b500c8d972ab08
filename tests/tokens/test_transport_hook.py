"""The site's transport hooks, ``CONFIGURE_SESSION`` and ``ASYNC_CLIENT_OPTIONS``, against the
simulator: used for refreshes, identity calls and ``connection.session()``, while the link's TLS
adapter and the bearer token's origin rule stay the app's."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.test import override_settings
from requests.adapters import HTTPAdapter

from jira_connect import transport
from jira_connect.exceptions import JiraConnectConfigurationError
from jira_connect.models import JiraConnection, JiraLink
from tests.conftest import jira_connect_settings
from tests.tokens.conftest import expire

pytestmark = pytest.mark.django_db

#: (method, path, the site's header, the kind of Authorization) of every answered request.
SEEN: list[tuple[str, str, str | None, str]] = []


def _record(method: str, url: str, headers: Any) -> None:
    kind = (headers.get("Authorization") or "").split(" ")[0]
    SEEN.append((method, urlsplit(str(url)).path, headers.get("X-Site"), kind))


def site_session(session: requests.Session, link: JiraLink) -> None:
    """A site's CONFIGURE_SESSION: a header, a response hook, and an adapter of its own."""
    session.headers["X-Site"] = f"sync:{link.slug}"

    def record(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        request = response.request
        _record(str(request.method), str(request.url), request.headers)

    session.hooks["response"].append(record)
    session.mount(link.base_url, HTTPAdapter())  # the link's TLS adapter replaces it
    session.auth = ("someone", "else")  # never sent: the app resets auth


def site_async_options(link: JiraLink) -> dict[str, Any]:
    async def record(response: Any) -> None:
        _record(response.request.method, response.request.url, response.request.headers)

    return {"headers": {"X-Site": f"async:{link.slug}"}, "event_hooks": {"response": [record]}}


def taking_verify(link: JiraLink) -> dict[str, Any]:
    return {"verify": False}


@pytest.fixture
def hooked() -> Any:
    SEEN.clear()
    with override_settings(
        JIRA_CONNECT=jira_connect_settings(
            CONFIGURE_SESSION=f"{__name__}.site_session",
            ASYNC_CLIENT_OPTIONS=f"{__name__}.site_async_options",
        )
    ):
        yield SEEN
    SEEN.clear()


def test_the_sync_session_refreshes_and_identity_calls_go_through_the_site_hook(
    connection: JiraConnection, jira: Any, hooked: list[Any]
) -> None:
    tag = f"sync:{connection.link.slug}"
    expire(connection)
    session = connection.session()
    assert isinstance(session.get_adapter(connection.link.base_url), transport.LinkTLSAdapter)
    assert session.get("rest/api/2/myself").status_code == 200
    connection.verify()
    paths = [(method, path.rsplit("/rest/", 1)[1]) for method, path, _, _ in hooked]
    assert paths == [
        ("POST", "oauth2/latest/token"),  # the refresh before the call
        ("GET", "api/2/myself"),  # session()
        ("GET", "api/2/myself"),  # verify()'s identity call
    ]
    assert {site for _, _, site, _ in hooked} == {tag}
    # The bearer token on the API calls, no credentials on the token call: the site's auth
    # never reaches Jira.
    assert [kind for _, _, _, kind in hooked] == ["", "Bearer", "Bearer"]
    assert jira.token_requests(grant_type="refresh_token") == 1


def test_the_bulk_refresh_goes_through_the_site_hook(
    connection: JiraConnection, jira: Any, hooked: list[Any]
) -> None:
    """The refresh command's workers keep sessions for their token calls, but a site's hook
    is its link's: each token call still goes through it."""
    from django.core.management import call_command

    expire(connection)
    call_command("jira_connect_refresh", "--workers", "1", stdout=None)
    assert [(method, path.rsplit("/rest/", 1)[1], site) for method, path, site, _ in hooked] == [
        ("POST", "oauth2/latest/token", f"sync:{connection.link.slug}")
    ]
    assert jira.token_requests(grant_type="refresh_token") == 1


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
async def test_the_async_session_and_its_refresh_take_the_site_options(
    connection: JiraConnection, jira: Any, hooked: list[Any]
) -> None:
    from asgiref.sync import sync_to_async

    await sync_to_async(expire)(connection)
    async with await connection.asession() as session:
        assert (await session.get("rest/api/2/myself")).status_code == 200
    paths = [(method, path.rsplit("/rest/", 1)[1]) for method, path, _, _ in hooked]
    assert paths == [("POST", "oauth2/latest/token"), ("GET", "api/2/myself")]
    assert {site for _, _, site, _ in hooked} == {f"async:{connection.link.slug}"}
    assert [kind for _, _, _, kind in hooked] == ["", "Bearer"]


def test_async_options_may_not_take_what_is_the_apps(connection: JiraConnection) -> None:
    with (
        override_settings(
            JIRA_CONNECT=jira_connect_settings(ASYNC_CLIENT_OPTIONS=f"{__name__}.taking_verify")
        ),
        pytest.raises(JiraConnectConfigurationError, match="may not set verify"),
    ):
        transport.async_client_options(connection.link)
