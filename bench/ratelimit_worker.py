"""One process of the rate-limit benchmark: THREADS callers, each making CALLS calls in a row.

Run by ``bench.ratelimit`` as ``python -m bench.ratelimit_worker SPEC_JSON`` with
DJANGO_SETTINGS_MODULE and DATABASE_URL set. SPEC holds ``pks`` (one stored connection per
thread), ``calls`` and ``guard`` (False replaces the storm guard's hold and pause with nothing,
to show what they prevent). Each thread builds its session from the stored row, as a web worker does, and
waits; the process prints ``ready``, and every thread starts calling ``rest/api/2/myself`` once
the parent writes a line to stdin. Prints one JSON object: each call's outcome (the HTTP status
or the exception's class name), the number of waits the sessions made and the seconds waited.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter

from bench.gate import wait_for_go

CALL_TIMEOUT = 30


def main() -> None:
    import django

    django.setup()
    from django.db import connection as db

    from jira_connect import ratelimit, stormguard
    from jira_connect.models import JiraConnection

    spec = json.loads(sys.argv[1])
    pks: list[int] = spec["pks"]
    calls: int = spec["calls"]
    if not spec.get("guard", True):
        stormguard.pause_refreshes = lambda connection: None
        stormguard.hold_for = lambda timeout: None  # type: ignore[assignment,return-value]
    outcomes: Counter[str] = Counter()
    waited: list[float] = []
    lock = threading.Lock()
    real_sleep = ratelimit.sleep

    def counted_sleep(seconds: float) -> None:
        with lock:
            waited.append(seconds)
        real_sleep(seconds)

    ratelimit.sleep = counted_sleep
    ready = threading.Barrier(len(pks) + 1)
    go = threading.Event()

    def caller(pk: int) -> None:
        mine: Counter[str] = Counter()
        try:
            try:
                session = JiraConnection.objects.select_related("link").get(pk=pk).session()
            except Exception:
                ready.abort()  # a broken setup, not a finding: stop the run
                raise
            finally:
                db.close()  # no connection held while calling: only the 401 path needs one
            ready.wait()
            go.wait()
            with session:
                for _ in range(calls):
                    try:
                        mine[
                            str(session.get("rest/api/2/myself", timeout=CALL_TIMEOUT).status_code)
                        ] += 1
                    except Exception as err:
                        mine[type(err).__name__] += 1
                    finally:
                        db.close()
        except threading.BrokenBarrierError:
            mine["never started"] += calls
        with lock:
            outcomes.update(mine)

    threads = [threading.Thread(target=caller, args=(pk,)) for pk in pks]
    started = wait_for_go(threads, ready, go)
    for thread in threads:
        thread.join()
    print(
        json.dumps(
            {
                "outcomes": outcomes,
                "waits": len(waited),
                "waited": sum(waited),
                "short_waits": sum(1 for seconds in waited if seconds < ratelimit.MIN_WAIT),
                "seconds": time.perf_counter() - started,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
