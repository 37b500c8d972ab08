"""Pytest fixtures for the Jira DC simulator and for links and connections on it (opt-in).

Enable in a root ``conftest.py`` with ``pytest_plugins = ["jira_connect.testing.pytest_plugin"]``.
Each simulator starts a real server on an ephemeral loopback port and is always stopped, so
tests can run in parallel and in random order. Every fixture is named ``jira_*`` so it cannot
shadow a fixture of the host site's own.

The fixtures that save rows (``jira_link`` and the connections) need pytest-django: they ask
for its ``db`` fixture, which follows the test's ``django_db`` mark or ``transactional_db``.
They call ``jira_connect.testing.connections``, imported when first used because this module
is loaded before Django is set up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from jira_connect.testing.simulator import JiraDCSimulator

if TYPE_CHECKING:
    from jira_connect.models import JiraConnection, JiraLink

SimulatorFactory = Callable[..., JiraDCSimulator]
ConnectionFactory = Callable[..., "JiraConnection"]


@pytest.fixture
def jira_simulator() -> Iterator[JiraDCSimulator]:
    """A started simulator with default options (alice and bob, no clients yet)."""
    with JiraDCSimulator() as simulator:
        yield simulator


@pytest.fixture
def jira_simulator_factory() -> Iterator[SimulatorFactory]:
    """Call with `JiraDCSimulator` keyword options to get more started simulators."""
    started: list[JiraDCSimulator] = []

    def make(**options: Any) -> JiraDCSimulator:
        simulator = JiraDCSimulator(**options).start()
        started.append(simulator)
        return simulator

    yield make
    for simulator in reversed(started):
        simulator.stop()


@pytest.fixture
def jira_link(jira_simulator: JiraDCSimulator, db: None) -> JiraLink:
    """A `JiraLink` saved in the database, its incoming link registered on `jira_simulator`
    with scope WRITE and the Redirect URL of Django's test client (`callback_url()`)."""
    from jira_connect.testing.connections import create_link

    return create_link(jira_simulator)


@pytest.fixture
def jira_connection_factory(
    jira_simulator: JiraDCSimulator, jira_link: JiraLink, db: None
) -> ConnectionFactory:
    """A function making more connections through the real grant:
    ``jira_connection_factory(user=None, *, link=None, jira_user="alice", expired=False,
    must_reconnect=False)``. A new site user when ``user`` is None; `jira_link` when
    ``link`` is None; see `make_connection`."""
    from jira_connect.testing.connections import make_connection

    def make(user: Any = None, *, link: JiraLink | None = None, **options: Any) -> JiraConnection:
        return make_connection(jira_simulator, link or jira_link, user, **options)

    return make


@pytest.fixture
def jira_connection(jira_connection_factory: ConnectionFactory) -> JiraConnection:
    """A new site user (``jira_connection.user``) connected to `jira_link` as Jira's alice,
    with real tokens from `jira_simulator`."""
    return jira_connection_factory()


@pytest.fixture
def jira_expired_connection(jira_connection_factory: ConnectionFactory) -> JiraConnection:
    """A connection whose access token has expired, in the database and in Jira: its next
    call refreshes (once), then goes through."""
    return jira_connection_factory(expired=True)


@pytest.fixture
def jira_must_reconnect_connection(jira_connection_factory: ConnectionFactory) -> JiraConnection:
    """A connection whose grant Jira revoked: its next call tries to refresh, Jira answers
    ``invalid_grant``, the call raises `ReauthorizationRequired` and the connection's status
    becomes ``REAUTH_REQUIRED``."""
    return jira_connection_factory(must_reconnect=True)
