"""(b) The 64-caller race: 8 processes x 8 threads on one expired token, Jira rotating tokens.

Each contender gets a fresh connection whose access token has expired (in the database and in
the simulated Jira), then 64 threads in 8 processes each build a session from the stored token
and call ``rest/api/2/myself`` at the same instant. Counted: refresh requests that reached the
token endpoint, calls that failed, and whether the token chain survived (the stored refresh
token is still valid and the stored access token is accepted).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.db import connection as db
from django.utils import timezone

from bench.data import make_connections, make_link
from bench.jira import ROOT, SimulatedJira
from bench.report import Check, Result, Table
from jira_connect.models import JiraConnection, JiraLink

PROCESSES = 8
THREADS = 8
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


def run_race(jira: SimulatedJira, link: JiraLink, contender: str) -> Outcome:
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
        subprocess.Popen(  # noqa: S603 (our own module, no shell)
            [sys.executable, "-m", "bench.race_worker", contender, str(pk), str(THREADS)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    outcomes: Counter[str] = Counter()
    try:
        for worker in workers:
            assert worker.stdout is not None
            line = worker.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"a race worker did not get ready: {line!r}")
        started = time.perf_counter()
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        for worker in workers:
            out, _ = worker.communicate(timeout=120)
            if worker.returncode != 0:
                raise RuntimeError(f"a race worker failed with status {worker.returncode}")
            outcomes.update(json.loads(out.strip().splitlines()[-1]))
        seconds = time.perf_counter() - started
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
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
        calls=PROCESSES * THREADS,
        outcomes=outcomes,
        refreshes=refreshes,
        refresh_token_valid=refresh_token_valid,
        access_token_works=response.status_code == 200,
        seconds=seconds,
    )


def run(jira: SimulatedJira, *, quick: bool) -> Result:
    if db.vendor != "postgresql":
        raise RuntimeError("the race needs PostgreSQL's row locks")
    link = make_link(jira)
    races = [run_race(jira, link, contender) for contender in CONTENDERS]
    calls = PROCESSES * THREADS
    table = Table(
        ("contender", "refreshes sent", f"failed calls / {calls}", "chain intact", "outcomes"),
        [
            (
                LABELS[race.contender],
                str(race.refreshes),
                str(race.failures),
                yes_no(race.chain_intact),
                ", ".join(f"{count} x {name}" for name, count in race.outcomes.most_common()),
            )
            for race in races
        ],
    )
    ours = races[0]
    result = Result(
        key="race",
        title=f"{calls} concurrent callers on one expired token",
        command="scripts/bench race",
        method=(
            f"One connection whose access token has expired (in the database and in the "
            f"simulated Jira, which rotates tokens: every refresh kills the previous refresh and "
            f"access tokens). {PROCESSES} processes x {THREADS} threads each read the row and "
            f"build their own session from the stored token, as web workers do, then all call "
            f"`rest/api/2/myself` at the same instant (a cross-process barrier). The peers use "
            f"what their documentation offers for this: requests-oauthlib's `OAuth2Session` with "
            f"`auto_refresh_url`, `auto_refresh_kwargs` (client ID, secret, redirect URI) and a "
            f"`token_updater` that saves the new pair to the row; Authlib's `OAuth2Session` with "
            f"`token_endpoint`, `client_secret_post` and an `update_token` that does the same. "
            f'"Refreshes sent" counts refresh requests that reached the token endpoint; the '
            f"chain is intact when the stored refresh token is still valid in Jira and the "
            f"stored access token is accepted."
        ),
    )
    result.tables.append(table)
    result.checks += [
        Check("refresh requests (ours)", str(ours.refreshes), "exactly 1", ours.refreshes == 1),
        Check(f"failed calls / {calls} (ours)", str(ours.failures), "0", ours.failures == 0),
        Check("token chain (ours)", yes_no(ours.chain_intact), "intact", ours.chain_intact),
    ]
    result.notes += [
        "For a fair field the simulator's `require_redirect_uri_on_refresh` switch was off for "
        "the peers (Authlib sends no `redirect_uri` on refresh; Jira is reported to answer a "
        "bare `invalid_grant` then) and on, the stricter default, for django-jira-connect, "
        "which always sends it. `OAUTHLIB_INSECURE_TRANSPORT=1` was set only in the "
        "requests-oauthlib workers' environment (it refuses http:// token URLs otherwise); "
        "django-jira-connect needs only `ALLOW_HTTP`.",
        "Time from the start signal to the last answer: "
        + ", ".join(f"{LABELS[race.contender]} {race.seconds:.2f} s" for race in races)
        + " (process scheduling on this machine dominates; not a target).",
    ]
    return result


def yes_no(value: bool) -> str:
    return "yes" if value else "no"
