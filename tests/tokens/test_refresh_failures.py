"""What a failed refresh leaves behind: the stored failure, the signal receivers get, the log."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from django.db import connection as db
from django.db import connections
from django.utils import timezone

from jira_connect import oauth, signals
from jira_connect.conf import app_settings
from jira_connect.exceptions import JiraUnavailable, OAuthError, ReauthorizationRequired
from jira_connect.models import JiraConnection
from tests.tokens.conftest import expire

pytestmark = pytest.mark.django_db


@pytest.fixture
def failures():
    """Every token_refresh_failed signal, as receivers get it (sent on commit)."""
    received: list[dict[str, object]] = []
    signals.token_refresh_failed.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="failures"
    )
    yield received
    signals.token_refresh_failed.disconnect(dispatch_uid="failures")


def test_a_revoked_grant_is_stored_signalled_and_logged(
    connection, jira, failures, caplog, django_capture_on_commit_callbacks
) -> None:
    jira.revoke(user="alice")
    with (
        django_capture_on_commit_callbacks(execute=True),
        caplog.at_level(logging.WARNING, logger="jira_connect.refreshing"),
        pytest.raises(ReauthorizationRequired) as info,
    ):
        connection.refresh()
    assert str(info.value) == "Jira no longer accepts this connection: please reconnect."
    assert info.value.connection.pk == connection.pk
    assert info.value.reconnect_url == "/jira/acme/connect/"
    stored = JiraConnection.objects.get()
    assert stored.status == JiraConnection.Status.REAUTH_REQUIRED
    assert stored.last_error.startswith("invalid_grant")
    assert stored.last_error_at is not None
    [sent] = failures
    assert sent["sender"] is JiraConnection
    assert sent["connection"].pk == connection.pk
    assert sent["reauth_required"] is True
    assert isinstance(sent["error"], OAuthError)
    [record] = [r for r in caplog.records if r.name == "jira_connect.refreshing"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        f"Refreshing the Jira tokens of connection {connection.pk} failed (reauth): "
        f"{stored.last_error}"
    )


def test_a_transient_failure_is_stored_signalled_and_logged(
    connection, jira, failures, caplog, django_capture_on_commit_callbacks
) -> None:
    expire(connection)
    jira.inject("token", "server_error")
    with (
        django_capture_on_commit_callbacks(execute=True),
        caplog.at_level(logging.WARNING, logger="jira_connect.refreshing"),
        pytest.raises(JiraUnavailable) as info,
    ):
        connection.refresh()
    stored = JiraConnection.objects.get()
    assert stored.status == JiraConnection.Status.ACTIVE
    assert stored.last_error == str(info.value)
    assert stored.last_error_at is not None
    [sent] = failures
    assert sent["sender"] is JiraConnection
    assert sent["connection"].pk == connection.pk
    assert sent["reauth_required"] is False
    assert sent["error"] is info.value
    [record] = [r for r in caplog.records if r.name == "jira_connect.refreshing"]
    assert record.getMessage() == (
        f"Refreshing the Jira tokens of connection {connection.pk} failed (transient): {stored.last_error}"
    )


def test_a_connection_without_refresh_token_must_reconnect(
    connection, jira, failures, django_capture_on_commit_callbacks
) -> None:
    JiraConnection.objects.filter(pk=connection.pk).update(refresh_token="")
    stored = JiraConnection.objects.select_related("link").get()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ReauthorizationRequired) as info,
    ):
        stored.refresh()
    assert str(info.value) == "Jira no longer accepts this connection: please reconnect."
    assert JiraConnection.objects.get().last_error == "no refresh token"
    [sent] = failures
    assert sent["error"] is info.value  # no OAuth error to pass on: what the caller got
    assert jira.token_requests(grant_type="refresh_token") == 0


def test_a_successful_refresh_is_logged(connection, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="jira_connect.refreshing"):
        connection.refresh()
    messages = [r.getMessage() for r in caplog.records if r.name == "jira_connect.refreshing"]
    assert messages == [f"Refreshed the Jira tokens of connection {connection.pk}"]


def test_a_grant_another_worker_found_revoked_is_not_refreshed(connection, jira) -> None:
    """This object still says active; the row, read again under its lock, says reconnect."""
    JiraConnection.objects.filter(pk=connection.pk).update(
        status=JiraConnection.Status.REAUTH_REQUIRED
    )
    with pytest.raises(ReauthorizationRequired) as info:
        connection.refresh()
    assert str(info.value) == "This Jira connection must be reconnected."
    assert info.value.connection.pk == connection.pk
    assert info.value.reconnect_url == "/jira/acme/connect/"
    assert connection.status == JiraConnection.Status.REAUTH_REQUIRED
    assert jira.token_requests(grant_type="refresh_token") == 0


class Unexpected(Exception):
    """Something no refresh outcome covers (a bug, a signal's KeyboardInterrupt)."""


@pytest.mark.django_db(transaction=True)
def test_an_unexpected_error_in_the_token_call_leaves_nothing_locked(
    connection, jira, monkeypatch
) -> None:
    """The caller gets the error itself, and the next refresh, from any thread, goes ahead."""
    expire(connection)

    def explode(*args: object, **kwargs: object) -> None:
        raise Unexpected("boom")

    with monkeypatch.context() as patched:
        patched.setattr(oauth, "refresh", explode)
        with pytest.raises(Unexpected, match="boom"):
            connection.refresh()
    assert not db.in_atomic_block  # the engine's transaction ended with the flight
    done: list[str] = []

    def refresh_elsewhere() -> None:
        try:
            JiraConnection.objects.select_related("link").get().refresh()
            done.append("refreshed")
        finally:
            connections.close_all()

    worker = threading.Thread(target=refresh_elsewhere)
    worker.start()
    worker.join(timeout=60)
    assert done == ["refreshed"]
    assert jira.is_valid_refresh_token(JiraConnection.objects.get().refresh_token)


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_a_failure_is_stored_in_the_connections_own_database(connection, jira) -> None:
    """A connection read from another database (no router): the failure is written there."""
    connection.user.save(using="other")
    connection.link.save(using="other")
    connection.save(using="other")
    JiraConnection.objects.using("default").all().delete()
    mine = JiraConnection.objects.using("other").select_related("link").get()
    jira.revoke(user="alice")
    with pytest.raises(ReauthorizationRequired) as info:
        mine.refresh()
    stored = JiraConnection.objects.using("other").get()
    assert stored.status == JiraConnection.Status.REAUTH_REQUIRED
    assert stored.last_failure_kind == "reauth"
    told = info.value.connection  # the exception's connection still knows where it lives
    told.refresh_from_db()
    assert told.status == JiraConnection.Status.REAUTH_REQUIRED


def test_refused_client_credentials_wait_for_the_link_to_change(connection, jira) -> None:
    """Jira refused the link's client credentials: asking again with the same ones cannot help,
    so callers get the stored refusal until staff change the link."""
    expire(connection)
    jira.inject("token", "invalid_client")
    with pytest.raises(OAuthError):
        connection.refresh()
    stored = JiraConnection.objects.get()
    assert stored.last_failure_kind == "credentials"
    with pytest.raises(OAuthError) as again:
        connection.refresh()
    assert again.value.error == "invalid_client"
    assert again.value.description == (
        f"Jira refused the link's client credentials ({stored.last_error}); fix the link in the "
        "admin."
    )
    assert jira.token_requests(grant_type="refresh_token") == 1
    connection.link.save()  # staff fix the link in the admin
    connection.refresh()
    assert jira.token_requests(grant_type="refresh_token") == 2


def test_a_failure_stored_without_a_kind_also_waits_out_the_cool_down(connection, jira) -> None:
    """A row whose failure predates failure kinds: treated as transient, not asked again yet."""
    JiraConnection.objects.filter(pk=connection.pk).update(
        expires_at=timezone.now() - timedelta(seconds=5),
        last_error="Jira was down",
        last_error_at=timezone.now(),
        last_failure_kind="",
    )
    stored = JiraConnection.objects.select_related("link").get()
    with pytest.raises(JiraUnavailable) as info:
        stored.refresh()
    retry_after = app_settings.REFRESH_RETRY_AFTER
    assert str(info.value) == (
        f"Jira failed moments ago (Jira was down); trying again after {retry_after} seconds."
    )
    assert jira.token_requests(grant_type="refresh_token") == 0


def test_finishing_a_flight_that_never_opened_says_so(connection) -> None:
    """A misuse of the engine's phases (the async path drives them one by one) is named."""
    from jira_connect import refreshing

    flight = refreshing.Flight(connection, refreshing.wanting(force=True))
    with pytest.raises(
        RuntimeError, match=r"^Flight\.finish\(\) needs a flight that open\(\) decided\.$"
    ):
        flight.finish(None)


def test_a_link_secret_no_key_can_read_is_refused_before_jira_is_asked(connection, jira) -> None:
    """A key removed from ENCRYPTION_KEYS too early: the refresh names the setting, Jira is not
    asked with an empty secret, and the connection's tokens are kept."""
    from cryptography.fernet import Fernet
    from django.test import override_settings

    from jira_connect.exceptions import SecretDecryptionError
    from jira_connect.models import JiraLink
    from tests.conftest import jira_connect_settings

    other_key = Fernet.generate_key().decode()
    with override_settings(JIRA_CONNECT=jira_connect_settings(ENCRYPTION_KEYS=[other_key])):
        JiraLink.objects.filter(pk=connection.link_id).update(client_secret="written-elsewhere")
    expire(connection)
    mine = JiraConnection.objects.select_related("link").get(pk=connection.pk)
    with pytest.raises(SecretDecryptionError, match=r"ENCRYPTION_KEYS"):
        mine.refresh()
    assert jira.token_requests() == 1  # the code exchange only
    assert JiraConnection.objects.get().refresh_token == connection.refresh_token


def test_the_protocols_view_of_a_link(connection) -> None:
    """What the token and identity calls are given: the link's address, credentials, scope and
    TLS choice, the site's timeout, and the site's session hook bound to this link."""
    from django.test import override_settings

    from jira_connect import refreshing
    from tests.conftest import jira_connect_settings

    seen: list[object] = []
    link = connection.link
    hooked = jira_connect_settings(
        HTTP_TIMEOUT=(2.0, 7.0), CONFIGURE_SESSION=f"{__name__}.remember_session"
    )
    with override_settings(JIRA_CONNECT=hooked):
        client = refreshing.oauth_client(link, "https://app.example.com/jira/callback/")
        assert client.configure_session is not None
        client.configure_session(seen)  # type: ignore[arg-type]
    assert (client.base_url, client.client_id, client.client_secret) == (
        link.base_url,
        link.client_id,
        link.client_secret,
    )
    assert (client.redirect_uri, client.scope) == (
        "https://app.example.com/jira/callback/",
        link.scope,
    )
    assert client.timeout == (2.0, 7.0)
    assert remembered_sessions == [(seen, link)]
    remembered_sessions.clear()


remembered_sessions: list[tuple[object, object]] = []


def remember_session(session: object, link: object) -> None:
    remembered_sessions.append((session, link))


def test_a_database_error_while_storing_reaches_the_caller_and_releases_the_locks(
    connection, jira, monkeypatch
) -> None:
    """The database failing as the new pair is stored (disk full, connection lost): the
    caller gets that error, nothing is half-written, and the locks are released, so the next
    refresh is decided at once (Jira had already retired the stored token, as when a worker
    is killed at that moment)."""
    from django.db import DatabaseError

    from jira_connect import refreshing

    real = refreshing._settle

    def disk_full(*args: object, **kwargs: object) -> None:
        raise DatabaseError("disk full")

    expire(connection)
    monkeypatch.setattr(refreshing, "_settle", disk_full)
    with pytest.raises(DatabaseError, match="disk full"):
        connection.refresh()
    monkeypatch.setattr(refreshing, "_settle", real)
    stored = JiraConnection.objects.select_related("link").get()
    assert (stored.access_token, stored.refresh_token) == (
        connection.access_token,
        connection.refresh_token,
    )
    with pytest.raises(ReauthorizationRequired):
        stored.refresh()
