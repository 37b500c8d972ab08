"""Pytest fixtures for the Jira DC simulator (opt-in).

Enable in a root ``conftest.py`` with ``pytest_plugins = ["jira_connect.testing.pytest_plugin"]``.
Each fixture starts real servers on ephemeral loopback ports and always stops them, so tests can
run in parallel and in random order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from jira_connect.testing.simulator import JiraDCSimulator

SimulatorFactory = Callable[..., JiraDCSimulator]


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
