"""``python -m jira_connect.testing``: run the simulator from the command line (the demo does)."""

from __future__ import annotations

from jira_connect.testing.simulator import main

raise SystemExit(main())
