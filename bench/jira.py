"""The simulated Jira a benchmark talks to: ``bench.simulator_server`` in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: The Redirect URL registered on the benchmark links (nothing listens there).
CALLBACK = "http://127.0.0.1:8000/jira/callback/"


class SimulatedJira:
    """Start with ``with SimulatedJira() as jira:``; ``jira.call(op, **args)`` runs one operation
    of ``bench.simulator_server`` (the simulator's own methods, plus a few batch helpers)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._process: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> SimulatedJira:
        self._process = subprocess.Popen(  # noqa: S603 (our own module, no shell)
            [sys.executable, "-m", "bench.simulator_server", json.dumps(self._options)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.base_url = self._read()["base_url"]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            assert process.stdin is not None
            process.stdin.write(json.dumps({"op": "stop"}) + "\n")
            process.stdin.close()
            process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()

    @property
    def token_endpoint(self) -> str:
        return self.base_url + "/rest/oauth2/latest/token"

    @property
    def myself_url(self) -> str:
        return self.base_url + "/rest/api/2/myself"

    def call(self, op: str, **args: Any) -> Any:
        if self._process is None or self._process.stdin is None:
            raise RuntimeError("the simulated Jira is not running")
        self._process.stdin.write(json.dumps({"op": op, "args": args}) + "\n")
        self._process.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise RuntimeError(f"simulated Jira, {op}: {answer['error']}")
        return answer["ok"]

    def _read(self) -> dict[str, Any]:
        assert self._process is not None
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the simulated Jira exited unexpectedly")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def cpu_seconds(self) -> float | None:
        """CPU time (user and system) the simulator's process has used so far, where Linux says.

        A real Jira runs on another machine; here its work shares the CPUs with the client's and
        the database's, so the benchmarks report it beside theirs rather than hide it.
        """
        if self._process is None:
            return None
        try:
            stat = Path(f"/proc/{self._process.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def refresh_requests(self) -> int:
        """Refresh requests that reached the token endpoint so far."""
        return int(self.call("token_requests", grant_type="refresh_token"))
