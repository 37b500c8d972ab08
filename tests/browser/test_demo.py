"""The demo, walked in a real browser: log in, connect Acme's Jira, disconnect, deny, tenants.

Each step saves a screenshot; with UPDATE_SCREENSHOTS=1 they go to docs/img/ for the docs.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: scripts/test installs it"
)

from playwright.sync_api import Locator, Page, expect

if TYPE_CHECKING:
    from tests.browser.conftest import DemoSite

pytestmark = pytest.mark.browser

# docs/img/ only when asked (UPDATE_SCREENSHOTS=1): the pictures show random ports, so
# rewriting them on every run would leave the work tree dirty for nothing.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "img"
    if os.environ.get("UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "jira_connect_screenshots"
)
CONSENT_PATH = "/plugins/servlet/oauth2/consent"


def screenshot(page: Page, name: str) -> None:
    """Save ``<name>.png`` in ``SCREENSHOTS``, overwriting the previous run's."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def log_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(username)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"Hello, {username}.")).to_be_visible()


def expect_message(page: Page, text: str) -> None:
    """The page shows exactly one flash message, ``text`` (site or app template)."""
    expect(page.locator("ul.messages > li, ul.jc-messages > li")).to_have_text([text])


def on_consent_page(page: Page, site: DemoSite) -> None:
    expect(page).to_have_url(re.compile("^" + re.escape(site.acme.base_url + CONSENT_PATH)))
    expect(page.locator("h1")).to_have_text("Example site wants to access your Acme Jira account")
    page.locator("#user").select_option("alice")


def acme_row(page: Page) -> Locator:
    return page.locator("#jira-link-acme")


def test_connect_then_disconnect(page: Page, demo_site: DemoSite) -> None:
    log_in(page, "alice")
    expect(page).to_have_url(f"{demo_site.url}/")
    expect(page.get_by_text("Acme Jira", exact=True)).to_be_visible()
    expect(page.get_by_text(demo_site.acme.base_url)).to_be_visible()
    screenshot(page, "demo-1-home")

    # The home page's button posts straight to Jira (the confirmation page is the GET
    # fallback of the same URL: see test_deny_on_jira).
    page.get_by_role("button", name="Connect Acme Jira", exact=True).click()
    on_consent_page(page, demo_site)
    screenshot(page, "demo-3-consent")
    page.locator("#approve").click()

    # Back where the button was, with the news and the new status.
    expect(page).to_have_url(f"{demo_site.url}/")
    expect_message(page, "Connected to Acme Jira as Alice Example.")
    expect(page.locator("#panel-acme .jc-status.active")).to_have_text("Connected")
    expect(page.locator("#panel-acme")).to_contain_text("as Alice Example (alice)")
    expect(page.get_by_role("button", name="Connect Acme Jira", exact=True)).to_have_count(0)
    # The host site's code calls Jira through connection.session(): alice's own issues.
    expect(page.get_by_text("Your issues in Acme Jira")).to_be_visible()
    expect(page.locator("#panel-acme ul.issues li").first).to_be_visible()
    screenshot(page, "demo-4-connected")
    assert demo_site.acme.token_requests("authorization_code") >= 1

    page.get_by_role("link", name="All your Jira connections").click()
    expect(page).to_have_url(f"{demo_site.url}/jira/")
    expect(acme_row(page)).to_contain_text("Connected")
    expect(acme_row(page)).to_contain_text("as Alice Example (alice)")
    screenshot(page, "demo-4-connections")

    acme_row(page).get_by_role("button", name="Disconnect Acme Jira").click()
    # First a confirmation page: nothing is removed by one stray click.
    expect(page.locator("h1")).to_have_text("Disconnect Acme Jira?")
    page.get_by_role("button", name="Disconnect Acme Jira").click()
    expect(page).to_have_url(f"{demo_site.url}/jira/")
    expect_message(
        page,
        "Disconnected from Acme Jira. To remove this site's access in Jira too, open your Jira "
        "profile, “Authorized applications”.",
    )
    expect(acme_row(page)).to_contain_text("Not connected")
    expect(
        acme_row(page).get_by_role("button", name="Connect Acme Jira", exact=True)
    ).to_be_visible()
    screenshot(page, "demo-5-disconnected")

    page.goto("/")
    expect(page.get_by_role("button", name="Connect Acme Jira", exact=True)).to_be_visible()
    expect(page.locator("#panel-acme .jc-status.active")).to_have_count(0)


def test_deny_on_jira(page: Page, demo_site: DemoSite) -> None:
    log_in(page, "alice")
    page.goto("/jira/acme/connect/")
    expect(page.locator("h1")).to_have_text("Connect Acme Jira")
    expect(page.get_by_text(f"your Jira at {demo_site.acme.base_url}")).to_be_visible()
    screenshot(page, "demo-2-confirm")

    page.get_by_role("button", name="Continue to Jira").click()
    on_consent_page(page, demo_site)
    page.locator("#deny").click()

    expect(page).to_have_url(f"{demo_site.url}/jira/")  # where it started (no next: the list)
    expect_message(page, "You cancelled connecting to Acme Jira.")
    expect(acme_row(page)).to_contain_text("Not connected")
    expect(acme_row(page).get_by_role("button", name="Disconnect")).to_have_count(0)
    screenshot(page, "demo-6-denied")


def test_other_tenant_does_not_see_acme(page: Page, demo_site: DemoSite) -> None:
    log_in(page, "bob")
    expect(page.get_by_role("button", name="Connect Globex Jira", exact=True)).to_be_visible()
    expect(page.get_by_text("Acme")).to_have_count(0)
    screenshot(page, "demo-7-other-tenant")

    page.goto("/jira/")
    expect(page.locator("#jira-link-globex")).to_contain_text("Not connected")
    expect(acme_row(page)).to_have_count(0)
    expect(page.get_by_text("Acme")).to_have_count(0)

    response = page.goto("/jira/acme/connect/")
    assert response is not None
    assert response.status == 404
