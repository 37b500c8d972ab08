"""The demo stack for the browser tests: two simulated Jiras, the example project, Chromium.

Everything runs on ephemeral loopback ports: the simulators in this process, the example project
as ``manage.py runserver`` in a subprocess on a fresh SQLite database, and Debian's Chromium
(``scripts/install-browser``) driven by Playwright. Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from jira_connect.testing import JiraDCSimulator
from tests.processes import free_port, run_python, stop

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 30.0
# What demo_setup registers on each link: the simulators must know the same client.
DEMO_CLIENTS = {
    "acme": ("acme-demo-client", "acme-demo-secret"),
    "globex": ("globex-demo-client", "globex-demo-secret"),
}


@dataclass(frozen=True)
class DemoSite:
    url: str
    acme: JiraDCSimulator
    globex: JiraDCSimulator


def manage(*args: str, env: dict[str, str]) -> None:
    result = run_python("manage.py", *args, env=env)
    if result.returncode != 0:
        pytest.fail(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")


def wait_until_serving(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"runserver exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (loopback http)
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    pytest.fail(
        f"runserver did not answer on {url} in {SERVER_START_TIMEOUT:.0f}s:\n{log.read_text()}"
    )


@contextmanager
def serve_demo_site(tmp: Path) -> Iterator[DemoSite]:
    """The example project seeded by ``demo_setup`` (database in ``tmp``), two simulated Jiras."""
    port = free_port()
    site_url = f"http://127.0.0.1:{port}"
    with (
        JiraDCSimulator(context_path="/jira", server_title="Acme Jira") as acme,
        JiraDCSimulator(server_title="Globex Jira") as globex,
    ):
        for slug, jira in (("acme", acme), ("globex", globex)):
            client_id, client_secret = DEMO_CLIENTS[slug]
            jira.register_client(
                redirect_uri=f"{site_url}/jira/callback/",
                client_id=client_id,
                client_secret=client_secret,
                scope="WRITE",
                name="Example site",
            )
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        env.update(
            DJANGO_SETTINGS_MODULE="example_project.settings",
            DATABASE_URL=f"sqlite:///{tmp / 'demo.sqlite3'}",
            DEBUG="True",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        # As scripts/demo does, checks included (migrate runs the database checks first).
        manage("migrate", "--noinput", "-v0", env=env)
        manage(
            "demo_setup",
            "--sample-history",
            "--site-url",
            site_url,
            "--acme-url",
            acme.base_url,
            "--globex-url",
            globex.base_url,
            env=env,
        )
        log = tmp / "runserver.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until_serving(f"{site_url}/accounts/login/", server, log)
            yield DemoSite(url=site_url, acme=acme, globex=globex)
        finally:
            stop(server)


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    """The example project seeded by ``demo_setup`` and served against two simulated Jiras."""
    with serve_demo_site(tmp_path_factory.mktemp("demo-site")) as site:
        yield site


@pytest.fixture(scope="module")
def admin_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    """Another demo site with its own database, for the admin test's links and connections.

    The admin test adds a link for Acme's tenant and leaves alice connected through it: on the
    shared ``demo_site`` that would change what ``test_demo`` sees and photographs.
    """
    with serve_demo_site(tmp_path_factory.mktemp("admin-site")) as site:
        yield site


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, through Playwright (skipped when either is missing).

    Per module: Playwright's sync API keeps an event loop running in the main thread while it
    is open, and the tests that run after the browser's (in any order) must not find one.
    """
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (scripts/test installs it)"
    )
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/install-browser")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Browser, demo_site: DemoSite) -> Iterator[Page]:
    """A fresh browser profile (no cookies) on the demo site."""
    context = chromium.new_context(base_url=demo_site.url, viewport={"width": 1024, "height": 720})
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()
