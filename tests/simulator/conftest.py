"""Fixtures for the simulator's own tests.

The plugin's fixtures are imported rather than enabled with `pytest_plugins`, which pytest only
allows in the root conftest.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jira_connect.testing import JiraDCSimulator, SimulatedClient
from jira_connect.testing.pytest_plugin import (  # noqa: F401
    jira_simulator,
    jira_simulator_factory,
)
from tests.simulator.flow import REDIRECT_URI


@pytest.fixture
def sim() -> Iterator[JiraDCSimulator]:
    with JiraDCSimulator() as simulator:
        yield simulator


@pytest.fixture
def client(sim: JiraDCSimulator) -> SimulatedClient:
    return sim.register_client(redirect_uri=REDIRECT_URI, name="Acme Portal")
