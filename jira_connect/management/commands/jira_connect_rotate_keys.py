from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jira_connect import crypto
from jira_connect.conf import key_name
from jira_connect.exceptions import JiraConnectConfigurationError
from jira_connect.rotation import rotate_encryption_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored Jira secret and token with the first key of "
        'JIRA_CONNECT["ENCRYPTION_KEYS"]. Safe to run again: values already under '
        "the first key are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Rows per transaction (default 500)."
        )
        parser.add_argument(
            "--from-secret-key",
            action="store_true",
            help="Also decrypt with the key derived from SECRET_KEY, which serves while DEBUG is on "
            "and no key is configured: use it once when moving a development database to real keys.",
        )

    def handle(self, *args: Any, batch_size: int, from_secret_key: bool, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        extra = (crypto.derived_key(settings.SECRET_KEY),) if from_secret_key else ()
        try:
            result = rotate_encryption_keys(
                batch_size=batch_size,
                extra_decryption_keys=extra,
                progress=(lambda line: self.stdout.write(line))
                if options["verbosity"] > 1
                else None,
            )
        except JiraConnectConfigurationError as err:
            raise CommandError(str(err)) from err
        summary = f"{result.checked} secrets checked, {result.rotated} re-encrypted, {result.failed} unreadable."
        if result.failed:
            raise CommandError(
                f"{summary} The unreadable ones were left as they are: add the key they were "
                f"encrypted with to {key_name('ENCRYPTION_KEYS')} (after the first) and run again."
            )
        self.stdout.write(self.style.SUCCESS(summary))
