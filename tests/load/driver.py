"""A bounded load run on loopback: users connecting and calling Jira at once, through the example
project served by gunicorn with several workers on PostgreSQL, against the simulator with
short-lived tokens so that refreshes happen under load.

Used by ``tests/load`` (a short run in CI) and runnable longer by hand::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m tests.load.driver --seconds 60

Every loop is bounded in count and time and talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from jira_connect.testing import JiraDCSimulator
from tests.processes import free_port, stop

ROOT = Path(__file__).resolve().parents[2]
KEY = "JCPbd9U1xHhqaF1kqMqo6Rt0Zr2nEuu8S-hvAOTsB-Y="
#: Browser tabs per user, each loading pages at the same time.
TABS = 3  # a fixed key for the run, never a real one


@dataclass
class LoadResult:
    users: int
    seconds: float
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    refreshes: int = 0
    refresh_rejections: int = 0
    chains_intact: int = 0
    chains_lost: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0

    def summary(self) -> str:
        return (
            f"{self.users} users, {self.seconds:.0f} s: {self.requests} page views "
            f"({self.requests / max(self.seconds, 0.001):.0f}/s, p50 {self.percentile(0.5) * 1000:.0f} ms, "
            f"p95 {self.percentile(0.95) * 1000:.0f} ms), {self.server_errors} 5xx, "
            f"{self.refreshes} refreshes, {self.refresh_rejections} refreshes rejected, "
            f"{self.chains_intact} token chains intact, {self.chains_lost} lost"
        )


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def run(
    database_url: str,
    *,
    users: int = 12,
    seconds: float = 15.0,
    workers: int = 4,
    token_ttl: int = 3,
) -> LoadResult:
    """Serve the example project with gunicorn and drive ``users`` browsers for ``seconds``."""
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    jira = JiraDCSimulator(context_path="/jira", access_token_ttl=token_ttl).start()
    jira.register_client(
        redirect_uri=f"{site}/jira/callback/",
        client_id="acme-demo-client",
        client_secret="acme-demo-secret",
        scope="WRITE",
        name="Example site",
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "False",
        "SECRET_KEY": "load-test-" + uuid.uuid4().hex,
        "ALLOWED_HOSTS": "127.0.0.1",
        "JIRA_CONNECT_ENCRYPTION_KEYS": KEY,
        "JIRA_CONNECT_ALLOW_HTTP": "true",
        "JIRA_CONNECT_REFRESH_LEEWAY": "0",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    manage(env, "migrate", "--noinput", "-v0")
    seed_users_and_link(env, users, jira.base_url)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "example_project.wsgi",
            "-w",
            str(workers),
            "--threads",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    result = LoadResult(users=users, seconds=seconds)
    try:
        wait_until_up(site, server)
        drive(site, jira, users, seconds, result)
        result.refreshes = jira.token_requests(grant_type="refresh_token")
        result.refresh_rejections = sum(
            1
            for record in jira.requests
            if record.grant_type == "refresh_token" and record.status != 200
        )
        count_chains(env, jira, result)
    finally:
        stop(server, timeout=20)
        jira.stop()
    return result


def seed_users_and_link(env: dict[str, str], users: int, base_url: str) -> None:
    script = (
        "from django.contrib.auth import get_user_model;"
        "from django.contrib.auth.models import Group;"
        "from jira_connect.models import JiraLink;"
        "g, _ = Group.objects.get_or_create(name='acme');"
        f"JiraLink.objects.update_or_create(slug='acme', defaults=dict(name='Acme Jira', tenant='acme', "
        f"base_url='{base_url}', client_id='acme-demo-client', client_secret='acme-demo-secret', scope='WRITE'));"
        "U = get_user_model();"
        f"[(u.set_password('pw'), u.save(), u.groups.add(g)) for u in "
        f"(U.objects.get_or_create(username=f'load{{n}}')[0] for n in range({users}))]"
    )
    manage(env, "shell", "-c", script)


def wait_until_up(site: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {server.stdout.read() if server.stdout else ''}")
        try:
            requests.get(f"{site}/accounts/login/", timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 30 s")


def drive(site: str, jira: JiraDCSimulator, users: int, seconds: float, result: LoadResult) -> None:
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def view_pages(number: int, browser: requests.Session) -> None:
        while time.monotonic() < stop_at:
            started = time.monotonic()
            response = browser.get(f"{site}/", timeout=30)
            elapsed = time.monotonic() - started
            with lock:
                result.requests += 1
                result.statuses[response.status_code] += 1
                result.latencies.append(elapsed)
                if "Your issues in Acme Jira" not in response.text:
                    result.errors.append(
                        f"load{number}: home page without issues ({response.status_code})"
                    )

    def browse(number: int) -> None:
        """One user: log in, connect, then several tabs at once, so that their connection's
        refreshes race across gunicorn's worker processes."""
        browser = requests.Session()
        browser.trust_env = False
        try:
            log_in(browser, site, f"load{number}")
            connect(browser, site, jira)
            tabs = [
                threading.Thread(target=view_pages, args=(number, browser)) for _ in range(TABS)
            ]
            for tab in tabs:
                tab.start()
            for tab in tabs:
                tab.join(timeout=seconds + 120)
        except Exception as err:
            with lock:
                result.errors.append(f"load{number}: {type(err).__name__}: {err}")

    threads = [threading.Thread(target=browse, args=(n,)) for n in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 180)


def submit(
    browser: requests.Session, url: str, data: dict[str, str], what: str
) -> requests.Response:
    """GET the form at ``url`` and POST ``data`` back as a browser would: with the page's CSRF
    token and a Referer (Django's CSRF check wants both). The form must answer with a redirect;
    ``what`` names the step in the assertion that says it did not."""
    page = browser.get(url, timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, f"no CSRF token on the {what} page"
    response = browser.post(
        url,
        data={**data, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, f"{what} failed: {response.status_code}"
    return response


def log_in(browser: requests.Session, site: str, username: str) -> None:
    submit(browser, f"{site}/accounts/login/", {"username": username, "password": "pw"}, "login")


def connect(browser: requests.Session, site: str, jira: JiraDCSimulator) -> None:
    started = submit(browser, f"{site}/jira/acme/connect/", {"next": "/"}, "connect")
    callback = jira.authorize(started.headers["Location"], user="alice")
    back = browser.get(
        site + urlsplit(callback).path + "?" + urlsplit(callback).query,
        allow_redirects=False,
        timeout=30,
    )
    assert back.status_code == 302, f"callback failed: {back.status_code}"


def count_chains(env: dict[str, str], jira: JiraDCSimulator, result: LoadResult) -> None:
    """A chain is intact when the stored refresh token still works at Jira and the status is active."""
    output = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from jira_connect.models import JiraConnection;"
            "[print('CHAIN', c.status, c.refresh_token) for c in JiraConnection.objects.all()]",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    for line in output.splitlines():
        if not line.startswith("CHAIN "):
            continue  # e.g. the shell's own "objects imported" notice
        _, status, token = line.split(" ", 2)
        if status == "active" and jira.is_valid_refresh_token(token):
            result.chains_intact += 1
        else:
            result.chains_lost += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--token-ttl", type=int, default=3)
    args = parser.parse_args()
    admin_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    name = f"jira_connect_load_{os.getpid()}"
    base = admin_url.rsplit("/", 1)[0]
    subprocess.run(["psql", admin_url, "-qc", f"CREATE DATABASE {name}"], check=True)
    try:
        result = run(
            f"{base}/{name}",
            users=args.users,
            seconds=args.seconds,
            workers=args.workers,
            token_ttl=args.token_ttl,
        )
    finally:
        subprocess.run(
            ["psql", admin_url, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False
        )
    print(result.summary())
    for error in result.errors[:20]:
        print("  ", error)
    sys.exit(0 if not result.errors and not result.server_errors and not result.chains_lost else 1)


if __name__ == "__main__":
    main()
