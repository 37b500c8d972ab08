from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.utils import timezone

from jira_connect.exceptions import LinkAccessDenied
from jira_connect.models import JiraConnection, JiraLink
from tests.conftest import ACCESS_TOKEN, CLIENT_SECRET, REFRESH_TOKEN

pytestmark = pytest.mark.django_db


def test_save_normalises_base_url_and_scope(link_factory) -> None:
    link = link_factory(base_url="HTTPS://Jira.Example.com/jira/", scope="read write")
    link.refresh_from_db()
    assert link.base_url == "https://jira.example.com/jira"
    assert link.scope == "WRITE"


def test_full_clean_normalises_and_validates() -> None:
    link = JiraLink(
        name="Acme",
        slug="acme",
        base_url="https://jira.acme.test/",
        client_id="id",
        client_secret="s",
        scope="READ WRITE",
    )
    link.full_clean()
    assert link.base_url == "https://jira.acme.test"
    assert link.scope == "WRITE"


@override_settings(
    JIRA_CONNECT={
        "ALLOW_HTTP": False,
        "ENCRYPTION_KEYS": ["JCPbd9U1xHhqaF1kqMqo6Rt0Zr2nEuu8S-hvAOTsB-Y="],
    }
)
def test_full_clean_reports_each_problem_on_its_field() -> None:
    link = JiraLink(
        name="Acme",
        slug="acme",
        base_url="http://jira.acme.test",
        client_id="id",
        client_secret="",
        scope="read:jira-work",
    )
    with pytest.raises(ValidationError) as info:
        link.full_clean()
    errors = info.value.message_dict
    assert set(errors) == {"base_url", "client_secret", "scope"}
    assert "HTTPS" in errors["base_url"][0]
    assert "Jira Cloud scope" in errors["scope"][0]


def test_slug_is_unique(link_factory) -> None:
    link_factory(slug="acme")
    with pytest.raises(IntegrityError), transaction.atomic():
        link_factory(slug="acme")


def test_one_connection_per_user_and_link(connection_factory) -> None:
    connection = connection_factory()
    with pytest.raises(IntegrityError), transaction.atomic():
        connection_factory(user=connection.user, link=connection.link)


def test_str_and_repr_hold_no_secret(connection_factory) -> None:
    connection = connection_factory()
    link = connection.link
    for text in (str(link), repr(link), str(connection), repr(connection)):
        for secret in (CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN):
            assert secret not in text
    assert str(connection) == f"Alice Example on {link.name}"


def test_is_expired(connection_factory) -> None:
    now = timezone.now()
    connection = connection_factory(expires_at=now + timedelta(seconds=30))
    assert not connection.is_expired(now=now)
    assert connection.is_expired(leeway=60, now=now)
    assert connection.is_expired(now=now + timedelta(seconds=31))
    connection.expires_at = None
    assert not connection.is_expired()


def test_for_user_returns_the_connection(connection_factory) -> None:
    connection = connection_factory()
    assert JiraConnection.objects.for_user(connection.user, connection.link) == connection
    assert JiraConnection.objects.for_user(connection.user, connection.link.slug) == connection


def test_for_user_without_connection(user_factory, link_factory) -> None:
    with pytest.raises(JiraConnection.DoesNotExist):
        JiraConnection.objects.for_user(user_factory(), link_factory())


def test_for_user_refuses_inactive_link_and_user(connection_factory) -> None:
    connection = connection_factory()
    connection.link.is_active = False
    connection.link.save()
    with pytest.raises(LinkAccessDenied):
        JiraConnection.objects.for_user(connection.user, connection.link)
    connection.link.is_active = True
    connection.link.save()
    connection.user.is_active = False
    connection.user.save()
    with pytest.raises(LinkAccessDenied):
        JiraConnection.objects.for_user(connection.user, connection.link)


def test_for_user_applies_the_access_policy(connection_factory) -> None:
    connection = connection_factory()
    with (
        override_settings(
            JIRA_CONNECT={
                "LINK_ACCESS_POLICY": lambda user, link: link.slug != connection.link.slug
            }
        ),
        pytest.raises(LinkAccessDenied),
    ):
        JiraConnection.objects.for_user(connection.user, connection.link)


def test_active_queryset(connection_factory) -> None:
    active = connection_factory()
    connection_factory(status=JiraConnection.Status.REAUTH_REQUIRED)
    on_inactive_link = connection_factory()
    on_inactive_link.link.is_active = False
    on_inactive_link.link.save()
    assert list(JiraConnection.objects.active()) == [active]


# --- saving a link: what it reads first ------------------------------------------------------------


def test_saving_a_loaded_link_reads_nothing_first(link_factory, django_assert_num_queries) -> None:
    # save() compares the new scope with the one the connections were asked for; a link
    # loaded from the database already knows it, so the save is the UPDATE alone.
    link = JiraLink.objects.get(pk=link_factory().pk)
    link.name = "Renamed"
    with django_assert_num_queries(1):
        link.save()
    link.scope = "READ"  # narrower: nobody must reconnect, and nothing to look up
    with django_assert_num_queries(1):
        link.save()


def test_raising_the_scope_of_a_loaded_link_asks_for_reconnection(connection_factory) -> None:
    connection = connection_factory(scope="WRITE")
    link = JiraLink.objects.get(pk=connection.link_id)
    link.scope = "ADMIN"
    link.save()
    connection.refresh_from_db()
    assert connection.status == JiraConnection.Status.REAUTH_REQUIRED
    link.name = "Renamed"  # saved again at the same scope: the grants are not looked at again
    link.save()


def test_a_link_built_with_its_primary_key_still_compares_with_the_database(
    connection_factory,
) -> None:
    connection = connection_factory(scope="WRITE")
    stored = JiraLink.objects.get(pk=connection.link_id)
    rebuilt = JiraLink(
        **{
            field.attname: getattr(stored, field.attname)
            for field in JiraLink._meta.concrete_fields
        }
    )
    rebuilt.scope = "ADMIN"
    rebuilt.save()
    connection.refresh_from_db()
    assert connection.status == JiraConnection.Status.REAUTH_REQUIRED


def test_a_save_that_leaves_the_scope_out_does_not_judge_it(connection_factory) -> None:
    connection = connection_factory(scope="WRITE")
    link = JiraLink.objects.get(pk=connection.link_id)
    link.scope = "ADMIN"
    link.name = "Renamed"
    link.save(update_fields=["name"])
    connection.refresh_from_db()
    assert connection.status == JiraConnection.Status.ACTIVE
    assert JiraLink.objects.get(pk=link.pk).scope == "WRITE"
