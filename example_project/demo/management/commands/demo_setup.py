"""Seeds the demo: two tenants, their users and their Jira links. Safe to run again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from jira_connect.models import JiraLink, RefreshDay

DEMO_USERS = [
    # username, password, tenant, is_staff
    ("alice", "alice", "acme", False),
    ("bob", "bob", "globex", False),
    ("admin", "admin", "", True),
]


class Command(BaseCommand):
    help = "Create the demo tenants, users and Jira links (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--acme-url", default="", help="Base URL of Acme's simulated Jira.")
        parser.add_argument("--globex-url", default="", help="Base URL of Globex's simulated Jira.")
        parser.add_argument(
            "--site-url", default="http://127.0.0.1:8000", help="Where the demo runs."
        )
        parser.add_argument(
            "--sample-history",
            action="store_true",
            help="Fill the health page with 14 made-up days of refreshes, to show what it looks like.",
        )

    def handle(
        self,
        *args: Any,
        acme_url: str,
        globex_url: str,
        site_url: str,
        sample_history: bool = False,
        **options: Any,
    ) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "demo_setup creates users with known passwords: run it only with DEBUG on."
            )
        User = get_user_model()
        for username, password, tenant, is_staff in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_staff = user.is_superuser = is_staff
            user.save()
            user.groups.set([Group.objects.get_or_create(name=tenant)[0]] if tenant else [])
        for slug, name, tenant, url in (
            ("acme", "Acme Jira", "acme", acme_url),
            ("globex", "Globex Jira", "globex", globex_url),
        ):
            if not url:
                continue
            link = JiraLink.objects.filter(slug=slug).first() or JiraLink(slug=slug)
            link.name, link.tenant, link.base_url = name, tenant, url
            link.client_id = f"{slug}-demo-client"
            link.client_secret = f"{slug}-demo-secret"
            link.scope = "WRITE"
            link.is_active = True
            link.full_clean()
            link.save()
            if sample_history:
                self.sample_history(link, failing=slug == "globex")
        self.stdout.write(self.style.SUCCESS(f"Demo ready: open {site_url}/ and log in as"))
        for username, password, tenant, is_staff in DEMO_USERS:
            role = "staff: the admin at /admin/" if is_staff else f"a user of {tenant.title()}"
            self.stdout.write(f"  {username} / {password}   ({role})")
        self.stdout.write("On the simulated Jira's consent page, pick a Jira user and press Allow.")
        self.stdout.write(f"The same on a single-page app (JSON API only): {site_url}/spa/")

    def sample_history(self, link: JiraLink, *, failing: bool) -> None:
        """Made-up daily refresh counts: a steady link, or one whose Jira broke two days ago."""
        today = timezone.localdate()
        for back in range(14):
            refreshed = 40 + (back * 7) % 13
            failed = reauth = 0
            if failing and back <= 1:
                refreshed, failed, reauth = 3, 30 + back * 5, 4
            elif back % 5 == 3:
                failed = 2
            RefreshDay.objects.update_or_create(
                link=link,
                day=today - timedelta(days=back),
                defaults={"refreshed": refreshed, "failed": failed, "reauth": reauth},
            )
