"""Links and connections holding real tokens of the simulated Jira, made in bulk."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from bench.jira import CALLBACK, SimulatedJira
from jira_connect.models import JiraConnection, JiraLink

_names = itertools.count(1)


def make_link(jira: SimulatedJira) -> JiraLink:
    """Register an incoming link on the simulated Jira and the matching ``JiraLink``."""
    client = jira.call("register_client", redirect_uri=CALLBACK)
    number = next(_names)
    link: JiraLink = JiraLink.objects.create(
        name=f"Bench Jira {number}",
        slug=f"bench-{number}",
        base_url=jira.base_url,
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        scope="WRITE",
    )
    return link


def make_connections(
    jira: SimulatedJira,
    link: JiraLink,
    count: int,
    *,
    expires_at: datetime,
    last_refreshed_at: datetime,
) -> list[int]:
    """``count`` users, each connected to ``link`` with a fresh grant; returns the primary keys.

    The grants come from the simulator's ``issue_tokens`` (the consent page and the code
    exchange without HTTP), the rows from two ``bulk_create`` calls.
    """
    pairs = jira.call("issue_tokens", client_id=link.client_id, count=count)
    batch = next(_names)
    user_model = get_user_model()
    unusable = make_password(None)
    users = user_model.objects.bulk_create(
        [user_model(username=f"bench-{batch}-{n}", password=unusable) for n in range(count)],
        batch_size=1000,
    )
    connections = JiraConnection.objects.bulk_create(
        [
            JiraConnection(
                link=link,
                user=user,
                access_token=access_token,
                refresh_token=refresh_token,
                expires_at=expires_at,
                last_refreshed_at=last_refreshed_at,
                scope="WRITE",
                redirect_uri=CALLBACK,
                jira_key="JIRAUSER10000",
                jira_name="alice",
            )
            for user, (access_token, refresh_token) in zip(users, pairs, strict=True)
        ],
        batch_size=1000,
    )
    return [connection.pk for connection in connections]


def fresh_connection(jira: SimulatedJira) -> JiraConnection:
    """One connection on a new link, its token valid for an hour, its link loaded: what the
    overhead benchmarks (sync and async) time calls through, with no refresh in the way."""
    (pk,) = make_connections(
        jira,
        make_link(jira),
        1,
        expires_at=timezone.now() + timedelta(hours=1),
        last_refreshed_at=timezone.now(),
    )
    return JiraConnection.objects.select_related("link").get(pk=pk)
