"""The opt-in pytest plugin, used as host sites use it."""

from __future__ import annotations

import os
import re
import textwrap

import requests

from tests.processes import ROOT, run_python
from tests.simulator.flow import TIMEOUT


def run_pytest(*args: str, passed: int, env: dict[str, str] | None = None) -> None:
    """Run pytest on a host project's tests in a fresh process; all ``passed`` must pass."""
    result = run_python(
        "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", *args, env=env
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{passed} passed" in result.stdout


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
    run_pytest(
        "-p", "no:django", "-c", "/dev/null", "--rootdir", str(tmp_path), str(tmp_path), passed=2
    )  # fmt: skip


def test_the_documented_examples_pass(tmp_path):
    """docs/testing.md's example test modules, run by pytest as a host site's suite."""
    text = (ROOT / "docs" / "testing.md").read_text()
    examples = re.findall(r'```python title="tests/test_jira\.py"\n(.*?)```', text, re.S)
    assert len(examples) == 2  # the fixtures' and the TestCase helpers'
    for number, example in enumerate(examples):
        (tmp_path / f"test_documented_{number}.py").write_text(example)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # in-memory SQLite
    run_pytest(
        "-c", str(ROOT / "setup.cfg"), "--rootdir", str(ROOT), str(tmp_path), passed=7, env=env
    )  # fmt: skip
