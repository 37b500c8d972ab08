from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from jira_connect.validators import normalize_base_url, validate_base_url


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://jira.example.com", "https://jira.example.com"),
        ("https://jira.example.com/", "https://jira.example.com"),
        ("https://Jira.Example.COM/jira/", "https://jira.example.com/jira"),
        ("HTTPS://jira.example.com:8443/Jira//", "https://jira.example.com:8443/Jira"),
        ("  https://jira.example.com/tools/jira  ", "https://jira.example.com/tools/jira"),
    ],
)
def test_normalize_keeps_context_path(value, expected) -> None:
    assert normalize_base_url(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "https://jira.example.com",
        "https://jira.example.com/jira",
        "https://jira.example.com:8443/",
        "https://10.0.0.5/jira",
        "https://[::1]:8443",
        "https://localhost",
    ],
)
@override_settings(JIRA_CONNECT={"ALLOW_HTTP": False})
def test_valid(value) -> None:
    validate_base_url(value)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("jira.example.com", "invalid"),
        ("ftp://jira.example.com", "invalid"),
        ("https://", "invalid"),
        ("javascript:alert(1)", "invalid"),
        ("https://jira.example.com/?a=1", "query"),
        ("https://jira.example.com/jira?", "query"),
        ("https://jira.example.com/#top", "query"),
        ("https://user:pw@jira.example.com", "credentials"),
        ("https://jira.example.com:99999", "invalid"),
        ("https://jira_example.com", "invalid"),
        ("https://jira.example.com/secure/Dashboard.jspa", "page_url"),
        ("https://jira.example.com/jira/browse/ABC-1", "page_url"),
        ("https://jira.example.com/rest/api/2/myself", "page_url"),
        ("http://jira.example.com", "insecure"),
    ],
)
@override_settings(JIRA_CONNECT={"ALLOW_HTTP": False})
def test_invalid(value, code) -> None:
    with pytest.raises(ValidationError) as info:
        validate_base_url(value)
    assert info.value.code == code


def test_page_url_suggests_the_base() -> None:
    with pytest.raises(ValidationError) as info:
        validate_base_url("https://jira.example.com/jira/secure/Dashboard.jspa")
    assert "https://jira.example.com/jira" in info.value.messages[0]


def test_insecure_message_names_the_setting() -> None:
    with (
        override_settings(JIRA_CONNECT={"ALLOW_HTTP": False}),
        pytest.raises(ValidationError) as info,
    ):
        validate_base_url("http://jira.example.com")
    assert 'JIRA_CONNECT["ALLOW_HTTP"]' in info.value.messages[0]


@override_settings(JIRA_CONNECT={"ALLOW_HTTP": True})
def test_http_allowed_by_setting() -> None:
    validate_base_url("http://127.0.0.1:8111/jira")


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ("https://jira.example.com", True),
        ("https://JIRA.example.com", True),
        ("https://eu.corp.example", True),
        ("https://corp.example", True),
        ("https://evil.example.com", False),
        ("https://corp.example.evil.com", False),
        ("https://169.254.169.254", False),
    ],
)
def test_jira_hosts_allow_list(value, allowed) -> None:
    with override_settings(JIRA_CONNECT={"JIRA_HOSTS": ["jira.example.com", ".corp.example"]}):
        if allowed:
            validate_base_url(value)
        else:
            with pytest.raises(ValidationError) as info:
                validate_base_url(value)
            assert info.value.code == "host_not_allowed"


@pytest.mark.parametrize(
    ("value", "code", "params"),
    [
        ("https://acme.atlassian.net", "jira_cloud", {"host": "acme.atlassian.net"}),
        (
            "https://jira.example.com/browse/ABC-1",
            "page_url",
            {"base": "https://jira.example.com"},
        ),
        ("https://evil.example.com", "host_not_allowed", {"host": "evil.example.com"}),
    ],
)
def test_messages_carry_their_values_as_params(value, code, params) -> None:
    # params=, as Django's own validators do: a form or the admin can re-word the message
    # (error_messages) and still place the values.
    with (
        override_settings(JIRA_CONNECT={"JIRA_HOSTS": ["jira.example.com"]}),
        pytest.raises(ValidationError) as info,
    ):
        validate_base_url(value)
    assert info.value.code == code
    assert info.value.params is not None
    assert {name: info.value.params[name] for name in params} == params
    assert "%(" in str(info.value.message)
    assert "%(" not in info.value.messages[0]
