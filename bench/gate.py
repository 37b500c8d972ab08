"""Worker processes released at the same instant: the start gate of the races.

Each worker prints ``ready`` once set up, waits for ``go`` on its standard
input, and prints its report as JSON on its last line.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from typing import Any

from bench.jira import ROOT


def start_worker(module: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """``python -m module *args`` from the repository's root, with the pipes the gate talks
    through (``ready`` and the report on its standard output, ``go`` on its standard input)."""
    return subprocess.Popen(  # noqa: S603 (our own module, no shell)
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def release_together(workers: list[subprocess.Popen[str]], what: str) -> tuple[list[Any], float]:
    """Wait until every worker is ready, release them all, and collect their reports.

    Returns the reports and the seconds from the release to the last report.
    Workers still running when this ends (a failure) are killed.
    """
    reports: list[Any] = []
    try:
        for worker in workers:
            assert worker.stdout is not None
            line = worker.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"a {what} worker did not get ready: {line!r}")
        started = time.perf_counter()
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        for worker in workers:
            out, _ = worker.communicate(timeout=300)
            if worker.returncode != 0:
                raise RuntimeError(f"a {what} worker failed with status {worker.returncode}")
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports, time.perf_counter() - started
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


def wait_for_go(
    threads: list[threading.Thread], ready: threading.Barrier, go: threading.Event
) -> float:
    """The worker's side of the gate: start ``threads``, say ``ready`` once they all are (or
    their barrier broke), wait for ``go`` and release them; returns ``time.perf_counter()`` at
    the release. One protocol for every worker, so ``release_together`` can drive them all.

    Each thread waits on ``ready`` then ``go``; a broken barrier (a setup that failed) is its
    own to report, as "never started".
    """
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        ready.wait(timeout=60)
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    go.set()
    return started
