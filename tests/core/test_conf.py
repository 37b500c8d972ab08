from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from jira_connect.conf import DEFAULTS, app_settings
from jira_connect.exceptions import JiraConnectConfigurationError
from jira_connect.tenancy import allow_active_users, no_tenant

KEY = "JCPbd9U1xHhqaF1kqMqo6Rt0Zr2nEuu8S-hvAOTsB-Y="


@override_settings(JIRA_CONNECT={})
def test_defaults() -> None:
    assert app_settings.ENCRYPTION_KEYS == ()
    assert app_settings.TENANT_RESOLVER is no_tenant
    assert app_settings.LINK_ACCESS_POLICY is allow_active_users
    assert app_settings.CALLBACK_URL == ""
    assert app_settings.HTTP_TIMEOUT == 10.0
    assert app_settings.REFRESH_LEEWAY == 60
    assert app_settings.STATE_TTL == 600
    assert app_settings.ALLOW_HTTP is False
    assert app_settings.JIRA_HOSTS == ()


def test_missing_setting_means_defaults(settings) -> None:
    del settings.JIRA_CONNECT
    assert DEFAULTS["STATE_TTL"] == app_settings.STATE_TTL


def test_read_live() -> None:
    with override_settings(JIRA_CONNECT={"STATE_TTL": 30}):
        assert app_settings.STATE_TTL == 30
    with override_settings(JIRA_CONNECT={"STATE_TTL": 45}):
        assert app_settings.STATE_TTL == 45


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, 5.0), (2.5, 2.5), ((3, 20), (3.0, 20.0)), ([1, 2], (1.0, 2.0))],
)
def test_timeout_forms(value, expected) -> None:
    with override_settings(JIRA_CONNECT={"HTTP_TIMEOUT": value}):
        assert expected == app_settings.HTTP_TIMEOUT


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("HTTP_TIMEOUT", 0),
        ("HTTP_TIMEOUT", -1),
        ("HTTP_TIMEOUT", "10"),
        ("HTTP_TIMEOUT", True),
        ("HTTP_TIMEOUT", (1, 2, 3)),
        ("HTTP_TIMEOUT", (1, 0)),
        ("REFRESH_LEEWAY", -5),
        ("REFRESH_LEEWAY", 1.5),
        ("STATE_TTL", 0),
        ("STATE_TTL", "600"),
        ("ALLOW_HTTP", "yes"),
        ("ALLOW_HTTP", 1),
        ("JIRA_HOSTS", "jira.example.com"),
        ("JIRA_HOSTS", [""]),
        ("JIRA_HOSTS", [42]),
        ("CALLBACK_URL", "/jira/callback/"),
        ("CALLBACK_URL", 42),
        ("ENCRYPTION_KEYS", KEY),
        ("ENCRYPTION_KEYS", ["not-a-key"]),
        ("ENCRYPTION_KEYS", [KEY, "short"]),
        ("ENCRYPTION_KEYS", 42),
        ("TENANT_RESOLVER", "no.such.module.resolver"),
        ("TENANT_RESOLVER", ""),
        ("LINK_ACCESS_POLICY", "jira_connect.conf.SETTING_NAME"),
        ("CONFIGURE_SESSION", "no.such.module.configure"),
        ("ASYNC_CLIENT_OPTIONS", "jira_connect.transport.USER_AGENT"),
        ("RATE_LIMIT_RETRIES", -1),
        ("RATE_LIMIT_RETRIES", 1.5),
        ("RATE_LIMIT_RETRIES", "3"),
        ("RATE_LIMIT_RETRIES", True),
        ("RATE_LIMIT_MAX_WAIT", 0),
        ("RATE_LIMIT_MAX_WAIT", 0.5),
        ("RATE_LIMIT_MAX_WAIT", "60"),
        ("RATE_LIMIT_MAX_WAIT", None),
        ("RATE_LIMIT_MAX_WAIT", False),
    ],
)
def test_invalid_values_name_the_key(key, value) -> None:
    with (
        override_settings(JIRA_CONNECT={key: value}),
        pytest.raises(JiraConnectConfigurationError) as info,
    ):
        getattr(app_settings, key)
    assert f'JIRA_CONNECT["{key}"]' in str(info.value)
    assert isinstance(info.value, ImproperlyConfigured)


def test_setting_must_be_a_dict() -> None:
    with (
        override_settings(JIRA_CONNECT=["ALLOW_HTTP"]),
        pytest.raises(JiraConnectConfigurationError, match="dict"),
    ):
        app_settings.ALLOW_HTTP  # noqa: B018


def test_encryption_keys_accept_str_and_bytes() -> None:
    with override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [KEY, KEY.encode()]}):
        assert (KEY.encode(), KEY.encode()) == app_settings.ENCRYPTION_KEYS


def test_dotted_paths_and_callables() -> None:
    def resolver(request):
        return "acme"

    with override_settings(JIRA_CONNECT={"TENANT_RESOLVER": resolver}):
        assert app_settings.TENANT_RESOLVER is resolver
    with override_settings(JIRA_CONNECT={"TENANT_RESOLVER": "jira_connect.tenancy.no_tenant"}):
        assert app_settings.TENANT_RESOLVER is no_tenant


def test_jira_hosts_are_lowercased() -> None:
    with override_settings(JIRA_CONNECT={"JIRA_HOSTS": ["Jira.Example.com", ".Corp.example"]}):
        assert app_settings.JIRA_HOSTS == ("jira.example.com", ".corp.example")


def test_unknown_keys() -> None:
    with override_settings(JIRA_CONNECT={"STATE_TTL": 5, "STATE_TIL": 5}):
        assert app_settings.unknown_keys() == ["STATE_TIL"]
