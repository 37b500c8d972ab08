"""(a) The cost of ``connection.session()`` over a bare ``requests.Session`` with the same token.

Both sides GET ``rest/api/2/myself`` from the simulated Jira on a kept-alive connection, with the
same headers and timeout, in short interleaved rounds whose order alternates, so drift and other
work on the machine fall on both alike. The figure is the ratio of the median per-call times.
Database queries are counted separately, around calls made while the token is valid.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import requests
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.data import make_connections, make_link
from bench.jira import SimulatedJira
from bench.report import Check, Result, Table
from jira_connect.conf import app_settings
from jira_connect.models import JiraConnection
from jira_connect.session import USER_AGENT

RATIO_TARGET = 1.05
STALL_SAMPLE = 20
OURS = "connection.session()"
BARE = "bare requests.Session"


def bare_session(access_token: str) -> requests.Session:
    """What a host site would write without this app: a session with the bearer header."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {access_token}"
    session.headers["Accept"] = "application/json"
    session.headers["User-Agent"] = USER_AGENT
    session.trust_env = False
    return session


class CannedAdapter(requests.adapters.BaseAdapter):
    """Answers every request at once with the same 200, so only the client's own work is timed."""

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        response = requests.Response()
        response.status_code = 200
        response._content = b'{"key": "JIRAUSER10000", "name": "alice"}'
        response.headers["Content-Type"] = "application/json;charset=UTF-8"
        response.encoding = "utf-8"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def timed_calls(call: Callable[[], requests.Response], count: int) -> list[int]:
    """Nanoseconds per call."""
    times = []
    for _ in range(count):
        started = time.perf_counter_ns()
        response = call()
        times.append(time.perf_counter_ns() - started)
        if response.status_code != 200:
            raise RuntimeError(f"the simulated Jira answered {response.status_code}")
    return times


def interleaved(
    sides: dict[str, Callable[[], requests.Response]], *, rounds: int, calls: int
) -> dict[str, list[list[int]]]:
    """Each round, ``calls`` calls on each side, the order alternating; nanoseconds per call,
    by side and round. The garbage collector is paused while timing (both sides alike)."""
    samples: dict[str, list[list[int]]] = {name: [] for name in sides}
    for call in sides.values():
        timed_calls(call, 50)  # warm up: connection pools, the simulator's handler threads
    gc.collect()
    gc.disable()
    try:
        for number in range(rounds):
            order = list(sides) if number % 2 == 0 else list(reversed(sides))
            for name in order:
                samples[name].append(timed_calls(sides[name], calls))
    finally:
        gc.enable()
    return samples


def flat(rounds: list[list[int]]) -> list[int]:
    return [time for one_round in rounds for time in one_round]


def median_ratio(samples: dict[str, list[list[int]]], part: slice = slice(None)) -> float:
    ours, bare = flat(samples[OURS][part]), flat(samples[BARE][part])
    return statistics.median(ours) / statistics.median(bare)


def timing_row(name: str, rounds: list[list[int]]) -> tuple[str, ...]:
    times = flat(rounds)
    return (
        name,
        f"{len(times):,}",
        f"{statistics.median(times) / 1000:.0f} µs",
        f"{statistics.quantiles(times, n=10)[-1] / 1000:.0f} µs",
    )


def run(jira: SimulatedJira, *, quick: bool) -> Result:
    rounds, calls = (40, 10) if quick else (300, 10)
    offline_rounds, offline_calls = (40, 50) if quick else (200, 50)
    link = make_link(jira)
    (pk,) = make_connections(
        jira,
        link,
        1,
        expires_at=timezone.now() + timedelta(hours=1),
        last_refreshed_at=timezone.now(),
    )
    connection: JiraConnection = JiraConnection.objects.select_related("link").get(pk=pk)
    url = jira.myself_url
    timeout = app_settings.HTTP_TIMEOUT

    def sides(
        adapter: requests.adapters.BaseAdapter | None = None,
    ) -> dict[str, Callable[[], requests.Response]]:
        ours = connection.session()
        bare = bare_session(connection.access_token)
        if adapter is not None:
            ours.mount("http://", adapter)
            bare.mount("http://", adapter)
        return {
            OURS: lambda: ours.get("rest/api/2/myself"),
            BARE: lambda: bare.get(url, timeout=timeout),
        }

    online = sides()
    samples = interleaved(online, rounds=rounds, calls=calls)
    with CaptureQueriesContext(db) as queries:
        timed_calls(online[OURS], 300)
    queries_per_call = len(queries.captured_queries) / 300

    alone = interleaved(sides(CannedAdapter()), rounds=offline_rounds, calls=offline_calls)

    jira.call("nodelay", on=False)
    try:
        stalled = bare_session(connection.access_token)
        stall = statistics.median(
            timed_calls(lambda: stalled.get(url, timeout=timeout), STALL_SAMPLE)
        )
        stalled.close()
    finally:
        jira.call("nodelay", on=True)

    ratio = median_ratio(samples)
    half = rounds // 2
    bare_median = statistics.median(flat(samples[BARE])) / 1000
    extra = (statistics.median(flat(alone[OURS])) - statistics.median(flat(alone[BARE]))) / 1000
    result = Result(
        key="overhead",
        title="Overhead of connection.session()",
        command="scripts/bench overhead",
        method=(
            f'`connection.session().get("rest/api/2/myself")` against a bare '
            f"`requests.Session` holding the same bearer token, User-Agent, Accept header and "
            f"timeout, both on a kept-alive loopback connection to the simulated Jira: "
            f"{rounds} rounds of {calls} calls on each side ({rounds * calls:,} each), "
            f"interleaved, the order alternating each round, after 50 warm-up calls each, "
            f"with the garbage collector paused. Short rounds put both sides under the same "
            f"conditions when other work shares the machine. The ratio is of the medians of "
            f"every call's time; database queries are counted with `CaptureQueriesContext` over "
            f"300 more calls while the token is valid."
        ),
    )
    result.tables.append(
        Table(
            ("client", "calls", "median per call", "p90 per call"),
            [
                timing_row(OURS, samples[OURS]),
                timing_row(BARE, samples[BARE]),
                timing_row(f"{OURS}, no network", alone[OURS]),
                timing_row(f"{BARE}, no network", alone[BARE]),
            ],
        )
    )
    result.checks += [
        Check(
            "median time per call, ours / bare",
            f"{ratio:.3f}x",
            f"≤ {RATIO_TARGET:.2f}x",
            ratio <= RATIO_TARGET,
        ),
        Check(
            "database queries per call, token valid",
            f"{queries_per_call:g}",
            "0",
            queries_per_call == 0,
        ),
    ]
    result.notes += [
        f"The same ratio over the first and the second half of the rounds: "
        f"{median_ratio(samples, slice(None, half)):.3f}x and "
        f"{median_ratio(samples, slice(half, None)):.3f}x.",
        f'The rows marked "no network" put both sessions on a transport adapter that answers '
        f"at once ({offline_rounds} interleaved rounds of {offline_calls} calls), so only the "
        f"clients' own work is timed: {extra:.0f} µs more per call through "
        f"`connection.session()` (resolving the relative URL, the expiry check, merging the "
        f"per-request Authorization header), against {bare_median:.0f} µs for a whole call to "
        f"the simulator on loopback; a real Jira answers in milliseconds.",
        f"With `TCP_NODELAY` off on the simulator, a kept-alive call took "
        f"{stall / 1e6:.1f} ms (median of {STALL_SAMPLE} bare calls) instead of "
        f"{bare_median / 1000:.2f} ms.",
    ]
    return result
