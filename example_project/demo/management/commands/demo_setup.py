"""Seeds the demo: users with known passwords. Safe to run again."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

DEMO_USERS = [
    # username, password, is_staff
    ("alice", "alice", False),
    ("bob", "bob", False),
    ("admin", "admin", True),
]


class Command(BaseCommand):
    help = "Create the demo users (development only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "demo_setup creates users with known passwords: run it only with DEBUG on."
            )
        User = get_user_model()
        for username, password, is_staff in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_staff = user.is_superuser = is_staff
            user.save()
        self.stdout.write(
            self.style.SUCCESS("Demo ready: open http://127.0.0.1:8000/ and log in as")
        )
        for username, password, is_staff in DEMO_USERS:
            role = "staff (admin)" if is_staff else "user"
            self.stdout.write(f"  {username} / {password}   ({role})")
