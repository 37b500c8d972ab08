"""Secrets at rest: what the raw database holds, and what a wrong key does."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.db import connection as db
from django.test import override_settings

from jira_connect import crypto
from jira_connect.exceptions import JiraConnectConfigurationError, SecretDecryptionError
from jira_connect.fields import UnreadableSecret, require_readable
from jira_connect.models import JiraConnection, JiraLink
from tests.conftest import ACCESS_TOKEN, CLIENT_SECRET, REFRESH_TOKEN

pytestmark = pytest.mark.django_db

OTHER_KEY = Fernet.generate_key().decode()


def raw_row(model, pk):
    table = model._meta.db_table
    with db.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])  # noqa: S608
        columns = [col[0] for col in cursor.description]
        return dict(zip(columns, cursor.fetchone(), strict=True))


def write_raw(model, pk, column, value):
    table = model._meta.db_table
    with db.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, pk])  # noqa: S608


def test_raw_columns_hold_no_plaintext(connection_factory) -> None:
    connection = connection_factory()
    link_row = raw_row(JiraLink, connection.link.pk)
    connection_row = raw_row(JiraConnection, connection.pk)
    dump = repr(link_row) + repr(connection_row)
    for secret in (CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN):
        assert secret not in dump
    assert link_row["client_secret"].startswith("gAAAAA")  # a Fernet token
    assert connection_row["access_token"] != connection_row["refresh_token"]


def test_values_round_trip(connection_factory) -> None:
    connection = JiraConnection.objects.select_related("link").get(pk=connection_factory().pk)
    assert connection.access_token == ACCESS_TOKEN
    assert connection.refresh_token == REFRESH_TOKEN
    assert connection.link.client_secret == CLIENT_SECRET


def test_same_value_encrypts_differently(link_factory) -> None:
    first, second = link_factory(), link_factory()
    assert (
        raw_row(JiraLink, first.pk)["client_secret"]
        != raw_row(JiraLink, second.pk)["client_secret"]
    )


def test_empty_is_stored_as_null_and_read_as_empty(connection_factory) -> None:
    connection = connection_factory(refresh_token="")
    assert raw_row(JiraConnection, connection.pk)["refresh_token"] is None
    connection.refresh_from_db()
    assert connection.refresh_token == ""
    assert JiraConnection.objects.filter(refresh_token__isnull=True).count() == 1


def test_lookups_on_secrets_are_refused(connection_factory) -> None:
    connection_factory()
    with pytest.raises(FieldError):
        list(JiraConnection.objects.filter(access_token=ACCESS_TOKEN))
    with pytest.raises(FieldError):
        list(JiraLink.objects.filter(client_secret__startswith="c"))


def test_wrong_key_gives_a_clear_error(connection_factory) -> None:
    connection = connection_factory()
    with override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [OTHER_KEY]}):
        loaded = JiraConnection.objects.select_related("link").get(pk=connection.pk)
        assert loaded.access_token == ""  # unreadable: nothing can send it anywhere
        with pytest.raises(SecretDecryptionError) as info:
            loaded.session()
    message = str(info.value)
    assert 'JIRA_CONNECT["ENCRYPTION_KEYS"]' in message
    assert "gAAAAA" not in message
    assert ACCESS_TOKEN not in message


def test_old_keys_still_decrypt(connection_factory, settings) -> None:
    connection = connection_factory()
    old = settings.JIRA_CONNECT["ENCRYPTION_KEYS"][0]
    with override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [OTHER_KEY, old]}):
        assert JiraConnection.objects.get(pk=connection.pk).access_token == ACCESS_TOKEN


def test_no_key_without_debug_is_refused(link_factory) -> None:
    with (
        override_settings(JIRA_CONNECT={}, DEBUG=False),
        pytest.raises(JiraConnectConfigurationError) as info,
    ):
        link_factory()
    assert 'JIRA_CONNECT["ENCRYPTION_KEYS"]' in str(info.value)


def test_no_key_under_debug_derives_from_secret_key(link_factory, settings) -> None:
    with override_settings(JIRA_CONNECT={}, DEBUG=True):
        link = link_factory()
        assert JiraLink.objects.get(pk=link.pk).client_secret == CLIENT_SECRET
    stored = raw_row(JiraLink, link.pk)["client_secret"]
    assert (
        Fernet(crypto.derived_key(settings.SECRET_KEY)).decrypt(stored.encode()).decode()
        == CLIENT_SECRET
    )
    with override_settings(JIRA_CONNECT={}, DEBUG=True, SECRET_KEY="another"):
        assert isinstance(JiraLink.objects.get(pk=link.pk).client_secret, UnreadableSecret)


def test_key_is_independent_of_secret_key(link_factory) -> None:
    link = link_factory()
    with override_settings(SECRET_KEY="rotated-secret-key"):
        assert JiraLink.objects.get(pk=link.pk).client_secret == CLIENT_SECRET


def test_tampered_ciphertext_is_an_error_not_garbage(link_factory) -> None:
    link = link_factory()
    stored = raw_row(JiraLink, link.pk)["client_secret"]
    tampered = stored[:-6] + ("A" if stored[-6] != "A" else "B") + stored[-5:]
    for bad in (tampered, "plaintext!", "pläintext"):
        write_raw(JiraLink, link.pk, "client_secret", bad)
        secret = JiraLink.objects.get(pk=link.pk).client_secret
        assert isinstance(secret, UnreadableSecret)
        assert secret == ""
        with pytest.raises(SecretDecryptionError):
            require_readable(secret)
