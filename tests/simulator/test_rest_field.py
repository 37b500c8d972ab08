"""`GET /rest/api/2/field`: the issue fields, as Jira DC lists them (jira's search_issues reads it)."""

from __future__ import annotations

import pytest

from tests.simulator.flow import api, connect


@pytest.mark.parametrize("version", ["2", "latest"])
def test_lists_every_issue_field(sim, client, version) -> None:
    token = connect(sim, client)["access_token"]
    response = api(sim, "field", token, version=version)
    assert response.status_code == 200
    assert response.headers["X-AUSERNAME"] == "alice"
    fields = {field["id"]: field for field in response.json()}
    issue = api(sim, "issue/ACME-1", token).json()
    assert set(fields) == set(issue["fields"])
    assert fields["summary"] == {
        "id": "summary",
        "name": "Summary",
        "custom": False,
        "orderable": True,
        "navigable": True,
        "searchable": True,
        "clauseNames": ["summary"],
        "schema": {"type": "string", "system": "summary"},
    }
    assert fields["issuetype"]["clauseNames"] == ["issuetype", "type"]
    assert fields["labels"]["schema"] == {"type": "array", "items": "string", "system": "labels"}


def test_needs_a_token(sim) -> None:
    assert api(sim, "field").status_code == 401


def test_is_read_only(sim, client) -> None:
    token = connect(sim, client)["access_token"]
    response = api(sim, "field", token, method="POST", json={})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
