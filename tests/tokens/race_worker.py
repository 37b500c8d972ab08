"""The refresh race: N threads call Jira at once through one connection.

``call_in_threads`` runs in the test process (threads) and, as
``python -m tests.tokens.race_worker PK THREADS START_AT`` with
DJANGO_SETTINGS_MODULE and DATABASE_URL pointing at the test database, in
worker processes, which print one JSON line: the outcome of each call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

from tests.processes import ROOT


def call_in_threads(pk: int, threads: int, start_at: float | None = None) -> list[str]:
    """Each thread builds its own session, waits for the others (or ``start_at``), calls once."""
    from django.db import connection as db

    from jira_connect.exceptions import JiraConnectError
    from jira_connect.models import JiraConnection

    outcomes: list[str] = []
    barrier = threading.Barrier(threads)
    lock = threading.Lock()

    def call() -> None:
        try:
            session = JiraConnection.objects.select_related("link").get(pk=pk).session()
            if start_at is None:
                barrier.wait()
            else:
                time.sleep(max(0.0, start_at - time.time()))
            outcome = str(session.get("rest/api/2/myself", timeout=30).status_code)
        except JiraConnectError as err:
            outcome = type(err).__name__
        except Exception as err:  # reported to the caller, which fails the test
            outcome = f"{type(err).__name__}: {err}"
        finally:
            db.close()
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=call) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return outcomes


def start_workers(
    pk: int, processes: int, threads: int, start_at: float
) -> list[subprocess.Popen[str]]:
    """Processes of this module (``call_in_threads`` in each), all calling at ``start_at``, on the
    test database. The sync and async race tests start them alike, so this is the one place that
    knows the worker's command line; ``outcomes_of`` reads what each prints."""
    from tests.conftest import test_database_url

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env["DATABASE_URL"] = test_database_url()
    command = [sys.executable, "-m", "tests.tokens.race_worker", str(pk), str(threads)]
    return [
        subprocess.Popen(
            [*command, str(start_at)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]


def outcomes_of(child: subprocess.Popen[str]) -> list[str]:
    """The outcomes a worker from ``start_workers`` printed (its last line), once it has ended;
    fails the test with the worker's standard error if it did not end well."""
    out, err = child.communicate(timeout=180)
    assert child.returncode == 0, err
    return list(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    import django

    django.setup()
    pk, threads, start_at = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    print(json.dumps(call_in_threads(pk, threads, start_at)))


if __name__ == "__main__":
    main()
