"""Fixtures for the async API: an event loop (anyio on asyncio) and the tokens' fixtures."""

from __future__ import annotations

import pytest

from tests.flow.conftest import browser, jira, link, user  # noqa: F401
from tests.tokens.conftest import connection, expire, grant  # noqa: F401
from tests.tokens.test_session_edges import gateway, linked, proxied  # noqa: F401
from tests.tokens.test_tls import make_connection, private_jira, unrelated_ca  # noqa: F401


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
