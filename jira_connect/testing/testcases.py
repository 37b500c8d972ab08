"""The pytest plugin's helpers for ``unittest`` and Django ``TestCase`` users.

``JiraSimulatorMixin`` starts one simulator per test class and offers the same links and
connections as the ``jira_*`` fixtures, through the same functions
(``jira_connect.testing.connections``). ``JiraSimulatorTestCase`` is the mixin on
``django.test.TestCase``. Import this module from test modules, once Django is set up.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.test import TestCase

from jira_connect.models import JiraConnection, JiraLink
from jira_connect.testing import connections
from jira_connect.testing.simulator import JiraDCSimulator

__all__ = ["JiraSimulatorMixin", "JiraSimulatorTestCase"]


class JiraSimulatorMixin:
    """One simulated Jira for the test class, and helpers to make links and connections on it.

    ``setUpClass`` starts ``jira_simulator`` with ``jira_simulator_options`` before the
    class's test data is set up (so ``setUpTestData`` may create links) and a class cleanup
    stops it. ``setUp`` resets it (``reset()``: tokens, faults, the request log and the clock;
    clients and users stay), so each test starts with empty counters and no fault left over:
    create links in ``setUpTestData`` or in the test, and connections in the test or
    ``setUp``, since a reset forgets their tokens. Put the mixin before the ``TestCase``
    class.
    """

    jira_simulator_options: ClassVar[dict[str, Any]] = {}
    """Keyword options of `JiraDCSimulator` for this class, e.g. ``{"context_path": "/jira"}``."""

    jira_simulator: ClassVar[JiraDCSimulator]

    @classmethod
    def setUpClass(cls) -> None:
        simulator = JiraDCSimulator(**cls.jira_simulator_options).start()
        cls.jira_simulator = simulator
        cls.addClassCleanup(simulator.stop)  # type: ignore[attr-defined]
        super().setUpClass()  # type: ignore[misc]

    def setUp(self) -> None:
        self.jira_simulator.reset()
        super().setUp()  # type: ignore[misc]

    @classmethod
    def create_jira_link(cls, **fields: Any) -> JiraLink:
        """A saved `JiraLink` registered on the simulator; see `connections.create_link`."""
        return connections.create_link(cls.jira_simulator, **fields)

    @classmethod
    def connect_jira_user(cls, link: JiraLink, user: Any = None, **options: Any) -> JiraConnection:
        """Connect ``user`` (a new one when None) to ``link`` through the real grant; the
        ``options`` (``jira_user``, ``expired``, ``must_reconnect``) of `make_connection`."""
        return connections.make_connection(cls.jira_simulator, link, user, **options)

    @classmethod
    def expire_jira_connection(cls, connection: JiraConnection) -> None:
        """Expire the connection's access token in the database and in Jira."""
        connections.expire_connection(cls.jira_simulator, connection)

    @classmethod
    def revoke_jira_grant(cls, connection: JiraConnection) -> None:
        """Revoke the connection's grant in Jira: its next call raises
        `ReauthorizationRequired`."""
        connections.revoke_grant(cls.jira_simulator, connection)


class JiraSimulatorTestCase(JiraSimulatorMixin, TestCase):
    """``django.test.TestCase`` with a simulated Jira; see `JiraSimulatorMixin`."""
