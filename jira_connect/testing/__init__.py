"""A Jira Data Center OAuth 2.0 provider simulator for tests and demos.

The other side of the wire: runtime code never imports this package, and importing it imports
neither Django, pytest nor the rest of `jira_connect`. The Django side (links and connections
saved on a running simulator) lives in submodules a test imports once Django is set up:
`connections` (plain functions), `testcases` (a ``TestCase`` mixin) and `pytest_plugin` (the
``jira_*`` fixtures: ``pytest_plugins = ["jira_connect.testing.pytest_plugin"]``). Or use the
simulator directly::

    with JiraDCSimulator(context_path="/jira") as jira:
        client = jira.register_client(redirect_uri="http://testserver/jira/callback/")
        callback_url = jira.authorize(authorize_url, user="alice")
"""

from __future__ import annotations

from jira_connect.testing._models import (
    FaultKind,
    FaultTarget,
    InjectedFault,
    RequestRecord,
    SimulatedClient,
    SimulatedUser,
    SimulatorError,
    SimulatorOptions,
)
from jira_connect.testing._scopes import JIRA_SCOPES, SCOPE_DESCRIPTIONS
from jira_connect.testing.simulator import JiraDCSimulator, pkce_pair

__all__ = [
    "JIRA_SCOPES",
    "SCOPE_DESCRIPTIONS",
    "FaultKind",
    "FaultTarget",
    "InjectedFault",
    "JiraDCSimulator",
    "RequestRecord",
    "SimulatedClient",
    "SimulatedUser",
    "SimulatorError",
    "SimulatorOptions",
    "pkce_pair",
]
