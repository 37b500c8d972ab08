"""Real Celery workers on Redis and PostgreSQL: every due connection refreshed exactly once.

Two worker processes with four threads each take the fan-out of two overlapping
``refresh_due_connections`` runs (as two beat ticks, or two schedulers, would
queue it), so most connections are asked for twice at the same moment; the row
lock lets one refresh through and the other finds the connection fresh.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection as db

pytest.importorskip("celery", reason="the celery extra is not installed")
redis = pytest.importorskip("redis", reason="the celery extra is not installed")

from jira_connect import tasks  # noqa: E402
from jira_connect.models import JiraConnection  # noqa: E402
from tests.celery.app import REDIS_URL, app  # noqa: E402
from tests.flow.conftest import jira, link  # noqa: E402, F401
from tests.processes import stop  # noqa: E402
from tests.tokens.conftest import grant  # noqa: E402, F401

ROOT = Path(__file__).resolve().parents[2]
START_REDIS = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no'
)
CONNECTIONS = 20
WORKERS = 2
# Bounds, in seconds, for a failure to show; a passing run takes a few (more on a loaded machine).
START_TIMEOUT = 30.0
WORK_TIMEOUT = 30.0


@pytest.fixture
def broker() -> Iterator[Any]:
    """The tests' Redis database, empty before and after."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as err:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({err}); start it with: {START_REDIS}")
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def database_url() -> str:
    """DATABASE_URL for the workers: the test database pytest-django created, on PostgreSQL."""
    if db.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (set DATABASE_URL): the workers are other processes, which an "
            "in-memory SQLite database is not shared with, and the race needs row locks"
        )
    settings = db.settings_dict
    credentials = quote(settings["USER"] or "", safe="")
    if settings["PASSWORD"]:
        credentials += ":" + quote(settings["PASSWORD"], safe="")
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{settings['NAME']}"


@contextmanager
def celery_workers(
    count: int, database_url: str, logs: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start ``count`` worker processes, wait until each answers a ping, always stop them."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url,
        "JIRA_CONNECT_TEST_REDIS_URL": REDIS_URL,
    }
    names = [f"jira-connect-test-{n}@localhost" for n in range(count)]
    children: list[subprocess.Popen[bytes]] = []
    try:
        for name in names:
            log = (logs / f"{name}.log").open("wb")
            children.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "tests.celery.app",
                        "worker",
                        "--pool",
                        "threads",
                        "--concurrency",
                        "4",
                        "-l",
                        "warning",
                        "-n",
                        name,
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            log.close()
        deadline = time.monotonic() + START_TIMEOUT
        answered: set[str] = set()
        while answered != set(names):
            assert all(child.poll() is None for child in children), worker_logs(logs)
            assert time.monotonic() < deadline, f"workers did not start\n{worker_logs(logs)}"
            answered |= {name for reply in app.control.ping(timeout=0.5) for name in reply}
        yield children
    finally:
        stop(*children)


def worker_logs(logs: Path) -> str:
    return "\n".join(f"--- {path.name}\n{path.read_text()}" for path in sorted(logs.glob("*.log")))


def finished_refreshes(broker: Any) -> list[Any]:
    """The results of ``refresh_connection`` tasks stored so far (whatever their state)."""
    results = []
    for key in broker.scan_iter("celery-task-meta-*"):
        meta = json.loads(broker.get(key))
        if meta.get("name") == "jira_connect.tasks.refresh_connection":
            results.append(meta)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_refresh_each_due_connection_once(
    database_url,
    broker,
    grant,  # noqa: F811
    jira,  # noqa: F811
    tmp_path,
) -> None:
    due = [grant(expires_in=timedelta(minutes=-5)) for _ in range(CONNECTIONS)]
    fresh = grant()
    before = {c.pk: c.access_token for c in JiraConnection.objects.all()}

    with celery_workers(WORKERS, database_url, tmp_path):
        started = time.monotonic()
        runs = [tasks.refresh_due_connections.delay() for _ in range(2)]
        queued = [run.get(timeout=WORK_TIMEOUT) for run in runs]
        assert max(queued) == CONNECTIONS, worker_logs(tmp_path)  # the first to look saw all
        while len(results := finished_refreshes(broker)) < sum(queued):
            assert time.monotonic() - started < WORK_TIMEOUT, (
                f"{len(results)} of {sum(queued)} refreshes finished\n{worker_logs(tmp_path)}"
            )
            time.sleep(0.1)

    assert Counter(meta["status"] for meta in results) == {"SUCCESS": sum(queued)}
    outcomes = Counter(meta["result"] for meta in results)
    assert outcomes == {"refreshed": CONNECTIONS, "fresh": sum(queued) - CONNECTIONS}
    assert {meta["args"][0] for meta in results} == {c.pk for c in due}
    assert jira.token_requests(grant_type="refresh_token") == CONNECTIONS
    stored = {c.pk: c for c in JiraConnection.objects.all()}
    for connection in due:
        assert stored[connection.pk].access_token != before[connection.pk]
        assert jira.is_valid_access_token(stored[connection.pk].access_token)
        assert jira.is_valid_refresh_token(stored[connection.pk].refresh_token)
    assert stored[fresh.pk].access_token == before[fresh.pk]
