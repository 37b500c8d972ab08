"""A key missing from ENCRYPTION_KEYS: pages keep working, nothing stored is lost.

The usual cause: a key rotation done in the wrong order (the old key removed
before ``jira_connect_rotate_keys`` ran). Every page that lists or shows the
rows must still answer, say what is wrong, and write nothing over the
secrets, so putting the key back makes everything work again.
"""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from jira_connect.exceptions import SecretDecryptionError
from jira_connect.models import JiraConnection, JiraLink
from tests.conftest import ACCESS_TOKEN, CLIENT_SECRET, REFRESH_TOKEN

pytestmark = pytest.mark.django_db

WRONG_KEYS = {"ENCRYPTION_KEYS": [Fernet.generate_key().decode()], "ALLOW_HTTP": True}


@pytest.fixture
def staff(admin_client):
    return admin_client


def test_pages_answer_and_say_what_is_wrong(connection_factory, staff, client) -> None:
    connection = connection_factory()
    client.force_login(connection.user)
    link_admin = f"/admin/jira_connect/jiralink/{connection.link.pk}/change/"
    connection_admin = f"/admin/jira_connect/jiraconnection/{connection.pk}/change/"
    with override_settings(JIRA_CONNECT=WRONG_KEYS):
        page = client.get("/jira/")
        assert page.status_code == 200
        assert "administrators must fix its Jira link" in page.content.decode()
        for url in (
            "/admin/jira_connect/jiralink/",
            "/admin/jira_connect/jiraconnection/",
            link_admin,
            connection_admin,
        ):
            response = staff.get(url)
            assert response.status_code == 200, url
            text = response.content.decode()
            assert "cannot be decrypted with any key in" in text, url
            assert "ENCRYPTION_KEYS" in text, url
    # Without the wrong keys, no warning.
    assert "cannot be decrypted" not in staff.get("/admin/jira_connect/jiralink/").content.decode()


def test_the_python_api_names_the_setting(connection_factory) -> None:
    connection = connection_factory()
    with override_settings(JIRA_CONNECT=WRONG_KEYS):
        loaded = JiraConnection.objects.select_related("link").get(pk=connection.pk)
        with pytest.raises(SecretDecryptionError, match=r"ENCRYPTION_KEYS"):
            loaded.session()
        with pytest.raises(SecretDecryptionError, match=r"ENCRYPTION_KEYS"):
            loaded.refresh()
        stored = JiraConnection.objects.get(pk=connection.pk)
    assert stored.last_failure_kind == JiraConnection.FailureKind.CONFIGURATION
    assert stored.status == JiraConnection.Status.ACTIVE  # a bad key is not the user's doing


def test_saving_rows_keeps_their_secrets(connection_factory, staff) -> None:
    """Saving a link or connection whose secrets cannot be read writes them back unchanged."""
    connection = connection_factory()
    with override_settings(JIRA_CONNECT=WRONG_KEYS):
        link = JiraLink.objects.get(pk=connection.link.pk)
        link.name = "Renamed while the key was missing"
        link.save()
        row = JiraConnection.objects.get(pk=connection.pk)
        row.jira_display_name = "Edited"
        row.save()
    link = JiraLink.objects.get(pk=connection.link.pk)
    row = JiraConnection.objects.get(pk=connection.pk)
    assert link.name == "Renamed while the key was missing"
    assert link.client_secret == CLIENT_SECRET
    assert (row.access_token, row.refresh_token) == (ACCESS_TOKEN, REFRESH_TOKEN)
