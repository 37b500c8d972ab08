"""EncryptedTextField as a host project meets it, and what the encryption errors say."""

from __future__ import annotations

import json

import pytest
from django.core import serializers
from django.core.management import call_command
from django.test import override_settings

from jira_connect.exceptions import JiraConnectConfigurationError, SecretDecryptionError
from jira_connect.fields import EncryptedTextField, require_readable
from jira_connect.models import JiraConnection, JiraLink
from tests.core.test_encryption import OTHER_KEY, write_raw

pytestmark = pytest.mark.django_db


def test_a_declared_field_keeps_its_options_and_allows_null() -> None:
    field = EncryptedTextField("api key", blank=True, help_text="Stored encrypted.")
    assert field.verbose_name == "api key"
    assert field.blank
    assert field.help_text == "Stored encrypted."
    assert field.null  # empty values are stored as NULL


def test_deconstruct_leaves_null_out_and_rebuilds_the_same_field() -> None:
    field = EncryptedTextField("api key", blank=True)
    _, path, args, kwargs = field.deconstruct()
    assert path == "jira_connect.fields.EncryptedTextField"
    assert "null" not in kwargs
    rebuilt = EncryptedTextField(*args, **kwargs)
    assert (rebuilt.verbose_name, rebuilt.blank, rebuilt.null) == ("api key", True, True)


def test_the_models_need_no_new_migration() -> None:
    call_command("makemigrations", "jira_connect", "--check", "--dry-run", verbosity=0)


def test_an_empty_string_in_the_column_reads_as_empty(connection_factory) -> None:
    """E.g. written by hand in SQL: an empty column is no secret, not an undecryptable one."""
    connection = connection_factory()
    write_raw(JiraConnection, connection.pk, "refresh_token", "")
    assert JiraConnection.objects.get(pk=connection.pk).refresh_token == ""


def test_a_fixture_with_no_token_loads_as_no_token(link_factory, user_factory) -> None:
    link, user = link_factory(), user_factory()
    data = [
        {
            "model": "jira_connect.jiraconnection",
            "pk": 77,
            "fields": {
                "link": link.pk,
                "user": user.pk,
                "access_token": None,
                "scope": "WRITE",
                "created_at": "2026-01-05T09:00:00Z",
                "updated_at": "2026-01-05T09:00:00Z",
            },
        }
    ]
    [loaded] = serializers.deserialize("json", json.dumps(data))
    assert loaded.object.access_token == ""  # type: ignore[attr-defined]
    loaded.save()
    assert JiraConnection.objects.filter(pk=77, access_token__isnull=True).exists()


def test_the_error_without_keys_says_what_to_do(link_factory) -> None:
    with (
        override_settings(JIRA_CONNECT={}, DEBUG=False),
        pytest.raises(JiraConnectConfigurationError) as info,
    ):
        link_factory()
    assert str(info.value) == (
        'JIRA_CONNECT["ENCRYPTION_KEYS"] is empty. Add at least one Fernet key '
        "(Fernet.generate_key()); a key derived from SECRET_KEY is only used when DEBUG is on."
    )


def test_the_error_for_an_unreadable_secret_says_why(link_factory) -> None:
    link = link_factory()
    with override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [OTHER_KEY]}):
        secret = JiraLink.objects.get(pk=link.pk).client_secret  # loads: pages keep working
        with pytest.raises(SecretDecryptionError) as info:
            require_readable(secret)  # what using it does
    assert str(info.value) == (
        'A stored Jira secret cannot be decrypted with any key in JIRA_CONNECT["ENCRYPTION_KEYS"]. '
        "Was a key removed before `manage.py jira_connect_rotate_keys` had re-encrypted every "
        "secret?"
    )


def test_an_empty_column_reads_as_no_secret(link_factory) -> None:
    """A column holding '' rather than NULL (written by hand, or by another tool) is no secret,
    not an unreadable one."""
    from jira_connect.fields import is_unreadable

    link = link_factory()
    write_raw(JiraLink, link.pk, "client_secret", "")
    secret = JiraLink.objects.get(pk=link.pk).client_secret
    assert secret == ""
    assert not is_unreadable(secret)


def test_saving_a_row_with_an_unreadable_secret_keeps_the_secret(link_factory) -> None:
    """Staff edit another field of a link whose secret no key reads: the secret is written
    back as it was, so restoring the key makes it readable again."""
    from tests.core.test_encryption import raw_row

    link = link_factory()
    before = raw_row(JiraLink, link.pk)["client_secret"]
    with override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [OTHER_KEY]}):
        edited = JiraLink.objects.get(pk=link.pk)
        edited.name = "Renamed"
        edited.save()
        assert repr(edited.client_secret) == "<unreadable secret>"  # no ciphertext shown
    assert raw_row(JiraLink, link.pk)["client_secret"] == before
    assert JiraLink.objects.get(pk=link.pk).client_secret == link.client_secret
