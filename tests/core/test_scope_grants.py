"""Scopes as staff and users meet them: grants of several scopes, the default, the texts shown."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from jira_connect import scopes
from jira_connect.forms import ScopeField
from jira_connect.models import JiraConnection, JiraLink

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("granted", "required"),
    [
        ("READ_ALL WRITE", "READ_ALL"),
        ("READ_ALL WRITE", "WRITE"),
        ("WRITE READ_ALL", "READ READ_ALL"),
        ("ADMIN MANAGE_SUBSCRIPTIONS", "READ_ALL WRITE"),
        ("READ READ_ALL", "READ"),
    ],
)
def test_a_grant_of_several_scopes_covers_each_of_them(granted, required) -> None:
    assert scopes.covers(granted, required)


def test_a_grant_of_several_scopes_covers_no_more_than_they_include() -> None:
    assert not scopes.covers("READ READ_ALL", "WRITE")


def test_a_connection_granted_several_scopes_is_not_asked_to_reconnect(
    connection_factory, link_factory
) -> None:
    link = link_factory(scope="WRITE READ_ALL")
    connection = connection_factory(link=link, scope="WRITE READ_ALL")
    assert not connection.needs_wider_grant
    # Staff narrow the link to one of the granted scopes: nobody must reconnect for it.
    for narrower in ("WRITE", "READ_ALL"):
        link.scope = narrower
        link.save()
        stored = JiraConnection.objects.select_related("link").get()
        assert stored.status == JiraConnection.Status.ACTIVE
        assert not stored.needs_wider_grant


def test_a_new_link_asks_for_write() -> None:
    link = JiraLink(name="Acme", slug="acme", base_url="https://jira.example.com")
    assert link.scope == "WRITE"


def test_a_valid_scope_passes_model_validation(link_factory) -> None:
    link = link_factory(scope="read write")
    link.full_clean()
    link.scope = "DELETE"
    with pytest.raises(ValidationError) as info:
        link.full_clean()
    assert "scope" in info.value.message_dict


@pytest.mark.parametrize("value", ["openid", "email", "profile", "OpenID", "WRITE Email"])
def test_cloud_identity_scopes_are_explained(value) -> None:
    with pytest.raises(ValidationError) as info:
        scopes.parse(value)
    word = next(token for token in value.split() if token.upper() != "WRITE")
    assert info.value.code == "cloud_scope"
    assert info.value.messages == [
        f"“{word}” is a Jira Cloud scope; Jira Data Center rejects it. "
        "Use one of READ, WRITE, ADMIN or SYSTEM_ADMIN."
    ]


def test_the_messages_of_a_refused_scope() -> None:
    expected = {
        "": "Choose at least one Jira scope, e.g. WRITE.",
        "offline_access": "“offline_access” is not needed on Jira Data Center: it always "
        "returns a refresh token. Remove it.",
        "DELETE": "“DELETE” is not a Jira Data Center scope. Choose from READ, WRITE, ADMIN, "
        "SYSTEM_ADMIN, READ_ALL, MANAGE_SUBSCRIPTIONS.",
    }
    for value, message in expected.items():
        with pytest.raises(ValidationError) as info:
            scopes.parse(value)
        assert info.value.messages == [message], value


def test_the_admin_explains_each_scope() -> None:
    labels = {name: str(label) for name, label in ScopeField().choices}  # type: ignore[union-attr, misc]
    assert labels == {
        "READ": "<strong>READ</strong>: View projects and issues, their related items, "
        "and your own profile.",
        "WRITE": "<strong>WRITE</strong>: Create, update and delete projects and issues; "
        "change your profile. <em>(includes READ)</em>",
        "ADMIN": "<strong>ADMIN</strong>: Most administration functions, but not backups, "
        "imports or infrastructure. <em>(includes READ, WRITE)</em>",
        "SYSTEM_ADMIN": "<strong>SYSTEM_ADMIN</strong>: All administration functions. "
        "<em>(includes READ, WRITE, ADMIN)</em>",
        "READ_ALL": "<strong>READ_ALL</strong>: Read all content, users, groups and "
        "permissions, ignoring permissions (service use). <em>(Jira 10.3 and later)</em>",
        "MANAGE_SUBSCRIPTIONS": "<strong>MANAGE_SUBSCRIPTIONS</strong>: Manage subscriptions "
        "for incremental-sync services, plus everything READ_ALL allows. "
        "<em>(includes READ_ALL; Jira 10.3 and later)</em>",
    }
