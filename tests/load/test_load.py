"""A short, bounded load run in CI (the longer one: ``python -m tests.load.driver``)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from django.db import connection as db

from tests.load import driver


@pytest.fixture
def load_database() -> Iterator[str]:
    settings = db.settings_dict
    if db.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (set DATABASE_URL): several gunicorn workers share the database"
        )
    admin = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/postgres"
    name = f"jira_connect_load_{uuid.uuid4().hex[:8]}"
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    yield admin.rsplit("/", 1)[0] + "/" + name
    subprocess.run(
        ["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False
    )


@pytest.mark.postgres
def test_users_connecting_and_calling_jira_under_load(load_database) -> None:
    seconds = float(os.environ.get("JIRA_CONNECT_LOAD_SECONDS", "12"))
    result = driver.run(load_database, users=8, seconds=seconds, workers=4, token_ttl=3)
    print(result.summary())
    assert result.errors == []
    assert result.server_errors == 0
    assert result.requests >= 24
    assert result.chains_lost == 0
    assert result.chains_intact == 8
    assert result.refresh_rejections == 0  # no refresh spent a token another had already spent
    # About one refresh per expiry per connection: never more than the expiries that could occur.
    assert 8 <= result.refreshes <= 8 * (seconds / 3 + 2)
