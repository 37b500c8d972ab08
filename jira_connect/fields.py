"""A model field that keeps its value encrypted in the database."""

from __future__ import annotations

from typing import Any

from django.db import models

from jira_connect import crypto


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Text stored as a Fernet token; read back as the plaintext ``str``.

    An empty value is stored as ``NULL`` (so "is a token present" stays a cheap
    ``isnull`` query) and read back as ``""``. Fernet tokens are randomised,
    so equality lookups could never match: every lookup but ``isnull`` is
    refused, which also keeps secrets out of admin filters and search.
    """

    description = "Text encrypted at rest"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["null"] = True
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("null", None)
        return name, path, args, kwargs

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return None
        return crypto.encrypt(str(value))

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str:
        if value is None or value == "":
            return ""
        return crypto.decrypt(value)

    def to_python(self, value: Any) -> str:
        if value is None:
            return ""
        return str(value)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)
