"""Manage links from scripts: create, update, list, deactivate.

The client secret never comes from an argument (it would land in shell
history and ``ps``): it is read from an environment variable
(``--secret-env NAME``) or from standard input (``--secret-stdin``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jira_connect.models import JiraLink


class Command(BaseCommand):
    help = "Create, update, list or deactivate Jira links (for scripted deployments)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        for name in ("create", "update"):
            sub = actions.add_parser(name, help=f"{name.title()} a link.")
            sub.add_argument("slug")
            required = name == "create"
            sub.add_argument("--name", required=required)
            sub.add_argument(
                "--base-url", required=required, help="Jira's base URL, with any context path."
            )
            sub.add_argument("--client-id", required=required)
            sub.add_argument("--scope", help="Jira scopes, e.g. WRITE (default WRITE).")
            sub.add_argument("--tenant", help="Tenant key (default: none).")
            state = sub.add_mutually_exclusive_group()
            state.add_argument("--inactive", action="store_true", help="Create or set it inactive.")
            state.add_argument("--active", action="store_true", help="Set it active (update).")
            sub.add_argument(
                "--verify-tls",
                action=argparse.BooleanOptionalAction,
                default=None,
                help="Verify Jira's TLS certificate (the default); --no-verify-tls only for testing.",
            )
            sub.add_argument(
                "--ca-bundle-file",
                metavar="PATH",
                help="PEM file of the private CA that signed Jira's certificate ('' to remove).",
            )
            secret = sub.add_mutually_exclusive_group(required=required)
            secret.add_argument(
                "--secret-env",
                metavar="NAME",
                help="Read the client secret from this environment variable.",
            )
            secret.add_argument(
                "--secret-stdin",
                action="store_true",
                help="Read the client secret from standard input.",
            )
        actions.add_parser("list", help="List the links.")
        deactivate = actions.add_parser(
            "deactivate", help="Deactivate a link (connections are kept)."
        )
        deactivate.add_argument("slug")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "list":
            self.list_links()
        elif action == "deactivate":
            link = self.get_link(options["slug"])
            link.is_active = False
            link.save(update_fields=["is_active", "updated_at"])
            self.stdout.write(self.style.SUCCESS(f"Deactivated {link.slug}."))
        else:
            self.save_link(action, options)

    def list_links(self) -> None:
        for link in JiraLink.objects.order_by("tenant", "slug"):
            state = "active" if link.is_active else "inactive"
            tenant = link.tenant or "-"
            self.stdout.write(
                f"{link.slug}\t{tenant}\t{state}\t{link.scope}\t{link.base_url}\t{link.name}"
            )

    def get_link(self, slug: str) -> JiraLink:
        link: JiraLink | None = JiraLink.objects.filter(slug=slug).first()
        if link is None:
            raise CommandError(f"No Jira link with the slug {slug!r}.")
        return link

    def read_secret(self, options: dict[str, Any]) -> str | None:
        if options.get("secret_env"):
            name = options["secret_env"]
            value = os.environ.get(name, "").strip()
            if not value:
                raise CommandError(f"The environment variable {name} is empty or not set.")
            return value
        if options.get("secret_stdin"):
            value = sys.stdin.readline().strip()
            if not value:
                raise CommandError("No client secret on standard input.")
            return value
        return None

    def save_link(self, action: str, options: dict[str, Any]) -> None:
        if action == "create":
            if JiraLink.objects.filter(slug=options["slug"]).exists():
                raise CommandError(f"A link with the slug {options['slug']!r} exists; use update.")
            link = JiraLink(slug=options["slug"], scope="WRITE")
        else:
            link = self.get_link(options["slug"])
        for option, attribute in (
            ("name", "name"),
            ("base_url", "base_url"),
            ("client_id", "client_id"),
            ("scope", "scope"),
            ("tenant", "tenant"),
        ):
            if options.get(option) is not None:
                setattr(link, attribute, options[option])
        if options["inactive"]:
            link.is_active = False
        elif options["active"] or action == "create":
            link.is_active = True
        if options["verify_tls"] is not None:
            link.verify_tls = options["verify_tls"]
        if options.get("ca_bundle_file") is not None:
            path = options["ca_bundle_file"]
            try:
                link.ca_bundle = Path(path).read_text() if path else ""
            except OSError as err:
                raise CommandError(f"Cannot read {path}: {err.strerror}.") from None
        secret = self.read_secret(options)
        if secret is not None:
            link.client_secret = secret
        try:
            link.full_clean()
        except ValidationError as err:
            problems = "; ".join(
                f"{field}: {' '.join(messages)}" for field, messages in err.message_dict.items()
            )
            raise CommandError(f"Not saved: {problems}") from None
        link.save()
        verb = "Created" if action == "create" else "Updated"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} {link.slug} ({link.base_url}, scope {link.scope}).")
        )
