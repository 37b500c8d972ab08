"""Recipes: atlassian-python-api and jira (pycontribs) calling Jira through ``connection.session()``.

Both libraries then get what the session does: the bearer token attached (and
only sent to the link's origin), refreshed before it expires and once after a
401 (one refresh across workers), the link's context path and TLS settings
kept. The recipe code here is what the documentation shows; the tests run it
against the simulator, under a ``/jira`` context path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
import requests

from jira_connect.exceptions import ReauthorizationRequired
from jira_connect.models import JiraConnection
from jira_connect.session import JiraSession
from tests.flow.conftest import browser, jira, link, user  # noqa: F401
from tests.tokens.conftest import connection, expire  # noqa: F401

pytestmark = pytest.mark.django_db


def assert_through_the_session(sim: Any) -> None:
    """Every API call went under the /jira context path, authenticated as alice, no refresh."""
    calls = [record for record in sim.requests if record.target == "api"]
    assert calls
    assert {(record.path.split("/rest/")[0], record.user, record.status) for record in calls} == {
        ("/jira", "alice", 200)
    }
    assert sim.token_requests(grant_type="refresh_token") == 0


def assert_refreshed_once(sim: Any, old_token: str) -> None:
    assert sim.token_requests(grant_type="refresh_token") == 1
    stored = JiraConnection.objects.get()
    assert stored.access_token != old_token
    assert sim.is_valid_access_token(stored.access_token)
    assert sim.is_valid_refresh_token(stored.refresh_token)


@pytest.fixture
def timeouts() -> Iterator[list[object]]:
    """The timeout of every request that went out through requests' adapter."""
    seen: list[object] = []
    send = requests.adapters.HTTPAdapter.send

    def spy(adapter: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("timeout"))
        return send(adapter, request, *args, **kwargs)

    with mock.patch.object(requests.adapters.HTTPAdapter, "send", autospec=True, side_effect=spy):
        yield seen


# -- atlassian-python-api ------------------------------------------------------------------------
def atlassian_jira(connection: JiraConnection) -> Any:  # noqa: F811
    """The recipe: ``atlassian.Jira`` takes a session.

    It passes its own ``timeout`` (75 s unless told) on every call, so the
    session's ``HTTP_TIMEOUT`` does not apply: give it one. The session
    retries rate-limited calls; the library's own retry of a 429 is turned
    off so that retries do not multiply (tests/recipes/test_rate_limits.py).
    """
    from atlassian import Jira  # type: ignore[import-not-found, unused-ignore]

    return Jira(
        url=connection.link.base_url,
        session=connection.session(),
        timeout=10,
        retry_with_header=False,
    )


@pytest.fixture
def atlassian() -> None:
    pytest.importorskip("atlassian", reason="the recipes extra is not installed")


@pytest.mark.usefixtures("atlassian")
def test_atlassian_python_api(connection, jira) -> None:  # noqa: F811
    client = atlassian_jira(connection)
    assert client.myself()["name"] == "alice"
    found = client.jql("project = ACME AND assignee = currentUser() ORDER BY key")
    assert [issue["key"] for issue in found["issues"]] == ["ACME-1", "ACME-3", "ACME-5"]
    assert client.issue("ACME-1")["fields"]["assignee"]["name"] == "alice"
    assert client.get_server_info()["version"] == jira.options.version
    assert_through_the_session(jira)


@pytest.mark.usefixtures("atlassian")
def test_atlassian_python_api_after_expiry(connection, jira) -> None:  # noqa: F811
    """A long-lived client: Jira says 401 once the token expired; one refresh, one retry."""
    old_token = connection.access_token
    client = atlassian_jira(connection)
    assert client.myself()["name"] == "alice"
    jira.expire_access_tokens()
    assert client.issue("ACME-1")["key"] == "ACME-1"
    assert_refreshed_once(jira, old_token)
    assert client.myself()["name"] == "alice"
    assert jira.token_requests(grant_type="refresh_token") == 1


@pytest.mark.usefixtures("atlassian")
def test_atlassian_python_api_refreshes_before_expiry(connection, jira) -> None:  # noqa: F811
    old_token = connection.access_token
    expire(connection)
    client = atlassian_jira(connection)
    assert client.myself()["name"] == "alice"
    assert_refreshed_once(jira, old_token)


@pytest.mark.usefixtures("atlassian")
def test_atlassian_python_api_after_rotation_elsewhere(connection, jira) -> None:  # noqa: F811
    """Another worker refreshed (Jira rotated the tokens): the 401 costs no second refresh."""
    client = atlassian_jira(connection)
    JiraConnection.objects.get().refresh()
    assert client.myself()["name"] == "alice"
    assert jira.token_requests(grant_type="refresh_token") == 1


@pytest.mark.usefixtures("atlassian")
def test_atlassian_python_api_timeout(connection, timeouts) -> None:  # noqa: F811
    atlassian_jira(connection).myself()
    assert timeouts == [10]


@pytest.mark.usefixtures("atlassian")
def test_atlassian_python_api_errors(connection, jira) -> None:  # noqa: F811
    client = atlassian_jira(connection)
    with pytest.raises(requests.HTTPError, match="Issue does not exist"):
        client.issue("ACME-999")
    expire(connection)
    jira.revoke(user="alice")
    with pytest.raises(ReauthorizationRequired):
        client.myself()


# -- jira (pycontribs) ---------------------------------------------------------------------------
class JiraClientSession(JiraSession):
    """The connection's session, raising ``JIRAError`` for an error answer as jira's own does."""

    def request(self, method, url, *args, _prepare_retry_class=None, **kwargs):
        # jira passes _prepare_retry_class (for its own retries of uploads) to its own session only.
        from jira.resilientsession import raise_on_error  # type: ignore[import-not-found, unused-ignore]

        response = super().request(method, url, *args, **kwargs)
        raise_on_error(response)
        return response


def jira_client(connection: JiraConnection) -> Any:  # noqa: F811
    """The recipe: ``jira.JIRA`` has no session argument, so its session is replaced."""
    from jira import JIRA  # type: ignore[import-not-found, unused-ignore]

    client: Any = JIRA(connection.link.base_url, get_server_info=False)  # asks Jira nothing
    client._session.close()
    client._session = JiraClientSession(connection)
    client._session.headers.update(
        {"Content-Type": "application/json", "X-Atlassian-Token": "no-check"}
    )
    # What JIRA() does unless get_server_info=False: a few methods depend on Jira's version.
    server = client.server_info()
    client._version = tuple(server["versionNumbers"])
    client.deploymentType = server.get("deploymentType")
    return client


@pytest.fixture
def pycontribs_jira() -> None:
    pytest.importorskip("jira", reason="the recipes extra is not installed")


@pytest.mark.usefixtures("pycontribs_jira")
def test_jira(connection, jira) -> None:  # noqa: F811
    client = jira_client(connection)
    assert ".".join(map(str, client._version)) == jira.options.version
    assert client.myself()["name"] == "alice"
    found = client.search_issues("project = ACME AND assignee = currentUser() ORDER BY key")
    assert [issue.key for issue in found] == ["ACME-1", "ACME-3", "ACME-5"]
    issue = client.issue("ACME-1")
    assert issue.fields.assignee.name == "alice"
    assert client.project("ACME").name == "Acme Web Store"
    assert_through_the_session(jira)


@pytest.mark.usefixtures("pycontribs_jira")
def test_jira_after_expiry(connection, jira) -> None:  # noqa: F811
    """A long-lived client: Jira says 401 once the token expired; one refresh, one retry."""
    old_token = connection.access_token
    client = jira_client(connection)
    jira.expire_access_tokens()
    assert client.issue("ACME-1").key == "ACME-1"
    assert_refreshed_once(jira, old_token)
    assert len(client.search_issues("assignee = currentUser()")) > 0
    assert jira.token_requests(grant_type="refresh_token") == 1


@pytest.mark.usefixtures("pycontribs_jira")
def test_jira_refreshes_before_expiry(connection, jira) -> None:  # noqa: F811
    old_token = connection.access_token
    expire(connection)
    client = jira_client(connection)
    assert client.myself()["name"] == "alice"
    assert_refreshed_once(jira, old_token)


@pytest.mark.usefixtures("pycontribs_jira")
def test_jira_after_rotation_elsewhere(connection, jira) -> None:  # noqa: F811
    client = jira_client(connection)
    JiraConnection.objects.get().refresh()
    assert client.issue("ACME-1").key == "ACME-1"
    assert jira.token_requests(grant_type="refresh_token") == 1


@pytest.mark.usefixtures("pycontribs_jira")
def test_jira_writes(connection, jira) -> None:  # noqa: F811
    client = jira_client(connection)
    issue = client.create_issue(
        project="ACME", summary="Created through jira.JIRA", issuetype={"name": "Task"}
    )
    assert issue.key.startswith("ACME-")
    assert client.issue(issue.key).fields.summary == "Created through jira.JIRA"


@pytest.mark.usefixtures("pycontribs_jira")
def test_jira_timeout_is_http_timeout(connection, settings, timeouts) -> None:  # noqa: F811
    settings.JIRA_CONNECT = {**settings.JIRA_CONNECT, "HTTP_TIMEOUT": 7}
    jira_client(connection).myself()
    assert timeouts == [7, 7]  # serverInfo, myself


@pytest.mark.usefixtures("pycontribs_jira")
def test_jira_errors(connection, jira) -> None:  # noqa: F811
    JIRAError = pytest.importorskip("jira.exceptions").JIRAError

    client = jira_client(connection)
    with pytest.raises(JIRAError, match="Issue does not exist") as info:
        client.issue("ACME-999")
    assert info.value.status_code == 404
    expire(connection)
    jira.revoke(user="alice")
    with pytest.raises(ReauthorizationRequired):
        client.myself()
