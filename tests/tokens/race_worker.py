"""One worker process of the refresh race: N threads call Jira through one connection.

Run as ``python -m tests.tokens.race_worker PK THREADS START_AT`` with
DJANGO_SETTINGS_MODULE and DATABASE_URL pointing at the test database.
Prints one JSON line: the outcome of each thread's call.
"""

from __future__ import annotations

import json
import sys
import threading
import time


def main() -> None:
    import django

    django.setup()
    from django.db import connection as db

    from jira_connect.exceptions import JiraConnectError
    from jira_connect.models import JiraConnection

    pk, threads, start_at = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    outcomes: list[str] = []
    lock = threading.Lock()

    def call() -> None:
        try:
            session = JiraConnection.objects.select_related("link").get(pk=pk).session()
            time.sleep(max(0.0, start_at - time.time()))
            response = session.get("rest/api/2/myself", timeout=30)
            outcome = str(response.status_code)
        except JiraConnectError as err:
            outcome = type(err).__name__
        except Exception as err:
            outcome = f"{type(err).__name__}: {err}"
        finally:
            db.close()
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=call) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(json.dumps(outcomes))


if __name__ == "__main__":
    main()
