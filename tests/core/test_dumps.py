"""``dumpdata`` never writes a secret in plain text; ``loaddata`` of its output works (11b)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from jira_connect.models import JiraConnection, JiraLink
from tests.conftest import ACCESS_TOKEN, CLIENT_SECRET, REFRESH_TOKEN

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("format_", ["json", "xml", "jsonl"])
def test_dumps_hold_no_plaintext_and_load_back(connection_factory, tmp_path, format_) -> None:
    connection = connection_factory()
    out = StringIO()
    call_command("dumpdata", "jira_connect", "auth.user", format=format_, stdout=out)
    dump = out.getvalue()
    for secret in (CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN):
        assert secret not in dump
    assert "jira_connect.fernet:" in dump

    JiraConnection.objects.all().delete()
    JiraLink.objects.all().delete()
    fixture = tmp_path / f"dump.{format_}"
    fixture.write_text(dump)
    call_command("loaddata", str(fixture), verbosity=0)

    loaded = JiraConnection.objects.select_related("link").get(pk=connection.pk)
    assert loaded.link.client_secret == CLIENT_SECRET
    assert (loaded.access_token, loaded.refresh_token) == (ACCESS_TOKEN, REFRESH_TOKEN)


def test_empty_secrets_stay_empty(connection_factory) -> None:
    connection = connection_factory(access_token="", refresh_token="")
    out = StringIO()
    call_command("dumpdata", "jira_connect.jiraconnection", stdout=out)
    (row,) = json.loads(out.getvalue())
    assert (row["fields"]["access_token"], row["fields"]["refresh_token"]) == ("", "")
    assert row["pk"] == connection.pk


def test_a_secret_no_key_reads_is_dumped_as_stored_and_loads_back(link_factory, tmp_path) -> None:
    """A key removed too early: the dump still works, holds the stored ciphertext, and loading
    it back (with the key restored) gives the secret."""
    from django.test import override_settings

    from tests.core.test_encryption import OTHER_KEY, raw_row

    link = link_factory()
    stored = raw_row(JiraLink, link.pk)["client_secret"]
    out = StringIO()
    with override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [OTHER_KEY]}):
        call_command("dumpdata", "jira_connect.jiralink", format="json", stdout=out)
    [record] = json.loads(out.getvalue())
    assert record["fields"]["client_secret"] == f"jira_connect.fernet:{stored}"
    JiraLink.objects.all().delete()
    fixture = tmp_path / "dump.json"
    fixture.write_text(out.getvalue())
    call_command("loaddata", str(fixture), verbosity=0)
    assert JiraLink.objects.get(pk=link.pk).client_secret == CLIENT_SECRET
