"""What a host site's mypy sees of the public API: checked by the project's own mypy run
(``.ci/run``), never executed (pytest collects no ``test_`` names here).

django-stubs 6 needs a mypy ``python_version`` of 3.11 or later: with 3.10, every manager,
Django's own ``User.objects`` included, is ``Any``. This file fails the mypy run if
``JiraConnection.objects`` or its queryset methods lose their types again.
"""

from __future__ import annotations

from typing import assert_type

from django.contrib.auth.models import AbstractBaseUser, User

from jira_connect.asession import AsyncJiraSession
from jira_connect.models import JiraConnection, JiraConnectionQuerySet, JiraLink
from jira_connect.session import JiraSession


def host_site_code(user: AbstractBaseUser, link: JiraLink) -> None:
    assert_type(JiraConnection.objects.active(), JiraConnectionQuerySet)
    assert_type(JiraConnection.objects.due_for_refresh(within=60), JiraConnectionQuerySet)
    # Chained through Django's own methods, the queryset keeps its own methods.
    assert_type(JiraConnection.objects.filter(link=link).active(), JiraConnectionQuerySet)
    assert_type(JiraConnection.objects.active().first(), JiraConnection | None)
    connection = JiraConnection.objects.for_user(user, link)
    assert_type(connection, JiraConnection)
    assert_type(JiraConnection.objects.for_user(user, "acme"), JiraConnection)
    assert_type(connection.session(), JiraSession)
    assert_type(connection.link, JiraLink)
    assert_type(JiraLink.objects.get(slug="acme"), JiraLink)


async def async_host_site_code(user: User, link: JiraLink) -> None:
    connection = await JiraConnection.objects.aget(link=link, user=user)
    assert_type(connection, JiraConnection)
    assert_type(await connection.asession(), AsyncJiraSession)
