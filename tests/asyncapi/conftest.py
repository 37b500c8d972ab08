"""Fixtures for the async API: an event loop (anyio on asyncio) and the tokens' fixtures."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from tests.flow.conftest import browser, jira, link, user  # noqa: F401
from tests.tokens.conftest import connection, expire, grant  # noqa: F401
from tests.tokens.test_session_edges import gateway, linked, proxied  # noqa: F401
from tests.tokens.test_tls import make_connection, private_jira, unrelated_ca  # noqa: F401


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True, scope="session")
def _close_the_async_orms_connection(django_db_setup: None) -> Iterator[None]:
    """The async ORM runs queries in asgiref's one thread for sync code, whose database
    connection outlives the tests: close it before the test database is dropped (PostgreSQL
    refuses to drop a database in use)."""
    yield
    asyncio.run(sync_to_async(connections.close_all)())
