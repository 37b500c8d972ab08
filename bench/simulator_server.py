"""The simulated Jira of a benchmark run, in a process of its own, driven over stdin/stdout.

Run by ``bench.jira.SimulatedJira`` as ``python -m bench.simulator_server OPTIONS_JSON``. A real
Jira is another machine: here it is at least another process, so its work does not compete with
the client's for one interpreter lock. It prints ``{"base_url": ...}``, then answers one JSON
request per line (``{"op": ..., "args": {...}}``) with ``{"ok": result}`` or ``{"error": text}``.

Keep-alive and Nagle: the simulator's HTTP handler writes a response's headers and its body in
two ``send()`` calls, so it sets ``TCP_NODELAY`` (as Jira's Tomcat does); without it the body
would wait for the client's delayed ACK, about 40 ms on Linux, on every kept-alive call after
the first. ``nodelay(false)`` turns the option off, to measure that stall itself.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from jira_connect.testing import _http as simulator_http
from jira_connect.testing.simulator import JiraDCSimulator


def _operations(sim: JiraDCSimulator) -> dict[str, Callable[..., Any]]:
    def register_client(redirect_uri: str, scope: str = "WRITE") -> dict[str, str]:
        client = sim.register_client(redirect_uri=redirect_uri, scope=scope, name="Benchmarks")
        return {
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "redirect_uri": client.redirect_uri,
        }

    def issue_tokens(client_id: str, count: int = 1, user: str = "alice") -> list[list[str]]:
        pairs = []
        for _ in range(count):
            body = sim.issue_tokens(client_id, user=user)
            pairs.append([body["access_token"], body["refresh_token"]])
        return pairs

    def add_users(prefix: str, count: int) -> list[str]:
        names = [f"{prefix}{n}" for n in range(count)]
        for name in names:
            sim.add_user(name)
        return names

    def inject(target: str, fault: str, times: int | None = 1, delay: float = 0.5) -> None:
        sim.inject(target, fault, times=times, delay=delay)  # type: ignore[arg-type]

    def configure(**changes: Any) -> None:
        sim.configure(**changes)

    def nodelay(on: bool) -> None:
        simulator_http._Handler.disable_nagle_algorithm = on

    return {
        "register_client": register_client,
        "add_users": add_users,
        "issue_tokens": issue_tokens,
        "inject": inject,
        "clear_faults": sim.clear_faults,
        "configure": configure,
        "expire_access_tokens": sim.expire_access_tokens,
        "token_requests": sim.token_requests,
        "api_requests": sim.api_requests,
        "is_valid_access_token": sim.is_valid_access_token,
        "is_valid_refresh_token": sim.is_valid_refresh_token,
        "nodelay": nodelay,
    }


def main() -> None:
    options: dict[str, Any] = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    simulator_http._Handler.disable_nagle_algorithm = True
    with JiraDCSimulator(**options) as sim:
        operations = _operations(sim)
        print(json.dumps({"base_url": sim.base_url}), flush=True)
        for line in sys.stdin:
            request = json.loads(line)
            if request["op"] == "stop":
                break
            try:
                answer = {"ok": operations[request["op"]](**request.get("args", {}))}
            except Exception as err:  # reported to the caller, which raises it there
                answer = {"error": f"{type(err).__name__}: {err}"}
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
