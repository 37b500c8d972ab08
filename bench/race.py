"""(b) The race: many callers on one expired token, Jira rotating tokens.

Each contender gets a fresh connection whose access token has expired (in the database and in
the simulated Jira), then 64 threads in 8 processes (and 256 in 16 x 16) each build a session
from the stored token and call ``rest/api/2/myself`` at the same instant. Counted: refresh
requests that reached the token endpoint, calls that failed, and whether the token chain
survived (the stored refresh token is still valid and the stored access token is accepted).
Every race runs ``RUNS`` times on fresh connections.

Every caller holds a database connection from the moment it reads the row, as a web worker's
thread does for the whole request; ``python -m bench`` runs on a PostgreSQL server of its own
with room for them (``bench.cluster``).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.db import connection as db
from django.utils import timezone

from bench.data import make_connections, make_link
from bench.gate import release_together, start_worker
from bench.jira import SimulatedJira
from bench.report import RUNS, Check, Result, Spread, Table
from jira_connect.models import JiraConnection, JiraLink

#: (processes, threads per process) of each race.
SCALES = ((8, 8), (16, 16))
#: Runs of each race for the peers, whose figures are shown beside ours but are no target: each
#: race costs seconds of process start-up, and their outcome does not vary (every caller refreshes).
PEER_RUNS = 1
CONTENDERS = ("jira_connect", "requests-oauthlib", "authlib")
LABELS = {
    "jira_connect": "django-jira-connect",
    "requests-oauthlib": "requests-oauthlib (auto-refresh)",
    "authlib": "Authlib (OAuth2Session)",
}


@dataclass(frozen=True)
class Outcome:
    contender: str
    calls: int
    outcomes: Counter[str]
    refreshes: int
    refresh_token_valid: bool
    access_token_works: bool
    seconds: float

    @property
    def failures(self) -> int:
        return self.calls - self.outcomes["200"]

    @property
    def chain_intact(self) -> bool:
        return self.refresh_token_valid and self.access_token_works


def worker_environment(contender: str) -> dict[str, str]:
    """This process's environment (DJANGO_SETTINGS_MODULE and DATABASE_URL included)."""
    env = dict(os.environ)
    env.pop("OAUTHLIB_INSECURE_TRANSPORT", None)
    if contender == "requests-oauthlib":
        # It refuses http:// token URLs otherwise; set only in these processes.
        env["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    return env


def run_race(
    jira: SimulatedJira, link: JiraLink, contender: str, processes: int, threads: int
) -> Outcome:
    # Rotation is always on in the simulator; the peers send no redirect_uri on refresh
    # (Authlib) or may not, so for a fair field Jira does not demand one from them.
    jira.call("configure", require_redirect_uri_on_refresh=contender == "jira_connect")
    (pk,) = make_connections(
        jira,
        link,
        1,
        expires_at=timezone.now() - timedelta(seconds=1),
        last_refreshed_at=timezone.now() - timedelta(hours=1),
    )
    jira.call("expire_access_tokens")
    before = jira.refresh_requests()
    env = worker_environment(contender)
    workers = [
        start_worker("bench.race_worker", contender, str(pk), str(threads), env=env)
        for _ in range(processes)
    ]
    outcomes: Counter[str] = Counter()
    reports, seconds = release_together(workers, "race")
    for report in reports:
        outcomes.update(report)
    if outcomes["never started"]:
        raise RuntimeError(f"the race could not start: {dict(outcomes)}")
    refreshes = jira.refresh_requests() - before
    stored = JiraConnection.objects.get(pk=pk)
    refresh_token_valid = bool(stored.refresh_token) and bool(
        jira.call("is_valid_refresh_token", token=stored.refresh_token)
    )
    response = requests.get(
        jira.myself_url,
        headers={"Authorization": f"Bearer {stored.access_token}"},
        timeout=10,
    )
    return Outcome(
        contender=contender,
        calls=processes * threads,
        outcomes=outcomes,
        refreshes=refreshes,
        refresh_token_valid=refresh_token_valid,
        access_token_works=response.status_code == 200,
        seconds=seconds,
    )


def run(jira: SimulatedJira, *, quick: bool) -> Result:
    if db.vendor != "postgresql":
        raise RuntimeError("the race needs PostgreSQL's row locks")
    with db.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        max_connections = int(cursor.fetchone()[0])
    link = make_link(jira)
    runs = 1 if quick else RUNS
    scales = [
        (processes, threads)
        for processes, threads in (SCALES[:1] if quick else SCALES)
        if processes * threads + 10 <= max_connections
    ]
    races: dict[tuple[int, int], dict[str, list[Outcome]]] = {}
    for processes, threads in scales:
        races[processes, threads] = {contender: [] for contender in CONTENDERS}
        for number in range(runs):
            print(
                f"   {processes * threads} callers ({processes} x {threads}), run {number + 1} "
                f"of {runs} ...",
                flush=True,
            )
            for contender in CONTENDERS:
                if number >= PEER_RUNS and contender != "jira_connect":
                    continue
                outcome = run_race(jira, link, contender, processes, threads)
                races[processes, threads][contender].append(outcome)
    biggest = max(processes * threads for processes, threads in scales)
    result = Result(
        key="race",
        title=f"{' and '.join(str(p * t) for p, t in scales)} concurrent callers on one "
        f"expired token",
        command="scripts/bench race",
        method=(
            "One connection whose access token has expired (in the database and in the "
            "simulated Jira, which rotates tokens: every refresh kills the previous refresh and "
            "access tokens). "
            + " and ".join(f"{p} processes x {t} threads" for p, t in scales)
            + " each read the row and build their own session from the stored token, as web "
            "workers do, then all call `rest/api/2/myself` at the same instant (a "
            "cross-process barrier). Each caller keeps its database connection from reading "
            "the row to the end of its call, as a web worker's thread keeps one for the whole "
            f"request: {biggest} callers need {biggest} connections at once, so the benchmark "
            f"runs on a PostgreSQL server of its own (max_connections {max_connections}) rather "
            "than on a shared one with 100, and does not release the callers' connections "
            "while they wait: a caller waiting for the refresh waits inside PostgreSQL, on the "
            "row lock. The peers use what their documentation offers for this: "
            "requests-oauthlib's `OAuth2Session` with `auto_refresh_url`, `auto_refresh_kwargs` "
            "(client ID, secret, redirect URI) and a `token_updater` that saves the new pair to "
            "the row; Authlib's `OAuth2Session` with `token_endpoint`, `client_secret_post` and "
            f"an `update_token` that does the same. Each race ran {runs} time(s) on a fresh "
            'connection. "Refreshes sent" counts refresh requests that reached the token '
            "endpoint; the chain is intact when the stored refresh token is still valid in Jira "
            "and the stored access token is accepted."
        ),
    )
    for (processes, threads), by_contender in races.items():
        calls = processes * threads
        result.tables.append(
            Table(
                (
                    f"{calls} callers ({processes} x {threads})",
                    "refreshes sent",
                    f"failed calls / {calls}",
                    "chain intact",
                    "outcomes (every run)",
                ),
                [
                    (
                        LABELS[contender],
                        Spread.of([o.refreshes for o in outcomes]).text(lambda v: f"{v:g}"),
                        Spread.of([o.failures for o in outcomes]).text(lambda v: f"{v:g}"),
                        f"{sum(o.chain_intact for o in outcomes)} of {len(outcomes)} runs",
                        ", ".join(
                            f"{count} x {name}"
                            for name, count in sum(
                                (o.outcomes for o in outcomes), Counter[str]()
                            ).most_common()
                        ),
                    )
                    for contender, outcomes in by_contender.items()
                ],
            )
        )
        ours = by_contender["jira_connect"]
        refreshes = Spread.of([o.refreshes for o in ours])
        failures = Spread.of([o.failures for o in ours])
        result.checks += [
            Check(
                f"{calls} callers: refresh requests (ours), every run",
                refreshes.text(lambda v: f"{v:g}"),
                "exactly 1",
                all(o.refreshes == 1 for o in ours),
            ),
            Check(
                f"{calls} callers: failed calls (ours), every run",
                failures.text(lambda v: f"{v:g}"),
                "0",
                all(o.failures == 0 for o in ours),
            ),
            Check(
                f"{calls} callers: token chain (ours), every run",
                f"{sum(o.chain_intact for o in ours)} of {len(ours)} intact",
                "intact",
                all(o.chain_intact for o in ours),
            ),
        ]
    skipped = [p * t for p, t in (SCALES[:1] if quick else SCALES) if (p, t) not in scales]
    if skipped:
        result.notes.append(
            f"Not run: {', '.join(map(str, skipped))} callers, which need more database "
            f"connections than this server's max_connections ({max_connections})."
        )
    result.notes += [
        "For a fair field the simulator's `require_redirect_uri_on_refresh` switch was off for "
        "the peers (Authlib sends no `redirect_uri` on refresh; Jira is reported to answer a "
        "bare `invalid_grant` then) and on, the stricter default, for django-jira-connect, "
        "which always sends it. `OAUTHLIB_INSECURE_TRANSPORT=1` was set only in the "
        "requests-oauthlib workers' environment (it refuses http:// token URLs otherwise); "
        "django-jira-connect needs only `ALLOW_HTTP`.",
        "Time from the start signal to the last answer, median of the runs: "
        + "; ".join(
            f"{calls} callers: "
            + ", ".join(
                f"{LABELS[contender]} "
                + Spread.of([o.seconds for o in outcomes]).text(lambda v: f"{v:.2f} s")
                for contender, outcomes in by_contender.items()
            )
            for (p, t), by_contender in races.items()
            for calls in [p * t]
        )
        + " (process scheduling on this machine dominates; not a target).",
        "Not measured here: callers on several machines (every process here shares one "
        "machine and one PostgreSQL), a Jira slower to answer the refresh than the simulator "
        "(callers then wait longer on the row lock, holding their connections), and "
        "connection poolers in transaction mode (pgbouncer), with which a session-level "
        "caller's connection is not its own.",
    ]
    return result


def yes_no(value: bool) -> str:
    return "yes" if value else "no"
