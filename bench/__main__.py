"""``python -m bench [overhead|race|refresh|ratelimit|asession|arefresh|growth ...] [--quick]``: run the
benchmarks.

Starts a throw-away PostgreSQL server (``bench.cluster``: the 256-caller race needs more
connections than a shared server allows), or uses the server in BENCH_POSTGRES_URL when it is
set; creates the database ``jira_connect_bench_<pid>`` there, migrates it, runs the
measurements, and drops it (and the throw-away server) at the end, whatever happened. A full
(not ``--quick``) run keeps each result in ``bench/results/`` and rewrites ``docs/benchmarks.md``
from the latest result of every measurement. Exits with status 1 when a target is missed (in a
``--quick`` run, only a target that holds at any size: counts, memory, correctness).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

MEASUREMENTS = ("overhead", "race", "refresh", "ratelimit", "asession", "arefresh", "growth")
#: What ``python -m bench`` runs when no measurement is named; growth (minutes) only by name.
DEFAULT = ("overhead", "race", "refresh", "ratelimit", "asession", "arefresh")


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """Create a database for this run on ``server_url``'s server; yield its URL; drop it."""
    import psycopg
    from psycopg import sql

    name = f"jira_connect_bench_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        from django.db import connections

        with contextlib.suppress(Exception):  # Django may never have been set up
            connections.close_all()
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: the database is dropped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure django-jira-connect against DESIGN §5's targets on a throw-away "
        "PostgreSQL server (or on the server BENCH_POSTGRES_URL names).",
    )
    parser.add_argument(
        "measurements",
        nargs="*",
        metavar="{overhead,race,refresh,ratelimit,asession,arefresh,growth}",
        help="what to run (default: all but growth, which takes many minutes and runs only "
        "when named)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a fast smoke run (fewer rounds and runs, smaller sizes): nothing is kept and "
        "docs/benchmarks.md is left alone",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.measurements) - set(MEASUREMENTS))
    if unknown:
        parser.error(
            f"unknown measurement {', '.join(unknown)}: choose from {', '.join(MEASUREMENTS)}"
        )
    chosen = [name for name in MEASUREMENTS if name in args.measurements] or list(DEFAULT)
    if args.quick and not args.measurements:
        chosen = list(MEASUREMENTS)  # the quick growth is small
    signal.signal(signal.SIGTERM, _terminate)

    from bench.cluster import throwaway_cluster
    from bench.report import load_average

    shared = os.environ.get("BENCH_POSTGRES_URL", "")
    with (
        contextlib.nullcontext(shared) if shared else throwaway_cluster() as server,
        throwaway_database(server) as database_url,
    ):
        os.environ["DATABASE_URL"] = database_url
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from bench import arefresh, asession, overhead, race, ratelimit, refresh
        from bench.jira import SimulatedJira
        from bench.report import Machine, Result, save, write_document

        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            postgresql = cursor.fetchone()[0].split()[0]
        runners: dict[str, Callable[..., Result]] = {
            "overhead": overhead.run,
            "race": race.run,
            "refresh": refresh.run,
            "ratelimit": ratelimit.run,
            "asession": asession.run,
            "arefresh": arefresh.run,
            "growth": refresh.run_growth,
        }
        where = "the server in BENCH_POSTGRES_URL" if shared else "a throw-away server"
        results = []
        for name in chosen:
            print(f"-- {name}{' (quick)' if args.quick else ''} ...", flush=True)
            started, clock, load_at_start = (
                datetime.now(timezone.utc),
                time.perf_counter(),
                load_average(),
            )
            with SimulatedJira() as jira:
                result = runners[name](jira, quick=args.quick)
            result.measured = (
                f"{started:%Y-%m-%d %H:%M} UTC, {time.perf_counter() - clock:.0f} s, load "
                f"average {load_at_start} at its start and {load_average()} at its end"
            )
            print(result.text(), end="\n\n", flush=True)
            results.append(result)
            if not args.quick:
                save(result, Machine.describe(f"{postgresql} ({where})"))
        if args.quick:
            print("Quick run: nothing kept, docs/benchmarks.md left as it was.")
        else:
            path = write_document(MEASUREMENTS)
            print(f"Kept in bench/results/; wrote {path.relative_to(path.parents[1])}.")
    missed = [check for result in results for check in result.checks if not check.passed]
    if missed:
        print(f"Missed targets: {'; '.join(check.what for check in missed)}", file=sys.stderr)
    if args.quick:
        # A smoke run's sizes are too small to judge speed: only what must hold at any size.
        missed = [check for check in missed if not check.timing]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
