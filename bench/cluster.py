"""A throw-away PostgreSQL server for a benchmark run, with room for 256 callers.

The 256-caller race needs a database connection per caller: in a real deployment each web
worker thread holds one for the whole request, and a caller waiting for the refresh waits inside
PostgreSQL, on the row lock. A shared server's ``max_connections`` (100 by default) is too small
for that, and the benchmark must not take other users' connections either. So ``python -m bench``
starts its own server: ``initdb`` into a temporary directory, ``pg_ctl start`` on a free loopback
port with ``max_connections`` to spare, and removes it all at the end. PostgreSQL refuses to run
as root, so under root the server runs as the ``postgres`` user (``runuser``). Durability
settings are PostgreSQL's defaults (``fsync`` and ``synchronous_commit`` on), as in production.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MAX_CONNECTIONS = 400


def server_binaries() -> Path | None:
    """The newest PostgreSQL's ``bin`` directory holding ``initdb`` and ``pg_ctl``, if any."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    for directory in reversed(candidates):
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def throwaway_cluster(max_connections: int = MAX_CONNECTIONS) -> Iterator[str]:
    """Start a PostgreSQL server of our own; yield the URL of its ``postgres`` database."""
    binaries = server_binaries()
    if binaries is None:
        raise RuntimeError("initdb and pg_ctl not found (install PostgreSQL's server package)")
    root = Path(tempfile.mkdtemp(prefix="jira-connect-bench-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log = root / "data", root / "server.log"
    port = free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c max_connections={max_connections} "
        f"-c unix_socket_directories={root}"
    )
    started = False
    try:
        _run([*prefix, str(binaries / "initdb"), "-D", str(data), "-U", "postgres",
              "--auth=trust", "-E", "UTF8", "--no-sync"])  # fmt: skip
        _run([*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log),
              "-o", options, "-w", "-t", "60", "start"])  # fmt: skip
        started = True
        yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            _run([*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                  "stop"], check=False)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def _run(command: list[str], *, check: bool = True) -> None:
    subprocess.run(  # noqa: S603 (PostgreSQL's own tools, no shell)
        command, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
