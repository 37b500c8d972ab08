from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from jira_connect.models import JiraConnection, JiraLink
from jira_connect.testing.connections import connect_user
from tests.flow.conftest import CALLBACK, browser, connect, jira, link, user  # noqa: F401


@pytest.fixture
def connection(browser, jira, link) -> JiraConnection:  # noqa: F811
    """A connection made through the real flow, tokens issued by the simulator."""
    assert connect(browser, jira, link).status_code == 302
    return JiraConnection.objects.select_related("link").get()


def run_bounded(work: Callable[[], Any], seconds: float = 30) -> None:
    """Run ``work`` in a thread and fail (instead of hanging the suite) if it never ends."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            work()
        except BaseException as err:  # re-raised below, in the test's thread
            errors.append(err)
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "deadlocked"
    if errors:
        raise errors[0]


def on_database(connection: JiraConnection, alias: str) -> JiraConnection:
    """``connection`` as a site without a router keeps it: only in the database ``alias``."""
    if alias == "default":
        return connection
    connection.user.save(using=alias)
    connection.link.save(using=alias)
    connection.save(using=alias)
    JiraConnection.objects.using("default").all().delete()
    return JiraConnection.objects.using(alias).select_related("link").get(pk=connection.pk)


def expire(connection: JiraConnection) -> None:
    """Make the stored token and the in-memory copy look expired."""
    connection.expires_at = timezone.now() - timedelta(seconds=1)
    JiraConnection.objects.filter(pk=connection.pk).update(expires_at=connection.expires_at)


@pytest.fixture
def grant(jira, link, user_factory):  # noqa: F811
    """Make a connection with real tokens from the simulator, without the browser dance (the
    testing kit's `connect_user`), expiring in ``expires_in``, with ``fields`` changed."""

    def make(expires_in: timedelta = timedelta(hours=1), **fields) -> JiraConnection:
        connection = connect_user(jira, link, user_factory())
        fields.setdefault("expires_at", timezone.now() + expires_in)
        JiraConnection.objects.filter(pk=connection.pk).update(**fields)
        connection.refresh_from_db()
        return connection

    return make


def granted(
    sim: Any, owner: Any, *, base_url: str = "", expires: bool = True, **link_fields: Any
) -> JiraConnection:
    """A stored connection holding a real grant of ``sim`` (tokens minted by ``issue_tokens``,
    no browser), on a new link to ``base_url`` (``sim``'s own by default); loaded with it."""
    client = sim.register_client(redirect_uri=CALLBACK, scope="WRITE")
    new_link = JiraLink.objects.create(
        name="Jira",
        slug=f"jira-{client.client_id[:8].lower()}",
        base_url=base_url or sim.base_url,
        client_id=client.client_id,
        client_secret=client.client_secret,
        scope="WRITE",
        **link_fields,
    )
    tokens = sim.issue_tokens(client.client_id, user="alice")
    lifetime = timedelta(seconds=tokens["expires_in"])
    connection = JiraConnection.objects.create(
        link=new_link,
        user=owner,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        expires_at=timezone.now() + lifetime if expires else None,
        redirect_uri=CALLBACK,
        scope="WRITE",
        jira_key="JIRAUSER10000",
        jira_name="alice",
    )
    return JiraConnection.objects.select_related("link").get(pk=connection.pk)


def pause_after_the_look(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another worker trips the storm guard just after a session looked at the row (and found
    no pause), before the row's lock: only the decision under the lock can see it."""
    from jira_connect import stormguard

    real = stormguard.stored_token

    def looked_then_paused(connection: JiraConnection) -> stormguard.StoredToken:
        seen = real(connection)
        stormguard.pause_refreshes(JiraConnection.objects.get(pk=connection.pk))
        return seen

    monkeypatch.setattr(stormguard, "stored_token", looked_then_paused)


def assert_paused(row: JiraConnection) -> None:
    """The storm guard's pause is set on ``row``: the 30 s pause, not a refresh's short hold."""
    from jira_connect import stormguard

    assert row.refresh_paused_until is not None
    pause = timedelta(seconds=stormguard.PAUSE_SECONDS - 10)
    assert row.refresh_paused_until > timezone.now() + pause
