"""The cost of ``await connection.asession()`` over a bare ``httpx.AsyncClient`` with the same token.

Both sides GET ``rest/api/2/myself`` from the simulated Jira on a kept-alive loopback connection
from one event loop, with the same headers and timeout, in short interleaved rounds whose order
alternates. A run gives the ratio of the median per-call times; several runs (each with new
clients) give the median ratio with its minimum and maximum. Database queries are counted, from
any thread, around calls made while the token is valid.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from django.db.backends import utils

from bench.data import fresh_connection
from bench.jira import SimulatedJira
from bench.report import Check, Result, Table
from jira_connect.arefreshing import httpx_timeout
from jira_connect.asession import AsyncJiraSession
from jira_connect.conf import app_settings
from jira_connect.models import JiraConnection
from jira_connect.transport import USER_AGENT

RATIO_TARGET = 1.05
OURS = "connection.asession()"
BARE = "bare httpx.AsyncClient"

Call = Callable[[], Awaitable[httpx.Response]]


async def timed_calls(call: Call, count: int) -> list[int]:
    """Nanoseconds per call."""
    times = []
    for _ in range(count):
        started = time.perf_counter_ns()
        response = await call()
        times.append(time.perf_counter_ns() - started)
        if response.status_code != 200:
            raise RuntimeError(f"the simulated Jira answered {response.status_code}")
    return times


async def interleaved(sides: dict[str, Call], *, rounds: int, calls: int) -> dict[str, list[int]]:
    samples: dict[str, list[int]] = {name: [] for name in sides}
    for call in sides.values():
        await timed_calls(call, 50)  # warm up: connection pools, the simulator's threads
    gc.collect()
    gc.disable()
    try:
        for number in range(rounds):
            order = list(sides) if number % 2 == 0 else list(reversed(sides))
            for name in order:
                samples[name] += await timed_calls(sides[name], calls)
    finally:
        gc.enable()
    return samples


@contextmanager
def counted_queries() -> Iterator[list[str]]:
    """Every SQL statement run meanwhile, from any thread."""
    ran: list[str] = []
    originals = {
        wrapper: wrapper.execute for wrapper in (utils.CursorWrapper, utils.CursorDebugWrapper)
    }

    def counting(real: Any) -> Any:
        def execute(self: Any, sql: str, params: Any = None) -> Any:
            ran.append(sql)
            return real(self, sql, params)

        return execute

    for wrapper, real in originals.items():
        wrapper.execute = counting(real)  # type: ignore[method-assign]
    try:
        yield ran
    finally:
        for wrapper, real in originals.items():
            wrapper.execute = real  # type: ignore[method-assign]


def bare_client(access_token: str, **kwargs: Any) -> httpx.AsyncClient:
    """What a host site would write without this app."""
    return httpx.AsyncClient(
        headers={
            "Authorization": f"Bearer {access_token}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        },
        timeout=httpx_timeout(app_settings.HTTP_TIMEOUT),
        trust_env=False,
        **kwargs,
    )


def canned(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"key": "JIRAUSER10000", "name": "alice"})


async def one_run(
    connection: JiraConnection, url: str, *, rounds: int, calls: int, network: bool
) -> dict[str, list[int]]:
    extra: dict[str, Any] = {} if network else {"transport": httpx.MockTransport(canned)}
    async with (
        AsyncJiraSession(connection, trust_env=False, **extra) as ours,
        bare_client(connection.access_token, **extra) as bare,
    ):
        sides: dict[str, Call] = {
            OURS: lambda: ours.get("rest/api/2/myself"),
            BARE: lambda: bare.get(url),
        }
        return await interleaved(sides, rounds=rounds, calls=calls)


async def queries_while_valid(connection: JiraConnection, calls: int) -> float:
    session = await connection.asession()
    async with session:
        with counted_queries() as ran:
            await timed_calls(lambda: session.get("rest/api/2/myself"), calls)
    return len(ran) / calls


def ratio(samples: dict[str, list[int]]) -> float:
    return statistics.median(samples[OURS]) / statistics.median(samples[BARE])


def run(jira: SimulatedJira, *, quick: bool) -> Result:
    runs, rounds, calls = (3, 20, 10) if quick else (7, 100, 10)
    connection = fresh_connection(jira)
    url = jira.myself_url

    async def measure() -> tuple[list[dict[str, list[int]]], dict[str, list[int]], float]:
        online = [
            await one_run(connection, url, rounds=rounds, calls=calls, network=True)
            for _ in range(runs)
        ]
        alone = await one_run(connection, url, rounds=rounds, calls=calls * 5, network=False)
        return online, alone, await queries_while_valid(connection, 300)

    online, alone, queries_per_call = asyncio.run(measure())
    ratios = [ratio(samples) for samples in online]
    median = statistics.median(ratios)
    ours_all = [t for samples in online for t in samples[OURS]]
    bare_all = [t for samples in online for t in samples[BARE]]
    extra = (statistics.median(alone[OURS]) - statistics.median(alone[BARE])) / 1000

    def row(name: str, times: list[int]) -> tuple[str, ...]:
        return (
            name,
            f"{len(times):,}",
            f"{statistics.median(times) / 1000:.0f} µs",
            f"{statistics.quantiles(times, n=10)[-1] / 1000:.0f} µs",
        )

    result = Result(
        key="asession",
        title="Overhead of connection.asession()",
        command="scripts/bench asession",
        method=(
            f'`await session.get("rest/api/2/myself")` on `await connection.asession()` '
            f"against a bare `httpx.AsyncClient` holding the same bearer token, User-Agent, "
            f"Accept header and timeout, both on kept-alive loopback connections to the simulated "
            f"Jira from one event loop: {runs} runs, each with new clients and {rounds} rounds of "
            f"{calls} calls on each side, interleaved, the order alternating each round, after "
            f"50 warm-up calls each, with the garbage collector paused. Each run gives the ratio "
            f"of the medians of every call's time; the figure is the median of the runs' ratios. "
            f"Database queries are counted on every thread over 300 more calls while the token is "
            f"valid."
        ),
    )
    result.tables.append(
        Table(
            ("client", "calls", "median per call", "p90 per call"),
            [
                row(OURS, ours_all),
                row(BARE, bare_all),
                row(f"{OURS}, no network", alone[OURS]),
                row(f"{BARE}, no network", alone[BARE]),
            ],
        )
    )
    result.checks += [
        Check(
            f"median time per call, ours / bare (median of {runs} runs)",
            f"{median:.3f}x",
            f"≤ {RATIO_TARGET:.2f}x",
            median <= RATIO_TARGET,
        ),
        Check(
            "database queries per call, token valid",
            f"{queries_per_call:g}",
            "0",
            queries_per_call == 0,
        ),
    ]
    result.notes += [
        f"The runs' ratios: min {min(ratios):.3f}x, median {median:.3f}x, max {max(ratios):.3f}x "
        f"({', '.join(f'{r:.3f}' for r in ratios)}).",
        f'The rows marked "no network" put both clients on an httpx transport that answers at '
        f"once, so only the clients' own work is timed: {extra:.0f} µs more per call through "
        f"`asession()` (the origin and expiry checks, the per-request Authorization header, "
        f"the rate-limit and 401 checks on the answer).",
    ]
    return result
