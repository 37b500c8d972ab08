"""The kit's ``TestCase`` helpers: one simulator per class, stopped whatever happens."""

from __future__ import annotations

import io
import subprocess
import sys
import unittest

import pytest
from django.test import TransactionTestCase

from jira_connect.exceptions import ReauthorizationRequired
from jira_connect.models import JiraConnection
from jira_connect.testing import JiraDCSimulator
from jira_connect.testing.testcases import JiraSimulatorMixin


def run(case: type[unittest.TestCase]) -> unittest.TestResult:
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(case)
    return unittest.TextTestRunner(stream=io.StringIO()).run(suite)


def test_one_simulator_per_class_stopped_afterwards() -> None:
    seen: list[JiraDCSimulator] = []

    class Probe(JiraSimulatorMixin, unittest.TestCase):
        jira_simulator_options = {"server_title": "Probe"}

        def test_one(self) -> None:
            seen.append(self.jira_simulator)

        def test_two(self) -> None:
            seen.append(self.jira_simulator)

    result = run(Probe)
    assert result.wasSuccessful(), result.errors
    assert len(seen) == 2
    assert seen[0] is seen[1]
    assert seen[0].options.server_title == "Probe"
    assert not seen[0].running


def test_stopped_when_the_class_setup_fails() -> None:
    class Failing(unittest.TestCase):
        @classmethod
        def setUpClass(cls) -> None:
            raise RuntimeError("the class's own set-up failed")

    class Probe(JiraSimulatorMixin, Failing):
        def test_never_runs(self) -> None:
            raise AssertionError("unreachable")

    result = run(Probe)
    assert len(result.errors) == 1
    assert not Probe.jira_simulator.running


def test_importing_the_simulator_imports_neither_pytest_nor_django() -> None:
    code = (
        "import sys, jira_connect.testing;"
        "print(sorted({'pytest', 'django'} & {m.split('.')[0] for m in sys.modules}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


class TransactionalHelpersTests(JiraSimulatorMixin, TransactionTestCase):
    """The helpers on a ``TransactionTestCase``: rows committed, then flushed."""

    def test_connect_expire_and_revoke(self) -> None:
        link = self.create_jira_link()
        kept = self.connect_jira_user(link)
        expired = self.connect_jira_user(link, expired=True)
        lost = self.connect_jira_user(link, must_reconnect=True)
        assert kept.session().get("rest/api/2/myself").status_code == 200
        assert expired.session().get("rest/api/2/myself").status_code == 200
        assert self.jira_simulator.token_requests(grant_type="refresh_token") == 1
        with pytest.raises(ReauthorizationRequired):
            lost.session().get("rest/api/2/myself")
        statuses = dict(JiraConnection.objects.values_list("pk", "status"))
        assert statuses == {
            kept.pk: JiraConnection.Status.ACTIVE,
            expired.pk: JiraConnection.Status.ACTIVE,
            lost.pk: JiraConnection.Status.REAUTH_REQUIRED,
        }
