"""``jira_connect_refresh --async``: the sync command's outcomes, over the async path.

Every due connection refreshed exactly once, failures counted and reported as the sync command
reports them (the same summary, the same exit status), the token calls on one event loop through
an httpx client per coroutine, the CA certificates loaded once. The outcomes both paths must
report alike (what is due, revoked grants, transient failures) are tested on both, ``PATHS``, in
``tests/tokens/test_refresh_command.py``.
"""

from __future__ import annotations

import sys
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection as db

from jira_connect import arefresher, arefreshing, refresher
from jira_connect.models import JiraConnection
from tests.conftest import skip_without_row_locks

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = StringIO()
    call_command("jira_connect_refresh", "--async", *args, stdout=out)
    return out.getvalue()


def refreshes(jira) -> int:
    return jira.token_requests(grant_type="refresh_token")


def test_every_due_connection_refreshed_exactly_once(grant, jira, monkeypatch) -> None:
    """Many connections, many at once (one at a time on SQLite): each refreshed once; one
    httpx client per lane, and one SSL context (the CA certificates loaded) for the run."""
    import httpx
    from httpx._transports import default as transports

    for _ in range(24):
        grant(expires_in=timedelta(minutes=-5))
    built: list[object] = []
    loaded: list[object] = []
    real_client, real_context = arefreshing._token_client, httpx.create_ssl_context

    def client(*args, **kwargs):
        built.append(args)
        return real_client(*args, **kwargs)

    def context(verify=True, **kwargs):
        if isinstance(verify, bool):  # built from scratch, not an SSLContext passed on
            loaded.append(verify)
        return real_context(verify=verify, **kwargs)

    monkeypatch.setattr(arefreshing, "_token_client", client)
    monkeypatch.setattr(httpx, "create_ssl_context", context)
    monkeypatch.setattr(transports, "create_ssl_context", context)
    summary = arefresher.refresh_due_async(refresher.due_connections(), concurrency=8)
    assert (summary.total, summary.refreshed, summary.failed) == (24, 24, 0)
    assert refreshes(jira) == 24
    rows = JiraConnection.objects.all()
    assert all(jira.is_valid_access_token(row.access_token) for row in rows)
    assert all(jira.is_valid_refresh_token(row.refresh_token) for row in rows)
    assert len(built) == (1 if db.vendor == "sqlite" else 8)
    assert loaded == [True]


def test_configuration_errors_exit_2_and_jira_is_not_asked(grant, jira, settings) -> None:
    grant(expires_in=timedelta(minutes=-5))
    settings.JIRA_CONNECT = {**settings.JIRA_CONNECT, "JIRA_HOSTS": ["jira.example.com"]}
    with pytest.raises(CommandError) as info:
        run()
    assert info.value.returncode == 2
    assert refreshes(jira) == 0
    stored = JiraConnection.objects.get()
    assert stored.last_failure_kind == JiraConnection.FailureKind.CONFIGURATION
    assert stored.status == JiraConnection.Status.ACTIVE


def test_without_httpx_the_command_says_what_to_install(grant, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "jira_connect.arefresher", None)
    with pytest.raises(CommandError, match=r"django-jira-connect\[async\]"):
        run()


@pytest.mark.server_database
def test_an_async_run_beside_a_sync_run_refreshes_each_connection_once(grant, jira) -> None:
    """An async run and a sync run at once (as two machines would): one refresh each."""
    skip_without_row_locks()
    for _ in range(20):
        grant(expires_in=timedelta(minutes=-5))
    summaries: list[refresher.RefreshSummary] = []
    pks = refresher.due_connections()

    def sync_run() -> None:
        summaries.append(refresher.refresh_due(pks, workers=8))

    def async_run() -> None:
        summaries.append(arefresher.refresh_due_async(pks, concurrency=8))

    runs = [threading.Thread(target=sync_run), threading.Thread(target=async_run)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join()
    assert refreshes(jira) == 20
    assert sum(summary.refreshed for summary in summaries) == 20
    assert sum(summary.fresh for summary in summaries) == 20
    assert all(jira.is_valid_access_token(c.access_token) for c in JiraConnection.objects.all())


@pytest.mark.server_database
def test_a_failing_lane_leaves_the_work_to_the_others_then_fails(grant, jira, monkeypatch) -> None:
    """As a sync worker thread that dies: the other lanes refresh the rest, then the run fails."""
    from django.db import DatabaseError

    if db.vendor == "sqlite":
        pytest.skip("one lane on SQLite")
    for _ in range(6):
        grant(expires_in=timedelta(minutes=-5))
    pks = refresher.due_connections()
    real = refresher.unread

    def unread(pk: int) -> JiraConnection:
        if pk == pks[0]:
            raise DatabaseError("connection lost")
        return real(pk)

    monkeypatch.setattr(refresher, "unread", unread)
    with pytest.raises(DatabaseError, match="connection lost"):
        arefresher.refresh_due_async(pks, concurrency=2)
    assert refreshes(jira) == 5


def test_the_refreshes_run_in_threads_named_for_the_run(grant, jira) -> None:
    """Log records and thread dumps say which threads are the bulk run's (signals are sent
    there)."""
    from jira_connect import signals

    for _ in range(4):
        grant(expires_in=timedelta(minutes=-5))
    names: list[str] = []
    signals.token_refreshed.connect(
        lambda **kw: names.append(threading.current_thread().name), weak=False, dispatch_uid="tn"
    )
    try:
        summary = arefresher.refresh_due_async(refresher.due_connections(), concurrency=2)
    finally:
        signals.token_refreshed.disconnect(dispatch_uid="tn")
    assert summary.refreshed == 4
    assert len(names) == 4
    assert all(name.startswith("jira-connect-lane_") for name in names)


def test_each_links_tls_setting_holds_in_one_run(
    grant, jira, private_jira, make_connection
) -> None:
    """Links with different TLS settings in one run (the public CAs for one, a private CA for
    another): each link's token call is made with its own."""
    from django.utils import timezone

    from tests.tokens.test_tls import read_pem

    now = timezone.now()
    public = grant(expires_in=timedelta(minutes=-6))  # first in line: its client is made first
    private = make_connection(ca_bundle=read_pem(private_jira.ca_cert_path))
    JiraConnection.objects.filter(pk=private.pk).update(expires_at=now - timedelta(minutes=5))
    assert refresher.due_connections() == [public.pk, private.pk]
    summary = arefresher.refresh_due_async(refresher.due_connections(), concurrency=1)
    assert (summary.refreshed, summary.failed) == (2, 0)
    assert (refreshes(jira), private_jira.token_requests("refresh_token")) == (1, 1)
