"""One test per check id, plus: the defaults pass, and the checks are registered."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.checks import registry
from django.core.management import call_command
from django.test import override_settings

from jira_connect.checks import check_frameworks, check_settings

KEY = "JCPbd9U1xHhqaF1kqMqo6Rt0Zr2nEuu8S-hvAOTsB-Y="
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]


def ids(messages) -> list[str]:
    return [message.id for message in messages]


def test_checks_are_registered_by_the_app_config_with_their_tags() -> None:
    registered = {
        getattr(check, "__name__", ""): check.tags for check in registry.registry.get_checks()
    }
    assert {name: set(tags) for name, tags in registered.items() if name in EXPECTED_TAGS} == (
        EXPECTED_TAGS
    )


EXPECTED_TAGS = {
    "check_settings": {"security"},
    "check_debug_page": {"security"},
    "check_request_handling": set(),
    "check_frameworks": set(),
    "check_links": {"database"},
}


@override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [KEY]}, DEBUG=False)
def test_valid_configuration_passes_manage_py_check() -> None:
    assert check_settings() == []
    assert check_frameworks() == []
    call_command("check", stdout=StringIO())


@override_settings(JIRA_CONNECT="oops")
def test_e001_not_a_dict() -> None:
    assert ids(check_settings()) == ["jira_connect.E001"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("HTTP_TIMEOUT", "ten"),
        ("ENCRYPTION_KEYS", ["nope"]),
        ("TENANT_RESOLVER", "missing.module.func"),
        ("LINK_ACCESS_POLICY", "jira_connect.tenancy.missing"),
        ("ALLOW_HTTP", "no"),
    ],
)
def test_e002_invalid_value(key, value) -> None:
    with override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [KEY], key: value}):
        messages = check_settings()
    assert ids(messages) == ["jira_connect.E002"]
    assert f'JIRA_CONNECT["{key}"]' in messages[0].msg
    assert messages[0].hint


@override_settings(JIRA_CONNECT={}, DEBUG=False)
def test_e003_no_key_without_debug() -> None:
    messages = check_settings()
    assert ids(messages) == ["jira_connect.E003"]
    assert "Fernet.generate_key()" in (messages[0].hint or "")


@override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [KEY]}, MIDDLEWARE=MIDDLEWARE[1:])
def test_e004_sessions_missing() -> None:
    assert ids(check_frameworks()) == ["jira_connect.E004"]


@override_settings(MIDDLEWARE=MIDDLEWARE[:2])
def test_e005_messages_middleware_missing() -> None:
    assert ids(check_frameworks()) == ["jira_connect.E005"]


def test_e005_messages_app_missing(settings) -> None:
    settings.INSTALLED_APPS = [
        app
        for app in settings.INSTALLED_APPS
        if app not in ("django.contrib.messages", "django.contrib.admin")
    ]
    assert ids(check_frameworks()) == ["jira_connect.E005"]


def test_subclassed_middleware_counts() -> None:
    with override_settings(
        MIDDLEWARE=["tests.core.middleware.MySessionMiddleware", *MIDDLEWARE[1:]]
    ):
        assert check_frameworks() == []


@override_settings(JIRA_CONNECT={}, DEBUG=True)
def test_w001_derived_key_under_debug() -> None:
    assert ids(check_settings()) == ["jira_connect.W001"]


@override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [KEY], "STATE_TIL": 60})
def test_w002_unknown_key_suggests() -> None:
    messages = check_settings()
    assert ids(messages) == ["jira_connect.W002"]
    assert messages[0].hint == "Did you mean 'STATE_TTL'?"


@override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [KEY], "ALLOW_HTTP": True}, DEBUG=False)
def test_w003_http_in_production() -> None:
    assert ids(check_settings()) == ["jira_connect.W003"]


@override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [KEY], "ALLOW_HTTP": True}, DEBUG=True)
def test_w003_not_under_debug() -> None:
    assert check_settings() == []


@override_settings(
    JIRA_CONNECT={
        "ENCRYPTION_KEYS": [KEY],
        "CALLBACK_URL": "http://app.example.com/jira/callback/",
    },
    DEBUG=False,
)
def test_w004_plain_http_callback() -> None:
    assert ids(check_settings()) == ["jira_connect.W004"]


@override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [KEY, KEY]})
def test_w005_duplicate_keys() -> None:
    assert ids(check_settings()) == ["jira_connect.W005"]


@pytest.mark.django_db
def test_e006_http_link_while_not_allowed(link_factory) -> None:
    from jira_connect.checks import check_links

    link_factory(slug="plain", base_url="http://jira.example.com")
    link_factory(slug="inactive", base_url="http://old.example.com", is_active=False)
    with override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [KEY], "ALLOW_HTTP": False}):
        messages = check_links(databases=["default"])
        assert ids(messages) == ["jira_connect.E006"]
        assert "'plain'" in messages[0].msg
        assert check_links() == []  # not run without --database


@pytest.mark.django_db
def test_w006_link_without_tls_verification(link_factory) -> None:
    from jira_connect.checks import check_links

    link_factory(slug="lax", verify_tls=False)
    with override_settings(DEBUG=False):
        assert ids(check_links(databases=["default"])) == ["jira_connect.W006"]
    with override_settings(DEBUG=True):
        assert check_links(databases=["default"]) == []


@pytest.mark.django_db
def test_database_checks_run_with_check_database(link_factory) -> None:
    link_factory(slug="lax", verify_tls=False)
    out = StringIO()
    call_command("check", "--database", "default", stdout=out, stderr=out)
    assert "jira_connect.W006" in out.getvalue()


@pytest.mark.django_db
def test_database_checks_tolerate_an_unmigrated_database() -> None:
    """``migrate`` runs the database checks before it creates the tables."""
    from django.db import connection

    from jira_connect.checks import check_links

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE jira_connect_jiralink RENAME TO jira_connect_jiralink_away")
    try:
        assert check_links(databases=["default"]) == []
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE jira_connect_jiralink_away RENAME TO jira_connect_jiralink")


def test_i001_debug_page_without_the_filter(settings) -> None:
    from jira_connect.checks import check_debug_page

    settings.DEBUG = True
    assert check_debug_page() == []  # tests.settings uses the filter
    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = "django.views.debug.SafeExceptionReporterFilter"
    messages = check_debug_page()
    assert ids(messages) == ["jira_connect.I001"]
    assert "SensitiveExceptionReporterFilter" in (messages[0].hint or "")
    settings.DEBUG = False
    assert check_debug_page() == []


def test_w009_atomic_requests_only_matters_on_sqlite(monkeypatch) -> None:
    """Elsewhere a refresh commits on its own connection (tests/tokens/test_durability.py)."""
    from django.conf import settings

    from jira_connect.checks import check_request_handling

    assert check_request_handling() == []
    database = settings.DATABASES["default"]
    monkeypatch.setitem(database, "ATOMIC_REQUESTS", True)
    monkeypatch.setitem(database, "ENGINE", "django.db.backends.postgresql")
    assert check_request_handling() == []
    monkeypatch.setitem(database, "ENGINE", "django.db.backends.sqlite3")
    assert ids(check_request_handling()) == ["jira_connect.W009"]


@pytest.mark.django_db
def test_e007_secrets_no_key_decrypts(connection_factory) -> None:
    from cryptography.fernet import Fernet

    from jira_connect.checks import check_links

    connection_factory()
    connection_factory()
    assert check_links(databases=["default"]) == []
    with override_settings(JIRA_CONNECT={"ENCRYPTION_KEYS": [Fernet.generate_key().decode()]}):
        messages = check_links(databases=["default"])
    assert ids(messages) == ["jira_connect.E007", "jira_connect.E007"]
    assert messages[0].msg.startswith("2 stored secrets of Jira links")
    assert messages[1].msg.startswith("4 stored secrets of Jira connections")
    assert 'JIRA_CONNECT["ENCRYPTION_KEYS"]' in messages[0].msg


def test_w008_request_context_processor_missing(settings) -> None:
    from jira_connect.checks import check_request_handling

    engine = settings.TEMPLATES[0]
    processors = [p for p in engine["OPTIONS"]["context_processors"] if not p.endswith(".request")]
    settings.TEMPLATES = [
        {**engine, "OPTIONS": {**engine["OPTIONS"], "context_processors": processors}}
    ]
    assert ids(check_request_handling()) == ["jira_connect.W008"]
