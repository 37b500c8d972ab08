"""jira_connect_refresh --workers: a number, or ``auto`` (the default) sized for the machine."""

from __future__ import annotations

import os
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from jira_connect import refresher

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("jira_connect_refresh", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)  # worker threads read with connections of their own
@pytest.mark.parametrize("workers", [[], ["--workers", "auto"]])
def test_auto_is_the_default_and_refreshes(grant, jira, workers) -> None:
    for _ in range(3):
        grant(expires_in=timedelta(minutes=2))
    assert "3 due: 3 refreshed" in run(*workers)
    assert jira.token_requests(grant_type="refresh_token") == 3


def test_auto_follows_the_cpus_this_process_may_use(monkeypatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert refresher.auto_workers() == refresher.WORKERS_PER_CPU
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert refresher.auto_workers() == refresher.MAX_AUTO_WORKERS


@pytest.mark.parametrize("value", ["many", "1.5", ""])
def test_anything_else_is_refused(value) -> None:
    with pytest.raises(CommandError, match="--workers"):
        run("--workers", value)
