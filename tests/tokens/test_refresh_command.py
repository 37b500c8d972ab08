"""manage.py jira_connect_refresh: what is due, refreshed once each, summarised honestly."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from jira_connect.models import JiraConnection
from tests.conftest import skip_without_row_locks

pytestmark = pytest.mark.django_db

#: The command's two paths, for the outcomes they must report alike. ``--async`` does its
#: database work in threads of its own, which see only committed rows: a transactional test.
PATHS = [
    pytest.param((), id="sync"),
    pytest.param(("--async",), id="async", marks=pytest.mark.django_db(transaction=True)),
]


def run(*args: str) -> str:
    out = StringIO()
    call_command("jira_connect_refresh", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("path", PATHS)
def test_refreshes_what_is_due_and_only_that(grant, jira, path) -> None:
    soon = grant(expires_in=timedelta(minutes=2))
    expired = grant(expires_in=timedelta(minutes=-5))
    idle = grant(last_refreshed_at=timezone.now() - timedelta(days=40))
    fresh = grant()
    broken = grant(expires_in=timedelta(minutes=-5), status=JiraConnection.Status.REAUTH_REQUIRED)
    no_refresh = grant(expires_in=timedelta(minutes=-5), refresh_token="")
    before = {c.pk: c.access_token for c in JiraConnection.objects.all()}
    output = run(*path, "--workers", "1")
    assert "3 due: 3 refreshed, 0 already fresh, 0 need to reconnect, 0 failed" in output
    assert jira.token_requests(grant_type="refresh_token") == 3
    after = {c.pk: c for c in JiraConnection.objects.all()}
    for connection in (soon, expired, idle):
        assert after[connection.pk].access_token != before[connection.pk]
        assert jira.is_valid_access_token(after[connection.pk].access_token)
        assert jira.is_valid_refresh_token(after[connection.pk].refresh_token)
    for connection in (fresh, broken, no_refresh):
        assert after[connection.pk].access_token == before[connection.pk]
    assert "0 due" in run(*path)  # nothing left


def test_running_again_finds_nothing(grant, jira) -> None:
    grant(expires_in=timedelta(minutes=-5))
    run()
    assert "0 due" in run()
    assert jira.token_requests(grant_type="refresh_token") == 1


def test_dry_run(grant, jira) -> None:
    grant(expires_in=timedelta(minutes=-5))
    assert "1 connections are due" in run("--dry-run")
    assert jira.token_requests(grant_type="refresh_token") == 0


def test_idle_days_zero_turns_idle_refresh_off(grant, jira) -> None:
    grant(last_refreshed_at=timezone.now() - timedelta(days=40))
    assert "0 due" in run("--idle-days", "0")


def test_link_and_tenant_filters(grant, jira, link) -> None:
    grant(expires_in=timedelta(minutes=-5))
    assert "0 due" in run("--tenant", "someone-else")
    assert "1 connections are due" in run("--dry-run", "--link", link.slug)
    with pytest.raises(CommandError, match="No Jira link"):
        run("--link", "nope")


@pytest.mark.parametrize("path", PATHS)
def test_revoked_grants_are_counted_not_failed(grant, jira, path) -> None:
    grant(expires_in=timedelta(minutes=-5))
    jira.revoke(user="alice")
    output = run(*path)
    assert "1 need to reconnect, 0 failed" in output
    assert JiraConnection.objects.get().status == JiraConnection.Status.REAUTH_REQUIRED


@pytest.mark.parametrize("path", PATHS)
def test_transient_failures_exit_non_zero(grant, jira, path) -> None:
    grant(expires_in=timedelta(minutes=-5))
    grant(expires_in=timedelta(minutes=-5))
    jira.inject("token", "server_error", times=1)
    out = StringIO()
    with pytest.raises(CommandError, match="run again later") as info:
        call_command("jira_connect_refresh", *path, "--workers", "1", stdout=out)
    # manage.py exits with the returncode; the summary is written first, as before.
    assert info.value.returncode == 1
    assert "2 due: 1 refreshed, 0 already fresh, 0 need to reconnect, 1 failed" in out.getvalue()
    assert jira.token_requests(grant_type="refresh_token") == 2
    kinds = sorted(row.last_failure_kind for row in JiraConnection.objects.all())
    assert kinds == ["", "transient"]


@pytest.mark.parametrize("args", [["--workers", "0"], ["--within", "-1"]])
def test_bad_arguments(args) -> None:
    with pytest.raises(CommandError):
        run(*args)


@pytest.mark.server_database
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_refresh_each_connection_once(grant, jira) -> None:
    """Two runs at once, 8 workers each (as two machines would): one refresh per connection."""
    import threading

    skip_without_row_locks()
    for _ in range(20):
        grant(expires_in=timedelta(minutes=-5))
    outputs: list[str] = []
    runs = [
        threading.Thread(target=lambda: outputs.append(run("--workers", "8"))) for _ in range(2)
    ]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join()
    assert jira.token_requests(grant_type="refresh_token") == 20
    assert all(jira.is_valid_access_token(c.access_token) for c in JiraConnection.objects.all())
    assert sum(int(out.split(" refreshed")[0].split()[-1]) for out in outputs) == 20


def test_configuration_errors_are_reported_as_such_and_not_transient(grant, jira, settings) -> None:
    """A host the settings no longer allow: exit 2 (a person must act), Jira never asked."""
    grant(expires_in=timedelta(minutes=-5))
    settings.JIRA_CONNECT = {**settings.JIRA_CONNECT, "JIRA_HOSTS": ["jira.example.com"]}
    with pytest.raises(CommandError, match="running again cannot help") as info:
        run("--workers", "1")
    assert info.value.returncode == 2
    assert jira.token_requests(grant_type="refresh_token") == 0
    stored = JiraConnection.objects.get()
    assert stored.last_failure_kind == JiraConnection.FailureKind.CONFIGURATION
    assert stored.status == JiraConnection.Status.ACTIVE


def test_refused_client_credentials_are_not_retried_until_the_link_changes(
    grant, jira, link
) -> None:
    connection = grant(expires_in=timedelta(minutes=-5))
    right = link.client_secret
    link.client_secret = "a-mistyped-secret"  # staff pasted the wrong one
    link.save()
    with pytest.raises(CommandError, match="running again cannot help") as info:
        run("--workers", "1")
    assert info.value.returncode == 2
    assert JiraConnection.objects.get().last_failure_kind == JiraConnection.FailureKind.CREDENTIALS
    with pytest.raises(CommandError):
        run("--workers", "1")
    assert jira.token_requests(grant_type="refresh_token") == 1  # Jira not asked again
    link.client_secret = right  # staff fix the link
    link.save()
    run("--workers", "1")
    assert jira.token_requests(grant_type="refresh_token") == 2
    connection.refresh_from_db()
    assert connection.last_failure_kind == ""
