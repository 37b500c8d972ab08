"""A Jira Data Center OAuth 2.0 provider simulator for tests and demos.

The other side of the wire: runtime code never imports this package, and it imports neither
Django nor the rest of `jira_connect`. Host sites use it through the pytest plugin
(``pytest_plugins = ["jira_connect.testing.pytest_plugin"]``) or directly::

    with JiraDCSimulator(context_path="/jira") as jira:
        client = jira.register_client(redirect_uri="http://testserver/jira/callback/")
        callback_url = jira.authorize(authorize_url, user="alice")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    # Imported lazily so `python -m jira_connect.testing.simulator` does not find the module
    # already imported by its own package (runpy warns about that).
    if name in ("JiraDCSimulator", "pkce_pair"):
        from jira_connect.testing import simulator

        return getattr(simulator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
