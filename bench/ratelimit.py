"""(d) Rate limits: 64 callers in 8 processes against a Jira that lets through a fraction of them.

The simulated Jira limits each user like Jira DC (a token bucket: ``capacity`` calls at once,
``fill_rate`` more every ``interval`` seconds). Each of 64 callers (8 processes x 8 threads) has
its own connection (its own Jira user, so its own bucket) and makes CALLS calls in a row through
``connection.session()``: every call must end answered, no refresh may happen, and the requests
Jira receives must stay within a bound of the minimum (one per call).

The bound: a caller over its limit is told so once per refill it waits for (its wait, at least
``max(1, Retry-After)``, always spans the next refill when Jira's ``Retry-After`` is right), so
it sends at most ``ceil((CALLS - capacity) / fill_rate)`` rate-limited requests; with Jira
9.12's ``Retry-After: 0`` and a 2-second interval, waits of 1 second need two tries per refill.

A third run shows the storm guard: 8 connections, each shared by one thread in each of the 8
processes, and a gateway that answers rate-limited calls with anonymous 401s. The first 401 of a
connection refreshes (it cannot know better); the guard keeps it to one refresh per connection in
30 seconds, across processes. The same run without the guard's pause is shown beside it.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection as db
from django.utils import timezone

from bench.data import make_link
from bench.gate import release_together, start_worker
from bench.jira import CALLBACK, SimulatedJira
from bench.report import Check, Result, Table
from jira_connect.models import JiraConnection, JiraLink

PROCESSES = 8
THREADS = 8
_batches = itertools.count(1)


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    switches: dict[str, Any]
    connections: int
    #: Rate-limited requests per refill a caller may need (None: not a bounded scenario).
    tries_per_refill: int | None
    guard: bool = True


#: The Jira of both storm scenarios, one dict so that they differ only in the storm guard
#: (what the pair of rows compares), never in the rate limit they meet.
STORM_SWITCHES: dict[str, Any] = {
    "rate_limit_capacity": 5,
    "rate_limit_fill_rate": 2,
    "rate_limit_interval": 1,
    "rate_limit_anonymous_401": True,
}

SCENARIOS = (
    Scenario(
        "exact",
        "429, Retry-After right",
        {"rate_limit_capacity": 5, "rate_limit_fill_rate": 2, "rate_limit_interval": 1},
        connections=PROCESSES * THREADS,
        tries_per_refill=1,
    ),
    Scenario(
        "zero",
        "429, Retry-After: 0 (Jira 9.12)",
        {
            "rate_limit_capacity": 5,
            "rate_limit_fill_rate": 4,
            "rate_limit_interval": 2,
            "rate_limit_retry_after_zero": True,
        },
        connections=PROCESSES * THREADS,
        tries_per_refill=2,
    ),
    Scenario(
        "storm",
        "anonymous 401s, storm guard",
        STORM_SWITCHES,
        connections=THREADS,
        tries_per_refill=None,
    ),
    Scenario(
        "storm-unguarded",
        "anonymous 401s, no storm guard",
        STORM_SWITCHES,
        connections=THREADS,
        tries_per_refill=None,
        guard=False,
    ),
)


@dataclass
class Outcome:
    scenario: Scenario
    calls: int
    outcomes: Counter[str]
    requests: int
    refreshes: int
    reauth: int
    chains_intact: int
    waits: int
    short_waits: int
    seconds: float
    bound: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def answered(self) -> int:
        return self.outcomes["200"]


def make_callers(jira: SimulatedJira, link: JiraLink, count: int) -> list[int]:
    """``count`` connections, each for a Jira user of its own (so a bucket of its own)."""
    batch = next(_batches)
    names = jira.call("add_users", prefix=f"rl{batch}u", count=count)
    user_model = get_user_model()
    unusable = make_password(None)
    pks = []
    for name in names:
        ((access_token, refresh_token),) = jira.call(
            "issue_tokens", client_id=link.client_id, user=name
        )
        user = user_model.objects.create(username=f"bench-{name}", password=unusable)
        connection = JiraConnection.objects.create(
            link=link,
            user=user,
            access_token=access_token,
            refresh_token=refresh_token,
            expires_at=timezone.now() + timedelta(hours=1),
            last_refreshed_at=timezone.now(),
            scope="WRITE",
            redirect_uri=CALLBACK,
            jira_key=name,
            jira_name=name,
        )
        pks.append(connection.pk)
    return pks


def run_scenario(jira: SimulatedJira, link: JiraLink, scenario: Scenario, calls: int) -> Outcome:
    pks = make_callers(jira, link, scenario.connections)
    if scenario.connections == PROCESSES * THREADS:  # a connection per caller
        shares = [pks[n * THREADS : (n + 1) * THREADS] for n in range(PROCESSES)]
    else:  # each connection used by one thread in every process
        shares = [pks for _ in range(PROCESSES)]
    jira.call("configure", **scenario.switches)
    requests_before = int(jira.call("api_requests"))
    refreshes_before = jira.refresh_requests()
    spec = {"calls": calls, "guard": scenario.guard}
    workers = [
        start_worker(
            "bench.ratelimit_worker", json.dumps({**spec, "pks": share}), env=dict(os.environ)
        )
        for share in shares
    ]
    outcomes: Counter[str] = Counter()
    waits = short_waits = 0
    reports, seconds = release_together(workers, "rate-limit")
    for report in reports:
        outcomes.update(report["outcomes"])
        waits += report["waits"]
        short_waits += report["short_waits"]
    if outcomes["never started"]:
        raise RuntimeError(f"the run could not start: {dict(outcomes)}")
    jira.call("configure", rate_limit_capacity=0)
    stored = list(JiraConnection.objects.filter(pk__in=pks))
    intact = sum(
        1
        for row in stored
        if row.refresh_token and jira.call("is_valid_refresh_token", token=row.refresh_token)
    )
    outcome = Outcome(
        scenario=scenario,
        calls=len(shares) * len(shares[0]) * calls,
        outcomes=outcomes,
        requests=int(jira.call("api_requests")) - requests_before,
        refreshes=jira.refresh_requests() - refreshes_before,
        reauth=sum(1 for row in stored if row.status != JiraConnection.Status.ACTIVE),
        chains_intact=intact,
        waits=waits,
        short_waits=short_waits,
        seconds=seconds,
    )
    if scenario.tries_per_refill is not None:
        capacity = scenario.switches["rate_limit_capacity"]
        fill_rate = scenario.switches["rate_limit_fill_rate"]
        per_caller = calls + scenario.tries_per_refill * math.ceil((calls - capacity) / fill_rate)
        outcome.bound = per_caller * scenario.connections
    return outcome


def run(jira: SimulatedJira, *, quick: bool) -> Result:
    if db.vendor != "postgresql":
        raise RuntimeError("the rate-limit benchmark needs PostgreSQL (many processes)")
    calls = 10 if quick else 20
    link = make_link(jira)
    runs = [run_scenario(jira, link, scenario, calls) for scenario in SCENARIOS]
    table = Table(
        (
            "scenario",
            "calls",
            "answered 200",
            "other answers",
            "requests sent",
            "minimum",
            "bound",
            "refreshes",
            "waits (< 1 s)",
            "time",
        ),
        [
            (
                outcome.scenario.label,
                f"{outcome.calls:,}",
                f"{outcome.answered:,}",
                ", ".join(
                    f"{count} x {name}"
                    for name, count in outcome.outcomes.most_common()
                    if name != "200"
                )
                or "none",
                f"{outcome.requests:,}",
                f"{outcome.calls:,}",
                f"{outcome.bound:,}" if outcome.bound is not None else "",
                str(outcome.refreshes),
                f"{outcome.waits:,} ({outcome.short_waits})",
                f"{outcome.seconds:.1f} s",
            )
            for outcome in runs
        ],
    )
    result = Result(
        key="ratelimit",
        title=f"{PROCESSES * THREADS} callers under Jira's rate limits",
        command="scripts/bench ratelimit",
        method=(
            f"The simulated Jira limits REST calls per user like Jira DC: a bucket of `capacity` "
            f"calls, `fill_rate` more every `interval` seconds, a 429 with Tomcat's HTML page "
            f"over the limit. {PROCESSES} processes x {THREADS} threads each build a session from "
            f"a stored connection, as web workers do, then all start at once (a cross-process "
            f"barrier) and make {calls} calls in a row to `rest/api/2/myself`, with the default "
            f"`RATE_LIMIT_RETRIES` (3) and `RATE_LIMIT_MAX_WAIT` (60 s) and real waits. In the "
            f"two 429 runs every caller has its own connection and Jira user (capacity 5; 2 "
            f"calls a second with a right `Retry-After`; 4 calls every 2 seconds with "
            f"`Retry-After: 0`). The minimum is one request per call; the bound allows, per "
            f"caller, one rate-limited request per refill it waits for (two with `Retry-After: "
            f"0`, whose 1-second waits fall short of a 2-second refill once): "
            f"`calls + tries x ceil((calls - capacity) / fill_rate)`. In the storm runs, 8 "
            f"connections are each shared by one thread in every process and a gateway answers "
            f"rate-limited calls with an anonymous 401 (the simulator's "
            f"`rate_limit_anonymous_401`): the first 401 of a connection refreshes, then the "
            f"storm guard pauses 401-driven refreshes for 30 seconds (the run takes less). The "
            f"unguarded run is the same code with the guard's hold and pause replaced by nothing, "
            f"to show what they prevent. 'Refreshes' counts refresh requests that reached Jira; 'waits' the waits "
            f"the sessions made, and how many were under a second."
        ),
    )
    result.tables.append(table)
    for outcome in runs[:2]:
        label = outcome.scenario.label
        result.checks += [
            Check(
                f"calls answered ({label})",
                f"{outcome.answered:,} / {outcome.calls:,}",
                "all",
                outcome.answered == outcome.calls,
            ),
            Check(
                f"refreshes caused by the limiter ({label})",
                str(outcome.refreshes),
                "0",
                outcome.refreshes == 0,
            ),
            Check(
                f"requests sent ({label})",
                f"{outcome.requests:,} ({outcome.requests / outcome.calls:.2f}x the minimum)",
                f"≤ {outcome.bound:,}",
                outcome.bound is not None and outcome.requests <= outcome.bound,
            ),
            Check(
                f"waits under 1 s ({label})",
                str(outcome.short_waits),
                "0",
                outcome.short_waits == 0,
            ),
        ]
    storm = runs[2]
    result.checks += [
        Check(
            "refreshes in the storm (guarded)",
            str(storm.refreshes),
            f"≤ {storm.scenario.connections} (one per connection)",
            storm.refreshes <= storm.scenario.connections,
        ),
        Check(
            "connections made to reconnect (all runs)",
            str(sum(outcome.reauth for outcome in runs)),
            "0",
            all(outcome.reauth == 0 for outcome in runs),
        ),
        Check(
            "token chains intact (guarded runs)",
            f"{sum(o.chains_intact for o in runs[:3])} / {sum(o.scenario.connections for o in runs[:3])}",
            "all",
            all(o.chains_intact == o.scenario.connections for o in runs[:3]),
        ),
    ]
    result.notes += [
        f"Without the storm guard the same storm sent {runs[3].refreshes} refresh requests "
        f"({runs[3].refreshes / runs[3].scenario.connections:.0f} per connection), each "
        f"rotating the connection's tokens.",
        "What this does not measure: several callers sharing one user's bucket in the 429 runs "
        "(they compete for its tokens, and one may give up after `RATE_LIMIT_RETRIES` and get "
        "Jira's 429, by design); limits longer than `RATE_LIMIT_MAX_WAIT` (answered at once, "
        "tested in `tests/ratelimit/`); a Jira whose token endpoint is itself rate-limited; "
        "and the time callers spend waiting, which the limits set, not the client.",
    ]
    return result
