from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.test import override_settings

from jira_connect import crypto
from jira_connect.models import JiraConnection, JiraLink
from tests.conftest import ACCESS_TOKEN, CLIENT_SECRET, REFRESH_TOKEN
from tests.core.test_encryption import raw_row

pytestmark = pytest.mark.django_db

NEW_KEY = Fernet.generate_key().decode()


def rotate(**options) -> str:
    out = StringIO()
    call_command("jira_connect_rotate_keys", stdout=out, **options)
    return out.getvalue()


def test_rotation_re_encrypts_everything_with_the_first_key(connection_factory, settings) -> None:
    old = settings.JIRA_CONNECT["ENCRYPTION_KEYS"][0]
    connections = [connection_factory() for _ in range(7)]
    connection_factory(refresh_token="")  # an empty value stays empty
    with override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [NEW_KEY, old]}):
        output = rotate(batch_size=3)
        assert "re-encrypted" in output
        assert "23 secrets checked, 23 re-encrypted, 0 unreadable" in output
    # Readable with the new key alone, and nothing but the new key opens the raw values.
    with override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [NEW_KEY]}):
        for connection in connections:
            fresh = JiraConnection.objects.select_related("link").get(pk=connection.pk)
            assert fresh.access_token == ACCESS_TOKEN
            assert fresh.refresh_token == REFRESH_TOKEN
            assert fresh.link.client_secret == CLIENT_SECRET
            row = raw_row(JiraConnection, connection.pk)
            assert Fernet(NEW_KEY).decrypt(row["access_token"].encode()).decode() == ACCESS_TOKEN
        assert JiraConnection.objects.filter(refresh_token__isnull=True).count() == 1


def test_rotation_is_safely_re_runnable(connection_factory, settings) -> None:
    old = settings.JIRA_CONNECT["ENCRYPTION_KEYS"][0]
    connection_factory()
    with override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [NEW_KEY, old]}):
        assert "3 re-encrypted" in rotate()
        before = raw_row(JiraConnection, JiraConnection.objects.get().pk)
        assert "3 secrets checked, 0 re-encrypted" in rotate()
        assert raw_row(JiraConnection, JiraConnection.objects.get().pk) == before


def test_unreadable_values_are_reported_and_left_alone(connection_factory, settings) -> None:
    connection = connection_factory()
    with override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [NEW_KEY]}):
        before = raw_row(JiraConnection, connection.pk)
        with pytest.raises(CommandError) as info:
            rotate()
        assert "3 unreadable" in str(info.value)
        assert 'JIRA_CONNECT["ENCRYPTION_KEYS"]' in str(info.value)
        assert raw_row(JiraConnection, connection.pk) == before


def test_from_secret_key_moves_a_development_database(link_factory, settings) -> None:
    with override_settings(JIRA_CONNECT={}, DEBUG=True):
        link = link_factory()
    with override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [NEW_KEY]}):
        with pytest.raises(CommandError):
            rotate()
        assert "1 re-encrypted" in rotate(from_secret_key=True)
        assert JiraLink.objects.get(pk=link.pk).client_secret == CLIENT_SECRET


def test_without_keys_the_command_explains(link_factory) -> None:
    with (
        override_settings(JIRA_CONNECT={}, DEBUG=False),
        pytest.raises(CommandError, match="ENCRYPTION_KEYS"),
    ):
        rotate()


def test_bad_batch_size() -> None:
    with pytest.raises(CommandError, match="batch-size"):
        rotate(batch_size=0)


def test_verbose_progress(link_factory) -> None:
    link_factory()
    assert "Jira links:" in rotate(verbosity=2)


def test_primary_key_is_first(settings) -> None:
    with override_settings(
        JIRA_CONNECT={"ENCRYPTION_KEYS": [NEW_KEY, settings.JIRA_CONNECT["ENCRYPTION_KEYS"][0]]}
    ):
        token = crypto.encrypt("x")
        assert Fernet(NEW_KEY).decrypt(token.encode()) == b"x"
