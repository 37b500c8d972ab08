from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jira_connect import refresher
from jira_connect.models import JiraLink


class Command(BaseCommand):
    help = (
        "Refresh the Jira tokens that expire soon, and those of idle users before their refresh "
        "token runs out. Safe to run on several machines at once. Exits with status 1 when a "
        "refresh failed for a reason that may pass (Jira down)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--within",
            type=int,
            default=refresher.DEFAULT_WITHIN,
            help=f"Refresh access tokens expiring within this many seconds (default {refresher.DEFAULT_WITHIN}).",
        )
        parser.add_argument(
            "--idle-days",
            type=int,
            default=refresher.DEFAULT_IDLE_DAYS,
            help="Also refresh connections not refreshed for this many days, so their refresh "
            f"token does not expire (default {refresher.DEFAULT_IDLE_DAYS}; 0 turns it off).",
        )
        parser.add_argument("--link", default="", help="Only this link (its slug).")
        parser.add_argument("--tenant", default=None, help="Only links of this tenant.")
        parser.add_argument(
            "--workers",
            type=_workers,
            default="auto",
            help="Refreshes at once, or 'auto' (the default): "
            f"{refresher.WORKERS_PER_CPU} per CPU, at most {refresher.MAX_AUTO_WORKERS}.",
        )
        parser.add_argument(
            "--async",
            dest="use_async",
            action="store_true",
            help="Run the refreshes as coroutines on one event loop (--workers of them at once), "
            "their calls to Jira over httpx: needs django-jira-connect[async].",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only count what is due.")

    def handle(self, *args: Any, **options: Any) -> None:
        within, idle_days, workers = options["within"], options["idle_days"], options["workers"]
        if workers == "auto":
            workers = refresher.auto_workers()
        if within < 0 or idle_days < 0:
            raise CommandError("--within and --idle-days must be 0 or more.")
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        if options["use_async"]:
            try:
                from jira_connect.arefresher import refresh_due_async
            except ImportError as err:
                raise CommandError(
                    f"--async needs httpx: pip install 'django-jira-connect[async]' ({err})."
                ) from None
        if options["link"] and not JiraLink.objects.filter(slug=options["link"]).exists():
            raise CommandError(f"No Jira link with the slug {options['link']!r}.")
        pks = refresher.due_connections(
            within=within,
            idle_days=idle_days or None,
            link=options["link"],
            tenant=options["tenant"],
        )
        if options["dry_run"]:
            self.stdout.write(
                f"{len(pks)} connections are due for a refresh (dry run: nothing done)."
            )
            return
        interactive = self.stdout.isatty() and options["verbosity"] > 0

        def progress(summary: refresher.RefreshSummary) -> None:
            done = (
                summary.refreshed
                + summary.fresh
                + summary.reauth_required
                + summary.failed
                + summary.misconfigured
            )
            if interactive and (done == summary.total or done % 25 == 0):
                width = 30
                filled = width * done // max(summary.total, 1)
                self.stdout.write(
                    f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{summary.total}", ending=""
                )
                self.stdout.flush()

        if options["use_async"]:
            summary = refresh_due_async(
                pks,
                concurrency=workers,
                within=within,
                idle_days=idle_days or None,
                progress=progress,
            )
        else:
            summary = refresher.refresh_due(
                pks, workers=workers, within=within, idle_days=idle_days or None, progress=progress
            )
        if interactive and pks:
            self.stdout.write("")
        problems = summary.failed or summary.misconfigured
        style = self.style.ERROR if problems else self.style.SUCCESS
        self.stdout.write(style(str(summary)))
        # CommandError, not sys.exit: manage.py exits with the returncode, and a caller of
        # call_command() gets an exception it can catch rather than a SystemExit.
        if summary.misconfigured:
            raise CommandError(
                "A link or the site's settings are wrong: fix them (running again cannot help).",
                returncode=2,
            )
        if summary.failed:
            raise CommandError(
                "Jira could not be asked for some refreshes: run again later.", returncode=1
            )


def _workers(value: str) -> int | str:
    """``--workers``: a whole number, or ``auto``."""
    if value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number or 'auto', not {value!r}") from None
