"""``await connection.averify()``: ``verify()``'s outcomes, with the identity call on the event loop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from asgiref.sync import sync_to_async

from jira_connect import _http, arefreshing, signals
from jira_connect.models import JiraConnection
from jira_connect.testing import JiraDCSimulator
from tests.tokens.conftest import expire

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


async def fetched(pk: int) -> JiraConnection:
    """The connection as an async view gets it: ``aget`` without its link."""
    return await JiraConnection.objects.aget(pk=pk)


async def test_the_identity_call_runs_on_the_event_loop(connection, jira, monkeypatch) -> None:
    """Neither requests (the sync path's transport) nor a thread makes the identity call."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("averify() went through the sync transport")

    monkeypatch.setattr(_http, "send", refuse)
    loop_thread = threading.current_thread()
    threads: list[threading.Thread] = []
    real_exchange = arefreshing.exchange

    async def watched(*args: object, **kwargs: object) -> arefreshing.Answer:
        threads.append(threading.current_thread())
        return await real_exchange(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("jira_connect.alifecycle.exchange", watched)
    jira.rename_user("alice", "alice.renamed")
    mine = await fetched(connection.pk)
    await mine.averify()
    assert threads == [loop_thread]
    assert mine.jira_name == "alice.renamed"
    assert (await JiraConnection.objects.aget()).jira_name == "alice.renamed"


@dataclass(frozen=True)
class Outcome:
    """What a verify left behind, compared between the sync and the async path."""

    raised: str | None
    status: str
    failure_kind: str
    jira_name: str
    refreshes: int
    refresh_signals: list[str]
    failure_signals: list[bool]


def renamed(jira: JiraDCSimulator, connection: JiraConnection) -> None:
    jira.rename_user("alice", "alice.renamed")


def rejected(jira: JiraDCSimulator, connection: JiraConnection) -> None:
    jira.expire_access_tokens()  # Jira rejects the token though it looks valid here


def expiring(jira: JiraDCSimulator, connection: JiraConnection) -> None:
    expire(connection)


def revoked(jira: JiraDCSimulator, connection: JiraConnection) -> None:
    jira.revoke(user="alice")  # the user revoked the app in their Jira profile


def answered_anonymously(jira: JiraDCSimulator, connection: JiraConnection) -> None:
    jira.inject("api", "anonymous")


def jira_down(jira: JiraDCSimulator, connection: JiraConnection) -> None:
    jira.inject("api", "server_error")


def token_endpoint_down(jira: JiraDCSimulator, connection: JiraConnection) -> None:
    jira.expire_access_tokens()
    jira.inject("token", "server_error")


def rejected_twice(jira: JiraDCSimulator, connection: JiraConnection) -> None:
    jira.inject("api", "unauthorized", times=2)


def fine(renamed_to: str = "alice") -> Outcome:
    return Outcome(None, "active", "", renamed_to, 0, [], [])


SCENARIOS: dict[str, tuple[Callable[[JiraDCSimulator, JiraConnection], None], Outcome]] = {
    "renamed": (renamed, fine("alice.renamed")),
    "rejected": (rejected, Outcome(None, "active", "", "alice", 1, ["refreshed"], [])),
    "expiring": (expiring, Outcome(None, "active", "", "alice", 1, ["refreshed"], [])),
    "revoked": (
        revoked,
        Outcome("ReauthorizationRequired", "reauth_required", "reauth", "old", 1, [], [True]),
    ),
    "anonymous": (
        answered_anonymously,
        Outcome(None, "active", "", "alice", 1, ["refreshed"], []),
    ),
    "jira down": (jira_down, Outcome("JiraUnavailable", "active", "", "old", 0, [], [])),
    "token endpoint down": (
        token_endpoint_down,
        Outcome("JiraUnavailable", "active", "transient", "old", 1, [], [False]),
    ),
    "rejected twice": (
        rejected_twice,
        Outcome("JiraAuthenticationFailed", "active", "", "old", 1, ["refreshed"], []),
    ),
}


@pytest.mark.parametrize("path", ["verify", "averify"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_the_same_outcome_as_verify(connection, jira, scenario, path) -> None:
    """Each scenario gives the same stored status, refreshes, signals and error on both paths."""
    arrange, expected = SCENARIOS[scenario]
    await JiraConnection.objects.filter(pk=connection.pk).aupdate(jira_name="old")
    await sync_to_async(arrange)(jira, connection)
    refreshed: list[str] = []
    failed: list[bool] = []
    signals.token_refreshed.connect(
        lambda **kw: refreshed.append("refreshed"), weak=False, dispatch_uid="averify-r"
    )
    signals.token_refresh_failed.connect(
        lambda reauth_required, **kw: failed.append(reauth_required),
        weak=False,
        dispatch_uid="averify-f",
    )
    mine = await fetched(connection.pk)
    raised: str | None = None
    try:
        if path == "verify":
            await sync_to_async(_verify)(mine)
        else:
            await mine.averify()
    except Exception as err:
        raised = type(err).__name__
    finally:
        signals.token_refreshed.disconnect(dispatch_uid="averify-r")
        signals.token_refresh_failed.disconnect(dispatch_uid="averify-f")
    row = await JiraConnection.objects.aget()
    outcome = Outcome(
        raised=raised,
        status=row.status,
        failure_kind=row.last_failure_kind,
        jira_name=row.jira_name,
        refreshes=jira.token_requests(grant_type="refresh_token"),
        refresh_signals=refreshed,
        failure_signals=failed,
    )
    assert outcome == expected
    if expected.refreshes and expected.raised is None:
        assert jira.is_valid_access_token(row.access_token)
        assert mine.access_token == row.access_token


def _verify(connection: JiraConnection) -> None:
    connection.link  # noqa: B018 (loaded here, in the sync path's thread)
    connection.verify()
