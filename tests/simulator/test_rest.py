"""REST endpoints under `/rest/api/2` and `/rest/api/latest` (jira-dc-oauth.md §6, §7)."""

from __future__ import annotations

import pytest

from tests.simulator.flow import REDIRECT_URI, api, connect, refresh

UNAUTHENTICATED = {
    "message": "Client must be authenticated to access this resource.",
    "status-code": 401,
}
NOT_FOUND = {
    "errorMessages": ["Issue does not exist or you do not have permission to see it."],
    "errors": {},
}


@pytest.fixture
def token(sim, client) -> str:
    return connect(sim, client)["access_token"]


@pytest.mark.parametrize("version", ["2", "latest"])
def test_myself(sim, token, version):
    response = api(sim, "myself", token, version=version)
    assert response.status_code == 200
    assert response.headers["X-AUSERNAME"] == "alice"
    body = response.json()
    for field in ("self", "key", "name", "emailAddress", "displayName", "active", "timeZone"):
        assert field in body
    assert "locale" in body
    assert "avatarUrls" in body
    assert body["key"] == "JIRAUSER10000"
    assert body["name"] == "alice"
    assert body["displayName"] == "Alice Example"
    assert body["emailAddress"] == "alice@example.com"
    assert body["active"] is True
    assert "accountId" not in body
    assert "username" not in body
    assert body["groups"]["items"] == []


def test_myself_expand_groups(sim, token):
    body = api(sim, "myself", token, params={"expand": "groups"}).json()
    assert [g["name"] for g in body["groups"]["items"]] == ["jira-software-users"]


@pytest.mark.parametrize(
    ("style", "expected"), [("omit", None), ("empty", "")], ids=["omit", "empty"]
)
def test_hidden_email(jira_simulator_factory, style, expected):
    sim = jira_simulator_factory(hidden_email=style)
    sim.add_user("carol", display_name="Carol Private", email_visible=False)
    client = sim.register_client(redirect_uri=REDIRECT_URI)
    body = api(sim, "myself", connect(sim, client, user="carol")["access_token"]).json()
    assert body.get("emailAddress") == expected
    assert body["key"] == "JIRAUSER10002"
    assert body["displayName"] == "Carol Private"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic YWxpY2U6cHc="}],
    ids=["missing", "unknown", "basic"],
)
def test_unauthenticated_calls_get_jiras_401(sim, headers):
    response = api(sim, "myself", headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED
    assert response.headers["X-AUSERNAME"] == "anonymous"


@pytest.mark.parametrize("endpoint", ["project", "search", "issue/ACME-1", "project/ACME"])
def test_protected_endpoints_need_a_token(sim, endpoint):
    response = api(sim, endpoint)
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED


def test_rotated_token_is_rejected(sim, client):
    tokens = connect(sim, client)
    refresh(sim, client, tokens["refresh_token"])
    response = api(sim, "myself", tokens["access_token"])
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED
    assert response.headers["X-AUSERNAME"] == "anonymous"


def test_revoked_token_is_rejected(sim, client):
    tokens = connect(sim, client)
    assert sim.revoke(user="alice", client_id=client.client_id) == 1
    response = api(sim, "myself", tokens["access_token"])
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED
    assert refresh(sim, client, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_anonymous_fallback_switch(jira_simulator_factory):
    sim = jira_simulator_factory(anonymous_fallback=True)
    projects = api(sim, "project", "rejected-token")
    assert projects.status_code == 200
    assert projects.json() == []
    assert projects.headers["X-AUSERNAME"] == "anonymous"
    assert api(sim, "search").json()["total"] == 0
    assert api(sim, "issue/ACME-1").status_code == 404
    myself = api(sim, "myself", "rejected-token")
    assert myself.status_code == 401
    assert myself.json() == UNAUTHENTICATED


def test_server_info_is_anonymous(sim):
    response = api(sim, "serverInfo")
    assert response.status_code == 200
    assert response.headers["X-AUSERNAME"] == "anonymous"
    body = response.json()
    assert body["baseUrl"] == sim.base_url
    assert body["version"] == "10.3.0"
    assert body["versionNumbers"] == [10, 3, 0]
    assert body["deploymentType"] == "Server"
    assert body["serverTitle"] == "Simulated Jira"
    for field in ("buildNumber", "buildDate", "databaseBuildNumber", "serverTime", "scmInfo"):
        assert field in body


def test_server_info_with_a_token_names_the_user(sim, token):
    assert api(sim, "serverInfo", token).headers["X-AUSERNAME"] == "alice"


def test_server_info_identity_options(jira_simulator_factory):
    sim = jira_simulator_factory(
        server_title="Acme Jira",
        version="9.12.4",
        advertised_base_url="https://jira.acme.example/jira",
        context_path="/jira",
    )
    body = api(sim, "serverInfo").json()
    assert body["serverTitle"] == "Acme Jira"
    assert body["baseUrl"] == "https://jira.acme.example/jira"
    assert body["versionNumbers"] == [9, 12, 4]
    assert body["buildNumber"] == 912004


def test_projects(sim, token):
    projects = api(sim, "project", token).json()
    assert [p["key"] for p in projects] == ["ACME", "OPS", "MOB"]
    assert projects[0]["self"].startswith(sim.base_url)
    one = api(sim, "project/OPS", token).json()
    assert one["name"] == "Operations"
    assert one["lead"]["name"] == "bob"
    missing = api(sim, "project/NOPE", token)
    assert missing.status_code == 404
    assert missing.json()["errorMessages"]


def test_issue(sim, token):
    response = api(sim, "issue/ACME-1", token)
    assert response.status_code == 200
    issue = response.json()
    assert issue["key"] == "ACME-1"
    assert issue["self"] == f"{sim.base_url}/rest/api/2/issue/{issue['id']}"
    fields = issue["fields"]
    assert fields["summary"] == "Checkout fails when the basket contains a gift card"
    assert fields["status"]["name"] == "In Progress"
    assert fields["assignee"]["name"] == "alice"
    assert fields["priority"]["name"] == "High"
    assert fields["issuetype"]["name"] == "Bug"
    assert fields["project"]["key"] == "ACME"
    assert fields["updated"].endswith("+0000")
    assert api(sim, f"issue/{issue['id']}", token).json()["key"] == "ACME-1"


def test_issue_fields_parameter(sim, token):
    fields = api(sim, "issue/OPS-2", token, params={"fields": "summary,status"}).json()["fields"]
    assert set(fields) == {"summary", "status"}
    fields = api(sim, "issue/OPS-2", token, params={"fields": "*all,-description"}).json()["fields"]
    assert "description" not in fields
    assert "summary" in fields


@pytest.mark.parametrize("key", ["ACME-999", "NOPE-1", "x"])
def test_missing_issue_has_jiras_404_shape(sim, token, key):
    response = api(sim, f"issue/{key}", token)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_unknown_endpoint_is_404(sim, token):
    assert api(sim, "dashboard/whatever/else", token).status_code == 404


def test_wrong_method_is_405(sim, token):
    assert api(sim, "myself", token, method="DELETE").status_code == 405


# -- search -------------------------------------------------------------------------------------
def keys(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [issue["key"] for issue in response.json()["issues"]]


def test_search_shape(sim, token):
    body = api(sim, "search", token, params={"jql": "project = ACME"}).json()
    assert body["startAt"] == 0
    assert body["maxResults"] == 50
    assert body["total"] == 6
    issue = body["issues"][0]
    assert {"key", "id", "self", "fields"} <= set(issue)
    for field in ("summary", "status", "assignee", "updated", "priority", "issuetype", "project"):
        assert field in issue["fields"]


def test_empty_jql_returns_everything(sim, token):
    assert api(sim, "search", token).json()["total"] == 15


def test_current_user_and_order_by_updated(sim, client):
    alice = connect(sim, client, user="alice")["access_token"]
    bob = connect(sim, client, user="bob")["access_token"]
    jql = {"jql": "assignee = currentUser() ORDER BY updated DESC", "fields": "updated,assignee"}
    for token, name in ((alice, "alice"), (bob, "bob")):
        issues = api(sim, "search", token, params=jql).json()["issues"]
        assert len(issues) == 6
        assert {issue["fields"]["assignee"]["name"] for issue in issues} == {name}
        updated = [issue["fields"]["updated"] for issue in issues]
        assert updated == sorted(updated, reverse=True)


def test_search_post(sim, token):
    response = api(
        sim,
        "search",
        token,
        method="POST",
        json={"jql": "project = MOB ORDER BY key ASC", "maxResults": 2, "fields": ["summary"]},
    )
    assert keys(response) == ["MOB-1", "MOB-2"]
    body = response.json()
    assert body["total"] == 4
    assert set(body["issues"][0]["fields"]) == {"summary"}


def test_search_pagination(sim, token):
    jql = "ORDER BY key ASC"
    first = keys(api(sim, "search", token, params={"jql": jql, "maxResults": 5}))
    second = keys(api(sim, "search", token, params={"jql": jql, "startAt": 5, "maxResults": 5}))
    assert len(first) == len(second) == 5
    assert not set(first) & set(second)
    assert first[0] == "ACME-1"


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("project = OPS AND status = Done", ["OPS-4"]),
        ('project = "Mobile App" AND assignee is EMPTY', ["MOB-3"]),
        ("key in (ACME-2, OPS-1) ORDER BY key", ["ACME-2", "OPS-1"]),
        ("priority = Highest ORDER BY key", ["MOB-2", "OPS-1"]),
        ("summary ~ gift", ["ACME-1"]),
        ("project = ACME AND status != Done AND assignee = bob", ["ACME-2"]),
        ("(project = OPS OR project = MOB) AND issuetype = Story ORDER BY key", ["MOB-1", "MOB-4"]),
        ("project = acme and status in ('To Do') order by key asc", ["ACME-2", "ACME-4"]),
        ("assignee = JIRAUSER10001 AND project = MOB ORDER BY key", ["MOB-2", "MOB-4"]),
        ("project = OPS AND NOT status = Done ORDER BY priority DESC, key", ["OPS-1", "OPS-5", "OPS-2", "OPS-3"]),
    ],
)  # fmt: skip
def test_jql(sim, token, jql, expected):
    assert keys(api(sim, "search", token, params={"jql": jql})) == expected


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("assignee = nobody", "The value 'nobody' does not exist for the field 'assignee'."),
        ("colour = red", "Field 'colour' does not exist"),
        ("project = ", "Error in the JQL Query"),
        ("project = ACME ORDER BY colour", "Not able to sort"),
        ("assignee = somethingElse()", "Unable to find JQL function"),
    ],
)
def test_bad_jql_gets_jiras_400(sim, token, jql, message):
    response = api(sim, "search", token, params={"jql": jql})
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {}
    assert body["errorMessages"][0].startswith(message)


# -- writes -------------------------------------------------------------------------------------
NEW_ISSUE = {
    "fields": {
        "project": {"key": "OPS"},
        "summary": "Rotate the database password",
        "issuetype": {"name": "Task"},
        "assignee": {"name": "bob"},
    }
}


def test_create_issue_with_write_scope(sim, token):
    response = api(sim, "issue", token, method="POST", json=NEW_ISSUE)
    assert response.status_code == 201
    key = response.json()["key"]
    assert key == "OPS-6"
    issue = api(sim, f"issue/{key}", token).json()
    assert issue["fields"]["reporter"]["name"] == "alice"
    assert issue["fields"]["assignee"]["name"] == "bob"
    sim.reset()
    assert api(sim, f"issue/{key}", connect(sim, sim.clients[0])["access_token"]).status_code == 404


def test_create_issue_validation(sim, token):
    response = api(sim, "issue", token, method="POST", json={"fields": {"project": {"key": "X"}}})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"project", "summary", "issuetype"}


def test_read_scope_cannot_write(sim):
    client = sim.register_client(redirect_uri=REDIRECT_URI, scope="READ")
    token = connect(sim, client, scope="READ")["access_token"]
    assert api(sim, "issue/ACME-1", token).status_code == 200
    assert api(sim, "search", token, method="POST", json={}).status_code == 200
    response = api(sim, "issue", token, method="POST", json=NEW_ISSUE)
    assert response.status_code == 403
