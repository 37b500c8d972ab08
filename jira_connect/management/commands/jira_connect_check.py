from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jira_connect.linkcheck import check_link
from jira_connect.models import JiraLink

_MARKS = {True: "ok  ", False: "FAIL", None: "note"}


class Command(BaseCommand):
    help = (
        "Test every active Jira link (or one): Jira reachable at the base URL, its version, "
        "whether it accepts the client ID and secret. Exits with status 1 when a link is broken."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--link", default="", help="Only the link with this slug (active or not)."
        )

    def handle(self, *args: Any, link: str, **options: Any) -> None:
        if link:
            links = list(JiraLink.objects.filter(slug=link))
            if not links:
                raise CommandError(f"No Jira link with the slug {link!r}.")
        else:
            links = list(JiraLink.objects.filter(is_active=True))
            if not links:
                self.stdout.write("No active Jira links to check.")
                return
        broken = 0
        for item in links:
            report = check_link(item)
            style = self.style.SUCCESS if report.ok else self.style.ERROR
            self.stdout.write(style(f"{item.slug}: {report.summary()}"))
            for step in report.steps:
                self.stdout.write(f"  [{_MARKS[step.ok]}] {step.title}")
                if step.detail:
                    self.stdout.write(f"         {step.detail}")
            broken += not report.ok
        self.stdout.write(f"{len(links)} checked, {broken} broken.")
        if broken:
            raise CommandError(f"{broken} of {len(links)} Jira links are broken.", returncode=1)
