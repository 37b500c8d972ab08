"""connection.session(): paths, headers, timeouts, refresh before expiry and after a 401."""

from __future__ import annotations

from unittest import mock

import pytest
import requests
from django.test import override_settings

from jira_connect import __version__, signals
from jira_connect.exceptions import JiraUnavailable, OAuthError, ReauthorizationRequired
from jira_connect.models import JiraConnection
from tests.conftest import jira_connect_settings
from tests.tokens.conftest import expire

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent():
    """Every request that went out through requests' adapter."""
    captured: list[requests.PreparedRequest] = []
    real = requests.adapters.HTTPAdapter.send

    def spy(adapter, request, *args, **kwargs):
        captured.append(request)
        captured_kwargs.append(kwargs)
        return real(adapter, request, *args, **kwargs)

    captured_kwargs: list[dict[str, object]] = []
    with mock.patch.object(requests.adapters.HTTPAdapter, "send", autospec=True, side_effect=spy):
        yield captured, captured_kwargs


def test_relative_paths_keep_the_context_path(connection, jira) -> None:
    session = connection.session()
    for path in ("rest/api/2/myself", "/rest/api/2/myself", f"{jira.base_url}/rest/api/2/myself"):
        response = session.get(path)
        assert response.status_code == 200, path
        assert response.json()["name"] == "alice"
        assert response.url == f"{jira.base_url}/rest/api/2/myself"


def test_headers_and_timeout(connection, sent) -> None:
    requests_sent, kwargs = sent
    connection.session().get("rest/api/2/myself")
    request = requests_sent[-1]
    assert request.headers["Authorization"] == f"Bearer {connection.access_token}"
    assert request.headers["User-Agent"] == f"django-jira-connect/{__version__}"
    assert kwargs[-1]["timeout"] == 10.0


def test_caller_timeout_wins(connection, sent) -> None:
    _, kwargs = sent
    connection.session().get("rest/api/2/myself", timeout=(1, 2))
    assert kwargs[-1]["timeout"] == (1, 2)


def test_configured_timeout_applies(connection, jira) -> None:
    jira.inject("api", "delay", delay=1.0)
    with override_settings(JIRA_CONNECT=jira_connect_settings(HTTP_TIMEOUT=0.2)):
        session = connection.session()
        with pytest.raises(requests.Timeout):
            session.get("rest/api/2/myself")


def test_no_token_to_other_hosts(connection, sent) -> None:
    requests_sent, _ = sent
    session = connection.session()
    with pytest.raises(requests.ConnectionError):
        session.get("http://127.0.0.1:9/elsewhere", timeout=0.5)
    assert "Authorization" not in requests_sent[-1].headers


def test_the_callers_own_authorization_goes_where_the_caller_sends_it(connection, sent) -> None:
    """Another host gets the caller's own header as given (as ``asession()`` does); Jira gets
    the bearer token in its place."""
    requests_sent, _ = sent
    own = {"Authorization": "Basic b3RoZXI6c2VjcmV0"}
    session = connection.session()
    with pytest.raises(requests.ConnectionError):
        session.get("http://127.0.0.1:9/elsewhere", headers=own, timeout=0.5)
    assert session.get("rest/api/2/myself", headers=own).status_code == 200
    authorizations = [request.headers.get("Authorization") for request in requests_sent]
    assert authorizations == [own["Authorization"], f"Bearer {connection.access_token}"]


def test_no_database_query_while_the_token_is_valid(connection, django_assert_num_queries) -> None:
    session = connection.session()
    with django_assert_num_queries(0):
        for _ in range(3):
            assert session.get("rest/api/2/myself").status_code == 200


def test_expired_token_is_refreshed_before_the_call(
    connection, jira, django_capture_on_commit_callbacks
) -> None:
    old_access, old_refresh = connection.access_token, connection.refresh_token
    expire(connection)
    received = []
    signals.token_refreshed.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = connection.session().get("rest/api/2/myself")
    finally:
        signals.token_refreshed.disconnect(dispatch_uid="t")
    assert response.status_code == 200
    assert jira.token_requests(grant_type="refresh_token") == 1
    stored = JiraConnection.objects.get()
    assert stored.access_token != old_access
    assert stored.refresh_token != old_refresh
    assert jira.is_valid_access_token(stored.access_token)
    assert not jira.is_valid_access_token(old_access)
    assert stored.last_refreshed_at is not None
    assert len(received) == 1


def test_token_within_leeway_is_refreshed(connection, jira) -> None:
    from datetime import timedelta

    from django.utils import timezone

    connection.expires_at = timezone.now() + timedelta(seconds=30)
    connection.session().get("rest/api/2/myself")
    assert jira.token_requests(grant_type="refresh_token") == 1


def test_401_after_another_worker_refreshed_uses_their_token(connection, jira) -> None:
    stale_session = connection.session()
    other = JiraConnection.objects.get()
    other.refresh()  # another worker rotates the tokens: the stale session's token is dead
    assert jira.token_requests(grant_type="refresh_token") == 1
    response = stale_session.get("rest/api/2/myself")
    assert response.status_code == 200
    assert jira.token_requests(grant_type="refresh_token") == 1  # no second refresh


def test_one_refresh_and_one_retry_never_more(connection, jira) -> None:
    jira.inject("api", "unauthorized", times=5)
    before = jira.api_requests()
    response = connection.session().get("rest/api/2/myself")
    assert response.status_code == 401
    assert jira.token_requests(grant_type="refresh_token") == 1
    assert jira.api_requests() - before == 2


def test_anonymous_answer_counts_as_rejected(connection, jira) -> None:
    jira.inject("api", "anonymous")
    response = connection.session().get("rest/api/2/myself")
    assert response.status_code == 200
    assert response.headers["X-AUSERNAME"] == "alice"
    assert jira.token_requests(grant_type="refresh_token") == 1


def test_revoked_grant_needs_reconnect(
    connection, jira, django_capture_on_commit_callbacks
) -> None:
    jira.revoke(user="alice")
    received = []
    signals.token_refresh_failed.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="f"
    )
    try:
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(ReauthorizationRequired) as info,
        ):
            connection.session().get("rest/api/2/myself")
    finally:
        signals.token_refresh_failed.disconnect(dispatch_uid="f")
    assert info.value.reconnect_url == "/jira/acme/connect/"
    stored = JiraConnection.objects.get()
    assert stored.status == JiraConnection.Status.REAUTH_REQUIRED
    assert "invalid_grant" in stored.last_error
    assert stored.refresh_token == connection.refresh_token  # kept, never replaced by nothing
    assert received[0]["reauth_required"] is True
    assert isinstance(received[0]["error"], OAuthError)
    assert received[0]["error"].error == "invalid_grant"
    # Later calls fail at once, without asking Jira again.
    before = jira.token_requests()
    with pytest.raises(ReauthorizationRequired):
        JiraConnection.objects.get().session().get("rest/api/2/myself")
    assert jira.token_requests() == before


def test_reauth_shows_reconnect_on_the_connections_page(connection, jira, browser) -> None:
    jira.revoke(user="alice")
    with pytest.raises(ReauthorizationRequired):
        connection.session().get("rest/api/2/myself")
    html = browser.get("/jira/").content.decode()
    assert "Reconnect" in html
    assert "Must reconnect" in html


@pytest.mark.parametrize(
    "fault", ["server_error", "bad_gateway_html", "malformed_json", "reset", "no_access_token"]
)
def test_transient_refresh_failure_keeps_tokens(connection, jira, fault) -> None:
    expire(connection)
    before = JiraConnection.objects.get()
    jira.inject("token", fault)
    with pytest.raises(JiraUnavailable) as info:
        connection.session().get("rest/api/2/myself")
    assert info.value.retryable
    stored = JiraConnection.objects.get()
    assert stored.status == JiraConnection.Status.ACTIVE
    assert (stored.access_token, stored.refresh_token) == (
        before.access_token,
        before.refresh_token,
    )
    assert stored.last_error
    assert stored.last_error_at is not None


def test_cool_down_after_a_transient_failure(connection, jira) -> None:
    expire(connection)
    jira.inject("token", "server_error")
    with pytest.raises(JiraUnavailable):
        connection.session().get("rest/api/2/myself")
    assert jira.token_requests(grant_type="refresh_token") == 1
    for _ in range(3):
        with pytest.raises(JiraUnavailable, match="moments ago"):
            JiraConnection.objects.get().session().get("rest/api/2/myself")
    assert jira.token_requests(grant_type="refresh_token") == 1
    with override_settings(JIRA_CONNECT=jira_connect_settings(REFRESH_RETRY_AFTER=0)):
        assert JiraConnection.objects.get().session().get("rest/api/2/myself").status_code == 200
    stored = JiraConnection.objects.get()
    assert stored.last_error == ""


def test_refresh_without_new_refresh_token_keeps_the_old_one(connection, jira) -> None:
    jira.inject("token", "no_refresh_token")
    old_refresh = connection.refresh_token
    connection.refresh()
    stored = JiraConnection.objects.get()
    assert stored.refresh_token == old_refresh
    assert jira.is_valid_access_token(stored.access_token)


def test_refresh_sends_the_grant_redirect_uri(connection, jira) -> None:
    # The simulator requires redirect_uri on refresh by default, and it must match.
    assert jira.options.require_redirect_uri_on_refresh
    connection.refresh()
    assert connection.redirect_uri == "http://testserver/jira/callback/"


def test_verify_updates_the_identity(connection, jira) -> None:
    jira.rename_user("alice", "alice.renamed")
    connection.verify()
    assert JiraConnection.objects.get().jira_name == "alice.renamed"


def test_verify_refreshes_a_rejected_token(connection, jira) -> None:
    jira.expire_access_tokens()
    connection.verify()
    assert jira.token_requests(grant_type="refresh_token") == 1


def test_disconnect_method(connection) -> None:
    connection.disconnect()
    assert not JiraConnection.objects.exists()


def test_repr_holds_no_token(connection) -> None:
    session = connection.session()
    assert connection.access_token not in repr(session)
    assert connection.access_token not in repr(connection)


def test_session_refuses_a_host_no_longer_allowed(connection, jira) -> None:
    from jira_connect.exceptions import JiraConnectConfigurationError

    with (
        override_settings(JIRA_CONNECT=jira_connect_settings(JIRA_HOSTS=["jira.example.com"])),
        pytest.raises(JiraConnectConfigurationError, match="may not be used"),
    ):
        connection.session()
    assert jira.api_requests() == 1  # only the identity call of the connect flow


def test_session_of_a_connection_that_must_reconnect(connection, jira) -> None:
    JiraConnection.objects.filter(pk=connection.pk).update(
        status=JiraConnection.Status.REAUTH_REQUIRED
    )
    stored = JiraConnection.objects.select_related("link").get()
    before = jira.api_requests()
    with pytest.raises(ReauthorizationRequired) as info:
        stored.session().get("rest/api/2/myself")
    assert info.value.reconnect_url == "/jira/acme/connect/"
    assert jira.api_requests() == before  # Jira was not asked


def test_retry_after_401_rewinds_a_file_body(connection, jira) -> None:
    import io

    jira.expire_access_tokens()  # Jira rejects the token though it looks valid here
    body = io.BytesIO(
        b'{"fields": {"project": {"key": "ACME"}, "summary": "From a file", "issuetype": {"name": "Task"}}}'
    )
    response = connection.session().post(
        "rest/api/2/issue", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text
    assert jira.token_requests(grant_type="refresh_token") == 1


def test_no_retry_of_a_one_shot_body(connection, jira) -> None:
    jira.expire_access_tokens()
    chunks = iter(
        [
            b'{"fields": {"project": {"key": "ACME"}, ',
            b'"summary": "x", "issuetype": {"name": "Task"}}}',
        ]
    )
    session = connection.session()
    response = session.post(
        "rest/api/2/issue", data=chunks, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401  # not resent half-read
    assert jira.token_requests(grant_type="refresh_token") == 1
    assert session.get("rest/api/2/myself").status_code == 200  # the token is fresh now
    assert jira.token_requests(grant_type="refresh_token") == 1


def test_session_honours_the_environment_but_never_netrc(
    connection, jira, monkeypatch, sent, tmp_path
) -> None:
    """As the token calls do: REQUESTS_CA_BUNDLE and proxies apply; a ~/.netrc login never does
    (requests would put it in an Authorization header, over the bearer token)."""
    requests_sent, _ = sent
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    session = connection.session()
    url = f"{jira.base_url}/rest/api/2/myself"
    assert session.merge_environment_settings(url, {}, None, True, None)["verify"] == (
        "/etc/ssl/certs/ca-certificates.crt"
    )
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert session.get("rest/api/2/myself").status_code == 200
    assert requests_sent[-1].headers["Authorization"] == f"Bearer {connection.access_token}"


@pytest.mark.django_db(transaction=True)
def test_a_receiver_may_refresh_during_the_signal(connection, jira) -> None:
    """In autocommit, token_refreshed is sent while the refresh still holds its in-process lock:
    a receiver refreshing a connection on the same lock stripe must not deadlock."""
    import signal

    from jira_connect import signals

    calls: list[int] = []

    def receiver(**kwargs: object) -> None:
        if not calls:
            calls.append(1)
            JiraConnection.objects.get(pk=connection.pk).refresh()

    def deadlocked(*args: object) -> None:
        raise AssertionError("deadlocked in the token_refreshed receiver")

    previous = signal.signal(signal.SIGALRM, deadlocked)
    signal.alarm(20)
    signals.token_refreshed.connect(receiver, weak=False, dispatch_uid="reentrant")
    try:
        JiraConnection.objects.get(pk=connection.pk).refresh()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        signals.token_refreshed.disconnect(dispatch_uid="reentrant")
    assert calls == [1]
    assert jira.token_requests(grant_type="refresh_token") == 2


def test_redirects_keep_the_bearer_at_home_and_drop_it_elsewhere(
    connection_factory, monkeypatch, tmp_path
) -> None:
    import responses

    connection = connection_factory()
    base = connection.link.base_url
    netrc = tmp_path / "netrc"
    host = base.split("//")[1].split("/")[0]
    netrc.write_text(
        f"machine {host} login someone password hunter2\nmachine other.example.com login x password y\n"
    )
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with responses.RequestsMock() as mock:
        mock.add(
            "GET", f"{base}/rest/api/2/a", status=302, headers={"Location": f"{base}/rest/api/2/b"}
        )
        mock.add("GET", f"{base}/rest/api/2/b", json={"ok": True})
        mock.add(
            "GET",
            f"{base}/rest/api/2/away",
            status=302,
            headers={"Location": "https://other.example.com/x"},
        )
        mock.add("GET", "https://other.example.com/x", json={"elsewhere": True})
        session = connection.session()
        assert session.get("rest/api/2/a").json() == {"ok": True}
        assert mock.calls[1].request.headers["Authorization"] == f"Bearer {connection.access_token}"
        assert session.get("rest/api/2/away").json() == {"elsewhere": True}
        assert "Authorization" not in mock.calls[3].request.headers
