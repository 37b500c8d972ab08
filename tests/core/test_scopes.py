from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from jira_connect import scopes


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("WRITE", "WRITE"),
        ("write", "WRITE"),
        ("READ WRITE", "WRITE"),
        ("READ,WRITE", "WRITE"),
        ("  READ\tADMIN ", "ADMIN"),
        ("SYSTEM_ADMIN READ WRITE ADMIN", "SYSTEM_ADMIN"),
        ("READ", "READ"),
        ("READ_ALL MANAGE_SUBSCRIPTIONS", "MANAGE_SUBSCRIPTIONS"),
        ("READ_ALL WRITE", "WRITE READ_ALL"),
        ("WRITE WRITE", "WRITE"),
    ],
)
def test_normalize(value, expected) -> None:
    assert scopes.normalize(value) == expected


@pytest.mark.parametrize(
    "value", ["read:jira-work", "read:jira-user write:jira-work", "WRITE manage:jira-project"]
)
def test_cloud_scopes_are_refused_with_the_reason(value) -> None:
    with pytest.raises(ValidationError) as info:
        scopes.parse(value)
    assert info.value.code == "cloud_scope"
    assert "Jira Cloud scope" in info.value.messages[0]
    assert "Data Center" in info.value.messages[0]


def test_offline_access_is_explained() -> None:
    with pytest.raises(ValidationError) as info:
        scopes.parse("WRITE offline_access")
    assert "always returns a refresh token" in info.value.messages[0]


def test_unknown_scope() -> None:
    with pytest.raises(ValidationError) as info:
        scopes.parse("DELETE")
    assert info.value.code == "unknown_scope"
    assert "READ, WRITE, ADMIN, SYSTEM_ADMIN" in info.value.messages[0]


@pytest.mark.parametrize("value", ["", "   ", ","])
def test_empty_scope(value) -> None:
    with pytest.raises(ValidationError) as info:
        scopes.parse(value)
    assert info.value.code == "empty"


@pytest.mark.parametrize(
    ("granted", "required", "expected"),
    [
        ("WRITE", "READ", True),
        ("WRITE", "WRITE", True),
        ("READ", "WRITE", False),
        ("SYSTEM_ADMIN", "READ WRITE ADMIN", True),
        ("ADMIN", "SYSTEM_ADMIN", False),
        ("SYSTEM_ADMIN", "READ_ALL", False),
        ("MANAGE_SUBSCRIPTIONS", "READ_ALL", True),
    ],
)
def test_covers(granted, required, expected) -> None:
    assert scopes.covers(granted, required) is expected
