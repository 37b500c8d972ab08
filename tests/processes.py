"""Child processes of the tests: Python from the repository's root (``manage.py`` and pytest
runs), the servers they start (a free port to serve on, a clean stop)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_python(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python *args`` in ``ROOT``, its output captured as text; the caller checks the status."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now, for a server a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(*processes: subprocess.Popen[Any], timeout: float = 10) -> None:
    """Ask ``processes`` to end (SIGTERM, so servers and workers shut down as in production),
    kill those still running after ``timeout`` seconds, and reap them all: nothing a test
    started outlives it, nor stays behind as a zombie."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
