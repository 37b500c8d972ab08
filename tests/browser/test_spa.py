"""The example single-page app in Chromium: list, connect through Jira's consent page, disconnect.

The page talks to the server only through the JSON API. It runs at a desktop width and at a
phone's; with UPDATE_SCREENSHOTS=1 the screenshots go to docs/img/ for the docs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: scripts/test installs it"
)

from playwright.sync_api import Locator, Page, expect

from tests.browser.test_demo import CONSENT_PATH, SCREENSHOTS

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.browser.conftest import DemoSite

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture(params=list(WIDTHS))
def width(request: pytest.FixtureRequest) -> str:
    """``desktop`` or ``phone``: each test runs at both."""
    name: str = request.param
    return name


@pytest.fixture
def spa(width: str, chromium: Browser, demo_site: DemoSite) -> Iterator[Page]:
    """A fresh profile at ``width``, logged in as alice on the app; she ends disconnected."""
    pixels, height = WIDTHS[width]
    context = chromium.new_context(
        base_url=demo_site.url,
        viewport={"width": pixels, "height": height},
        device_scale_factor=1,
        is_mobile=pixels < 600,
        has_touch=pixels < 600,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto("/accounts/login/?next=/spa/")
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill("alice")
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{demo_site.url}/spa/")
        yield page
    finally:
        # Leave the shared demo site as the other browser tests expect it, whatever happened.
        token = page.evaluate(
            "fetch('/jira/api/links/').then(r => r.ok ? r.json() : {}).then(d => d.csrf_token)"
        )
        if token:
            page.request.post(
                "/jira/api/links/acme/disconnect/",
                headers={"X-CSRFToken": token, "Referer": f"{demo_site.url}/spa/"},
            )
        context.close()


def screenshot(page: Page, name: str, width: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"spa-{name}-{width}.png", full_page=True)


def card(page: Page) -> Locator:
    return page.locator("#link-acme")


def test_connect_and_disconnect_in_the_spa(spa: Page, width: str, demo_site: DemoSite) -> None:
    page = spa
    expect(page.locator("h1")).to_have_text("Your Jira connections")
    expect(card(page)).to_contain_text("Acme Jira")
    expect(card(page)).to_contain_text(demo_site.acme.base_url)
    expect(card(page)).to_contain_text("Not connected")
    expect(page.get_by_text("Globex")).to_have_count(0)  # another tenant's link
    screenshot(page, "1-links", width)

    page.get_by_role("button", name="Connect Acme Jira", exact=True).click()
    expect(page).to_have_url(re.compile("^" + re.escape(demo_site.acme.base_url + CONSENT_PATH)))
    page.locator("#user").select_option("alice")
    page.locator("#approve").click()

    # Back on the app, which read the outcome from the query string and then dropped it.
    expect(page).to_have_url(f"{demo_site.url}/spa/")
    expect(page.locator("#banner")).to_have_text("Connected to Acme Jira as Alice Example.")
    expect(card(page)).to_contain_text("Connected")
    expect(card(page)).to_contain_text("Alice Example (alice)")
    expect(card(page)).to_contain_text("WRITE")
    expect(page.get_by_role("button", name="Connect Acme Jira", exact=True)).to_have_count(0)
    screenshot(page, "2-connected", width)

    page.get_by_role("button", name="Disconnect Acme Jira").click()
    expect(page.locator("#banner")).to_contain_text("Disconnected from Acme Jira.")
    expect(card(page)).to_contain_text("Not connected")
    expect(page.get_by_role("button", name="Connect Acme Jira", exact=True)).to_be_visible()
    screenshot(page, "3-disconnected", width)


def test_cancel_on_jira(spa: Page, demo_site: DemoSite) -> None:
    page = spa
    page.get_by_role("button", name="Connect Acme Jira", exact=True).click()
    expect(page).to_have_url(re.compile("^" + re.escape(demo_site.acme.base_url + CONSENT_PATH)))
    page.locator("#deny").click()
    expect(page).to_have_url(f"{demo_site.url}/spa/")
    expect(page.locator("#banner")).to_have_text("You cancelled connecting to Acme Jira.")
    expect(card(page)).to_contain_text("Not connected")


def test_logged_out(chromium: Browser, demo_site: DemoSite) -> None:
    context = chromium.new_context(base_url=demo_site.url)
    try:
        page = context.new_page()
        page.goto("/spa/")
        page.get_by_role("link", name="Log in").click()
        expect(page).to_have_url(f"{demo_site.url}/accounts/login/?next=/spa/")
    finally:
        context.close()
