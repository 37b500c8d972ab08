"""(a) The cost of ``connection.session()`` over a bare ``requests.Session`` with the same token.

Four clients GET ``rest/api/2/myself`` from the simulated Jira, each on its own kept-alive
connection, with the same headers (Authorization, Accept, User-Agent) and timeout:
``connection.session()`` as it ships (requests' default ``trust_env=True``), the same with
``trust_env=False``, and a bare ``requests.Session`` with each ``trust_env``. Like is compared
with like (same ``trust_env``), and the session as shipped with DESIGN §5's baseline (a bare
session with ``trust_env=False``). Calls run in short interleaved rounds, ordered so that every
client takes every position and follows every other client equally often, so drift, other work
on the machine and one client's effect on the next fall on every client alike; a figure is the ratio of
median per-call times, measured in ``RUNS`` separate runs, published as their median with the
min and max beside it. All of it at two server speeds: loopback as fast as the simulator answers,
and with 20 ms added to every API answer, a Jira on the network.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from bench.data import fresh_connection
from bench.jira import SimulatedJira
from bench.report import RUNS, Check, Result, Spread, Table, ratio
from jira_connect.conf import app_settings
from jira_connect.transport import USER_AGENT

RATIO_TARGET = 1.02
NEVER_SLOWER = 1.0
LATENCY = 0.02
STALL_SAMPLE = 20

OURS = "connection.session()"
OURS_NO_ENV = "connection.session(), trust_env=False"
BARE_NO_ENV = "requests.Session, trust_env=False"
BARE = "requests.Session (default: trust_env=True)"
CLIENTS = (OURS, OURS_NO_ENV, BARE_NO_ENV, BARE)

#: (what, measured client, baseline, target): the ratios published, each a median of RUNS runs.
RATIOS = (
    ("ours as shipped / bare with trust_env=False (DESIGN §5)", OURS, BARE_NO_ENV, RATIO_TARGET),
    ("ours / bare, both trust_env=True (never slower)", OURS, BARE, NEVER_SLOWER),
    ("ours / bare, both trust_env=False", OURS_NO_ENV, BARE_NO_ENV, RATIO_TARGET),
)


@dataclass(frozen=True)
class Speed:
    """One server speed: its name, added latency and the size of each run."""

    name: str
    latency: float
    rounds: int
    calls: int


def speeds(quick: bool) -> tuple[Speed, ...]:
    if quick:
        return (Speed("loopback", 0.0, 30, 10), Speed("20 ms", LATENCY, 6, 3))
    return (Speed("loopback", 0.0, 150, 10), Speed("20 ms", LATENCY, 16, 4))


def bare_session(access_token: str, *, trust_env: bool) -> requests.Session:
    """What a host site would write without this app: a session with the bearer header."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {access_token}"
    session.headers["Accept"] = "application/json"
    session.headers["User-Agent"] = USER_AGENT
    session.trust_env = trust_env
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


def balanced_orders(count: int) -> list[list[int]]:
    """A Williams square: ``count`` orders of ``count`` clients (``count`` even) in which every
    client takes every position once and follows every other client exactly once.

    So neither a position in the round nor the client that ran just before (a bare session with
    ``trust_env=True`` scans the environment, and leaves the caches colder than the others) can
    favour one client over another.
    """
    first = [0]
    for step in range(1, count):
        first.append((step + 1) // 2 if step % 2 else count - step // 2)
    return [[(client + shift) % count for client in first] for shift in range(count)]


def interleaved(
    sides: dict[str, Callable[[], requests.Response]], *, rounds: int, calls: int, warm_up: int
) -> dict[str, list[int]]:
    """Each round, ``calls`` calls on each side, in the orders of a Williams square; nanoseconds
    per call, by side. The garbage collector is paused while timing (every side alike)."""
    samples: dict[str, list[int]] = {name: [] for name in sides}
    for call in sides.values():
        timed_calls(call, warm_up)  # connection pools, the simulator's handler threads
    names = list(sides)
    orders = balanced_orders(len(names))
    gc.collect()
    gc.disable()
    try:
        for number in range(rounds):
            for index in orders[number % len(orders)]:
                samples[names[index]] += timed_calls(sides[names[index]], calls)
    finally:
        gc.enable()
    return samples


def microseconds(times: list[int]) -> str:
    return f"{statistics.median(times) / 1000:.0f} µs"


def run(jira: SimulatedJira, *, quick: bool) -> Result:
    connection = fresh_connection(jira)
    url = jira.myself_url
    timeout = app_settings.HTTP_TIMEOUT

    def clients(
        adapter: requests.adapters.BaseAdapter | None = None,
    ) -> dict[str, Callable[[], requests.Response]]:
        ours, ours_no_env = connection.session(), connection.session()
        ours_no_env.trust_env = False
        bare_no_env = bare_session(connection.access_token, trust_env=False)
        bare = bare_session(connection.access_token, trust_env=True)
        if adapter is not None:
            for session in (ours, ours_no_env, bare_no_env, bare):
                session.mount("http://", adapter)
        return {
            OURS: lambda: ours.get("rest/api/2/myself"),
            OURS_NO_ENV: lambda: ours_no_env.get("rest/api/2/myself"),
            BARE_NO_ENV: lambda: bare_no_env.get(url, timeout=timeout),
            BARE: lambda: bare.get(url, timeout=timeout),
        }

    runs: dict[str, list[dict[str, list[int]]]] = {}
    for speed in speeds(quick):
        print(f"   {speed.name}: {RUNS} runs ...", flush=True)
        if speed.latency:
            jira.call("inject", target="api", fault="delay", times=None, delay=speed.latency)
        try:
            runs[speed.name] = [
                interleaved(
                    clients(),
                    rounds=speed.rounds,
                    calls=speed.calls,
                    warm_up=5 if speed.latency else 50,
                )
                for _ in range(RUNS)
            ]
        finally:
            jira.call("clear_faults")

    ours = clients()[OURS]
    with CaptureQueriesContext(db) as queries:
        timed_calls(ours, 300)
    queries_per_call = len(queries.captured_queries) / 300

    offline_rounds, offline_calls = (20, 50) if quick else (100, 50)
    alone = interleaved(
        clients(CannedAdapter()), rounds=offline_rounds, calls=offline_calls, warm_up=200
    )

    jira.call("nodelay", on=False)
    try:
        stalled = bare_session(connection.access_token, trust_env=False)
        stall = statistics.median(
            timed_calls(lambda: stalled.get(url, timeout=timeout), STALL_SAMPLE)
        )
        stalled.close()
    finally:
        jira.call("nodelay", on=True)

    loopback, slow = list(runs)
    first = speeds(quick)
    result = Result(
        key="overhead",
        title="Overhead of connection.session()",
        command="scripts/bench overhead",
        method=(
            f'`connection.session().get("rest/api/2/myself")` against a bare `requests.Session` '
            f"holding the same bearer token, Accept and User-Agent headers and timeout, every "
            f"client on its own kept-alive connection to the simulated Jira. Four clients: "
            f"`connection.session()` as it ships (requests' default `trust_env=True`: proxies "
            f"and CA bundle from the environment), the same with `trust_env=False`, and a bare "
            f"session with each `trust_env`, so each side is compared with a baseline that "
            f"differs from it in nothing but this app. Each run: {first[0].rounds} rounds of "
            f"{first[0].calls} calls per client on loopback ({first[0].rounds * first[0].calls:,} "
            f"each), {first[1].rounds} rounds of {first[1].calls} with {LATENCY * 1000:.0f} ms "
            f"added to every API answer (the simulator's `delay` fault: a Jira on the network), "
            f"interleaved in the orders of a Williams square (every client in every position, and "
            f"after every other client, equally often), after warm-up calls, with the garbage "
            f"collector paused. A ratio is of the median per-call times within a run; the figure "
            f"is the median of {RUNS} runs, with their min and max. Database queries are counted "
            f"with `CaptureQueriesContext` over 300 more calls while the token is valid. The "
            f"process had {len(os.environ)} environment variables (a `trust_env=True` bare "
            f"session scans them twice per call)."
        ),
    )
    rows = []
    for speed_name, speed_runs in runs.items():
        for client in CLIENTS:
            medians = [statistics.median(one[client]) / 1000 for one in speed_runs]
            rows.append(
                (
                    speed_name,
                    client,
                    Spread.of(medians).text(lambda v: f"{v:,.0f} µs"),
                )
            )
    result.tables.append(Table(("server", "client", "median per call"), rows))
    ratio_rows = []
    for speed_name, speed_runs in runs.items():
        for what, measured, baseline, target in RATIOS:
            spread = Spread.of(
                [
                    statistics.median(one[measured]) / statistics.median(one[baseline])
                    for one in speed_runs
                ]
            )
            ratio_rows.append((speed_name, what, spread.text(ratio), f"≤ {target:.2f}x"))
            result.checks.append(
                Check(
                    f"{speed_name}: {what}",
                    spread.text(ratio),
                    f"≤ {target:.2f}x",
                    spread.median <= target,
                    timing=True,
                )
            )
    result.tables.append(Table(("server", "ratio", "measured", "target"), ratio_rows))
    result.checks.append(
        Check(
            "database queries per call, token valid",
            f"{queries_per_call:g}",
            "0",
            queries_per_call == 0,
        )
    )
    result.tables.append(
        Table(
            ("client, no network", "median per call"),
            [(client, microseconds(alone[client])) for client in CLIENTS],
        )
    )
    extra = (statistics.median(alone[OURS]) - statistics.median(alone[BARE_NO_ENV])) / 1000
    bare_median = statistics.median([statistics.median(one[BARE_NO_ENV]) for one in runs[loopback]])
    result.notes += [
        f'The "no network" table puts every client on a transport adapter that answers at once '
        f"({offline_rounds} interleaved rounds of {offline_calls} calls), so only the clients' "
        f"own work is timed: `connection.session()` spends {extra:+.0f} µs per call against "
        f"the bare session with `trust_env=False` (resolving the relative URL, the expiry "
        f"check, the environment read once per session rather than per call, the per-request "
        f"Authorization header), where a whole loopback call to the simulator takes "
        f"{bare_median / 1000:.0f} µs. A bare session with `trust_env=True` pays for reading "
        f"the environment on every call, which is why `connection.session()` reads it once.",
        f"With {LATENCY * 1000:.0f} ms of server latency ({slow}), every ratio is within noise "
        f"of 1: what the client does is small beside any real Jira's answer time.",
        f"With `TCP_NODELAY` off on the simulator, a kept-alive call took "
        f"{stall / 1e6:.1f} ms (median of {STALL_SAMPLE} bare calls) instead of "
        f"{bare_median / 1e6:.2f} ms.",
        "Not measured here: a host site's own code around the calls, TLS (the simulator is "
        "plain HTTP on loopback, and a TLS handshake happens once per kept-alive connection on "
        "both sides alike), making the session (`connection.session()` reads the environment "
        "and the link once, per session: a site that makes one session per call pays that "
        "each time), a token refresh (the race and refresh sections), and a real network's "
        "variance beyond a fixed added latency.",
    ]
    return result
