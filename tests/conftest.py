"""Factories for the suite, as callables with keyword overrides."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from jira_connect.models import JiraConnection, JiraLink

_sequence = itertools.count(1)

CLIENT_SECRET = "client-secret-7f3a9c2e5b"
ACCESS_TOKEN = "access-token-1b2c3d4e5f"
REFRESH_TOKEN = "refresh-token-9a8b7c6d5e"


def test_database_url() -> str:
    """``DATABASE_URL`` of the test database, for worker processes started by a test."""
    from django.db import connection

    settings = connection.settings_dict
    scheme = {"postgresql": "postgres", "mysql": "mysql"}[connection.vendor]
    return (
        f"{scheme}://{settings['USER']}:{settings['PASSWORD'] or ''}@{settings['HOST']}:"
        f"{settings['PORT']}/{settings['NAME']}"
    )


test_database_url.__test__ = False  # type: ignore[attr-defined]  # not a test for pytest


def skip_without_row_locks() -> None:
    """Skip the calling test on SQLite: racing processes, threads or runs (one refresh among
    them, a row held while others wait) need PostgreSQL's or MariaDB's row locks, which SQLite's
    whole-database lock does not model."""
    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("needs PostgreSQL's or MariaDB's row locks (set DATABASE_URL)")


def jira_connect_settings(**changes: Any) -> dict[str, Any]:
    """The test settings' ``JIRA_CONNECT`` with ``changes``, for ``override_settings``."""
    from django.conf import settings

    return {**settings.JIRA_CONNECT, **changes}


def link_form(link: JiraLink | None = None, **changes: Any) -> dict[str, Any]:
    """The admin's link form as a browser posts it: a new link's values, or ``link``'s own
    with the secret left blank (which keeps it); ``changes`` on top."""
    data: dict[str, Any] = {
        "name": "Acme Jira",
        "slug": "acme",
        "tenant": "",
        "base_url": "https://jira.acme.example/jira",
        "client_id": "client",
        "client_secret": "secret-value-1234",
        "scope": ["WRITE"],
        "is_active": "on",
        "verify_tls": "on",
        "ca_bundle": "",
    }
    if link is not None:
        data.update(
            name=link.name,
            slug=link.slug,
            tenant=link.tenant,
            base_url=link.base_url,
            client_id=link.client_id,
            client_secret="",
            scope=link.scope.split(),
            is_active="on" if link.is_active else "",
            verify_tls="on" if link.verify_tls else "",
            ca_bundle=link.ca_bundle,
        )
    data.update(changes)
    return data


@pytest.fixture
def user_factory(db: None) -> Callable[..., Any]:
    def make(**overrides: Any) -> Any:
        number = next(_sequence)
        values = {
            "username": f"user{number}",
            "email": f"user{number}@example.com",
            "password": "pw",
        }
        values.update(overrides)
        return get_user_model().objects.create_user(**values)

    return make


@pytest.fixture
def link_factory(db: None) -> Callable[..., JiraLink]:
    def make(**overrides: Any) -> JiraLink:
        number = next(_sequence)
        values: dict[str, Any] = {
            "name": f"Jira {number}",
            "slug": f"jira-{number}",
            "base_url": f"https://jira{number}.example.com/jira",
            "client_id": f"client-{number}",
            "client_secret": CLIENT_SECRET,
            "scope": "WRITE",
        }
        values.update(overrides)
        return JiraLink.objects.create(**values)

    return make


@pytest.fixture
def connection_factory(
    db: None, user_factory: Callable[..., Any], link_factory: Callable[..., JiraLink]
) -> Callable[..., JiraConnection]:
    def make(**overrides: Any) -> JiraConnection:
        values: dict[str, Any] = {
            "access_token": ACCESS_TOKEN,
            "refresh_token": REFRESH_TOKEN,
            "expires_at": timezone.now() + timedelta(hours=1),
            "scope": "WRITE",
            "jira_key": "JIRAUSER10000",
            "jira_name": "alice",
            "jira_display_name": "Alice Example",
            "jira_email": "alice@example.com",
        }
        values.update(overrides)
        if "user" not in values:
            values["user"] = user_factory()
        if "link" not in values:
            values["link"] = link_factory()
        return JiraConnection.objects.create(**values)

    return make
