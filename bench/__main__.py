"""``python -m bench [overhead|race|refresh|ratelimit|asession ...] [--quick]``: run the benchmarks.

Creates the PostgreSQL database ``jira_connect_bench_<pid>`` on the server in
BENCH_POSTGRES_URL (default ``postgres://postgres@127.0.0.1:5432/postgres``), migrates it, runs
the measurements, and drops it at the end, whatever happened. A run of all of them without
``--quick`` rewrites ``docs/benchmarks.md``.
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

MEASUREMENTS = ("overhead", "race", "refresh", "ratelimit", "asession")
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


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
        "PostgreSQL database (BENCH_POSTGRES_URL names the server).",
    )
    parser.add_argument(
        "measurements",
        nargs="*",
        metavar="{overhead,race,refresh,ratelimit,asession}",
        help="what to run (default: everything, and rewrite docs/benchmarks.md)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a fast smoke run (fewer rounds, 500 connections); docs/benchmarks.md is kept",
    )
    parser.add_argument(
        "--full-baseline",
        action="store_true",
        help="refresh: run the one-at-a-time baseline on all 10,000 connections, not a "
        "1,000-connection sample scaled up",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.measurements) - set(MEASUREMENTS))
    if unknown:
        parser.error(
            f"unknown measurement {', '.join(unknown)}: choose from {', '.join(MEASUREMENTS)}"
        )
    chosen = [name for name in MEASUREMENTS if name in args.measurements] or list(MEASUREMENTS)
    write = not args.quick and len(chosen) == len(MEASUREMENTS)
    signal.signal(signal.SIGTERM, _terminate)

    started, clock = datetime.now(timezone.utc), time.perf_counter()
    from bench.report import load_average

    load_at_start = load_average()
    server = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_SERVER)
    with throwaway_database(server) as database_url:
        os.environ["DATABASE_URL"] = database_url
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from bench import asession, overhead, race, ratelimit, refresh
        from bench.jira import SimulatedJira
        from bench.report import Machine, Result, write_document

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
        }
        results = []
        for name in chosen:
            print(f"-- {name}{' (quick)' if args.quick else ''} ...", flush=True)
            with SimulatedJira() as jira:
                options = {"full_baseline": args.full_baseline} if name == "refresh" else {}
                result = runners[name](jira, quick=args.quick, **options)
            print(result.text(), end="\n\n", flush=True)
            results.append(result)
        if write:
            machine = Machine.describe(postgresql)
            elapsed = time.perf_counter() - clock
            path = write_document(results, machine, started, elapsed, load_at_start)
            print(f"Wrote {path.relative_to(path.parents[1])}.")
        else:
            print("docs/benchmarks.md left as it was (only a full run without --quick writes it).")
    failed = [check.what for result in results for check in result.checks if not check.passed]
    if failed:
        print(f"Missed targets: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
