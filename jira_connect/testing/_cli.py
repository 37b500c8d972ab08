"""`python -m jira_connect.testing`: run a simulated Jira for the demo or by hand.

Settings come from built-in defaults, then an optional `--config FILE.json`, then the command
line. `main()` takes an optional stop event and ready callback so tests can run it in a thread.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from jira_connect.testing._models import SimulatorOptions
from jira_connect.testing._scopes import is_valid_scope_string
from jira_connect.testing.simulator import JiraDCSimulator

DEFAULT_PORT = 8111
_OPTION_NAMES = SimulatorOptions.names()  # --set and the config file take every option
_CONFIG_KEYS = {"host", "port", "context_path", "title", "clients", "users", "options", "tls"}
_CONFIG_KEYS |= _OPTION_NAMES


def parse_client(value: str) -> dict[str, str]:
    """Parse CLIENT_ID:CLIENT_SECRET:REDIRECT_URI[:SCOPE[:NAME]].

    The redirect URI has colons of its own (scheme, port), so the id and secret are split off
    the left, and a scope (and a name after it) off the right only when the piece there is a
    valid Jira scope string.
    """
    client_id, _, rest = value.partition(":")
    client_secret, _, rest = rest.partition(":")
    if not client_id or not client_secret or not rest:
        raise argparse.ArgumentTypeError(
            f"expected CLIENT_ID:CLIENT_SECRET:REDIRECT_URI[:SCOPE[:NAME]], got {value!r}"
        )
    result = {"client_id": client_id, "client_secret": client_secret, "redirect_uri": rest}
    head, colon, last = rest.rpartition(":")
    if colon and is_valid_scope_string(last):
        result.update(redirect_uri=head, scope=last)
    elif colon:
        uri, colon, scope = head.rpartition(":")
        if colon and is_valid_scope_string(scope):
            result.update(redirect_uri=uri, scope=scope, name=last)
    parts = urlsplit(result["redirect_uri"])
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(
            f"the redirect URI must be an absolute http(s) URL, got {result['redirect_uri']!r}"
        )
    return result


def parse_user(value: str) -> dict[str, str]:
    """Parse NAME[:DISPLAY NAME[:EMAIL]]."""
    name, _, rest = value.partition(":")
    display_name, _, email = rest.partition(":")
    if not name:
        raise argparse.ArgumentTypeError(f"expected NAME[:DISPLAY NAME[:EMAIL]], got {value!r}")
    user = {"name": name}
    if display_name:
        user["display_name"] = display_name
    if email:
        user["email"] = email
    return user


def parse_setting(value: str) -> tuple[str, Any]:
    """Parse KEY=VALUE for a simulator option; the value is JSON when it parses as JSON."""
    key, equals, raw = value.partition("=")
    key = key.strip().replace("-", "_")
    if not equals or key not in _OPTION_NAMES:
        names = ", ".join(sorted(_OPTION_NAMES))
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE with KEY one of: {names}")
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jira_connect.testing",
        description="Run a simulated Jira Data Center OAuth 2.0 provider until interrupted.",
    )
    parser.add_argument("--config", type=Path, help="a JSON file with any of the settings below")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, help=f"port to bind, 0 for any (default {DEFAULT_PORT})"
    )
    parser.add_argument("--context-path", help="Jira's context path, e.g. /jira")
    parser.add_argument("--title", help="the server title shown on pages and in serverInfo")
    parser.add_argument("--jira-version", help="the Jira version serverInfo reports")
    parser.add_argument(
        "--client",
        action="append",
        type=parse_client,
        default=[],
        metavar="ID:SECRET:REDIRECT_URI[:SCOPE[:NAME]]",
        help="register an incoming link (repeatable)",
    )
    parser.add_argument(
        "--user",
        action="append",
        type=parse_user,
        default=[],
        metavar="NAME[:DISPLAY NAME[:EMAIL]]",
        help="add a user besides alice and bob (repeatable)",
    )
    parser.add_argument(
        "--set",
        action="append",
        type=parse_setting,
        default=[],
        dest="settings",
        metavar="OPTION=VALUE",
        help="set a switch, e.g. require_redirect_uri_on_refresh=false (repeatable)",
    )
    parser.add_argument("--tls", action="store_true", default=None, help="serve HTTPS")
    parser.add_argument("--verbose", action="store_true", help="log requests (no query strings)")
    return parser


def load_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read {path}: {error}") from error
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a JSON object")
    unknown = set(config) - _CONFIG_KEYS
    if unknown:
        raise ValueError(f"{path}: unknown keys {', '.join(sorted(unknown))}")
    return config


def build_simulator(args: argparse.Namespace) -> tuple[JiraDCSimulator, list[str]]:
    """Merge config and arguments into a simulator (not started) and the lines to print."""
    config = load_config(args.config) if args.config else {}
    options: dict[str, Any] = {k: v for k, v in config.items() if k in _OPTION_NAMES}
    options.update(config.get("options", {}))
    if "title" in config:
        options["server_title"] = config["title"]
    if args.title is not None:
        options["server_title"] = args.title
    if args.jira_version is not None:
        options["version"] = args.jira_version
    options.update(dict(args.settings))  # unknown names: JiraDCSimulator raises TypeError
    context_path = args.context_path
    if context_path is None:
        context_path = config.get("context_path", "")
    simulator = JiraDCSimulator(
        host=args.host or config.get("host", "127.0.0.1"),
        port=args.port if args.port is not None else config.get("port", DEFAULT_PORT),
        context_path=context_path,
        tls=args.tls if args.tls is not None else bool(config.get("tls", False)),
        verbose=args.verbose,
        **options,
    )
    notes: list[str] = []
    for user in [*config.get("users", []), *args.user]:
        simulator.add_user(**user)
    for spec in [*config.get("clients", []), *args.client]:
        client = simulator.register_client(**spec)
        line = f"  client {client.name!r}: client_id={client.client_id} scope={client.scope}"
        line += f" redirect_uri={client.redirect_uri}"
        if not spec.get("client_secret"):
            line += f" client_secret={client.client_secret} (generated, shown once)"
        notes.append(line)
    return simulator, notes


def main(
    argv: Sequence[str] | None = None,
    *,
    stop: threading.Event | None = None,
    on_ready: Callable[[JiraDCSimulator], None] | None = None,
    out: TextIO | None = None,
) -> int:
    """Run the simulator until Ctrl+C, SIGTERM or `stop` is set; return the exit status."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        simulator, notes = build_simulator(args)
        simulator.start()
    except (ValueError, TypeError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if stop is None:
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        base = simulator.base_url
        users = ", ".join(f"{u.name} ({u.display_name})" for u in simulator.users)
        lines = [
            f"{simulator.options.server_title}: Jira DC simulator at {base}",
            f"  authorize: {simulator.authorize_endpoint}",
            f"  token:     {simulator.token_endpoint}",
            *notes,
            f"  users: {users}",
        ]
        if simulator.tls:
            lines.append(f"  CA certificate: {simulator.ca_cert_path}")
        lines.append("Press Ctrl+C to stop.")
        print("\n".join(lines), file=out, flush=True)
        if on_ready is not None:
            on_ready(simulator)
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    print("Stopped.", file=out, flush=True)
    return 0
