"""The opt-in pytest plugin, used as host sites use it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import requests

from tests.simulator.flow import TIMEOUT


def test_jira_simulator_fixture(jira_simulator):
    assert jira_simulator.running
    assert requests.get(f"{jira_simulator.api_url}/serverInfo", timeout=TIMEOUT).ok


def test_jira_simulator_factory_fixture(jira_simulator_factory, jira_simulator):
    one = jira_simulator_factory(context_path="/jira", server_title="One")
    two = jira_simulator_factory()
    assert one.running
    assert two.running
    assert len({one.base_url, two.base_url, jira_simulator.base_url}) == 3
    assert one.options.server_title == "One"


def test_plugin_in_a_host_project(tmp_path):
    """Enable the plugin from a root conftest and check teardown stops every simulator."""
    (tmp_path / "conftest.py").write_text(
        'pytest_plugins = ["jira_connect.testing.pytest_plugin"]\n'
    )
    (tmp_path / "test_host.py").write_text(
        textwrap.dedent(
            """
            import requests

            SEEN = []

            def test_uses_both(jira_simulator, jira_simulator_factory):
                extra = jira_simulator_factory(context_path="/jira")
                SEEN.extend([jira_simulator, extra])
                assert requests.get(extra.base_url + "/rest/api/2/serverInfo", timeout=5).ok

            def test_all_stopped_afterwards():
                assert len(SEEN) == 2
                assert not any(simulator.running for simulator in SEEN)
            """
        )
    )
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:django", "-p", "no:randomly",
            "-p", "no:cacheprovider", "-c", "/dev/null", "--rootdir", str(tmp_path), str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
