"""A Jira Data Center OAuth 2.0 provider simulator for tests and demos.

The other side of the wire: runtime code never imports this package, and it imports neither
Django nor the rest of `jira_connect`. Host sites use it through the pytest plugin
(``pytest_plugins = ["jira_connect.testing.pytest_plugin"]``) or directly::

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
