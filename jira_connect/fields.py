"""A model field that keeps its value encrypted in the database."""

from __future__ import annotations

from typing import Any

from django.db import models

from jira_connect import crypto
from jira_connect.exceptions import JiraConnectConfigurationError

#: How ``dumpdata`` writes a secret: the stored ciphertext behind this prefix, never the plaintext.
#: ``loaddata`` stores it back as it is, so a dump restores on a site holding the same keys.
DUMPED_PREFIX = "jira_connect.fernet:"


class UnreadableSecret(str):
    """A stored secret that no configured key decrypts.

    It reads as ``""``, so nothing can send it to Jira, and it keeps the
    ciphertext, so saving the row writes the secret back unchanged: a key
    restored to ``ENCRYPTION_KEYS`` makes it readable again. Pages show the
    row as needing attention instead of failing.
    """

    ciphertext: str

    def __new__(cls, ciphertext: str) -> UnreadableSecret:
        secret = super().__new__(cls, "")
        secret.ciphertext = ciphertext
        return secret

    def __repr__(self) -> str:
        return "<unreadable secret>"

    def __reduce__(self) -> Any:
        return (UnreadableSecret, (self.ciphertext,))


def is_unreadable(value: object) -> bool:
    """Whether ``value`` is a stored secret that no configured key decrypts."""
    return isinstance(value, UnreadableSecret)


def require_readable(*values: str) -> None:
    """Raise ``SecretDecryptionError`` (naming ``ENCRYPTION_KEYS``) if a secret is unreadable."""
    if any(isinstance(value, UnreadableSecret) for value in values):
        raise crypto.decryption_error()


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
        if isinstance(value, UnreadableSecret):
            return value.ciphertext  # written back as it was: nothing stored is lost
        value = super().get_prep_value(value)
        if value is None or value == "":
            return None
        value = str(value)
        if value.startswith(DUMPED_PREFIX):
            return value.removeprefix(DUMPED_PREFIX)  # loaddata of our own dump: already encrypted
        return crypto.encrypt(value)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str:
        if value is None or value == "":
            return ""
        try:
            return crypto.decrypt(value)
        except JiraConnectConfigurationError:  # no key decrypts it, or no keys at all
            return UnreadableSecret(value)

    def value_from_object(self, obj: models.Model) -> Any:
        """The stored form, for serializers and forms: never the plaintext.

        ``dumpdata`` writes what this returns; a ``ModelForm`` shows it as
        initial data (the app's own forms never render a secret at all).
        """
        value = super().value_from_object(obj)
        if isinstance(value, UnreadableSecret):
            return DUMPED_PREFIX + value.ciphertext
        if value is None or value == "":
            return ""
        return DUMPED_PREFIX + crypto.encrypt(str(value))

    def to_python(self, value: Any) -> str:
        if value is None:
            return ""
        return str(value)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)
