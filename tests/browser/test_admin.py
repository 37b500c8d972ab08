"""The staff side, walked in a real browser: register a customer's Jira, test it, act on connections.

A third simulated Jira, Initech's, exists only here. Staff read the Redirect URL from the admin's
add page and "register" it in that Jira, which hands back a client ID and secret, as a real Jira's
incoming link does. Runs on its own demo site (``admin_site``) so that the extra link and alice's
connection through it never show in ``test_demo``'s pages and pictures.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: scripts/test installs it"
)

from playwright.sync_api import Browser, BrowserContext, Page, expect

from jira_connect.testing import JiraDCSimulator
from tests.browser.test_demo import CONSENT_PATH, expect_message, log_in, screenshot

if TYPE_CHECKING:
    from tests.browser.conftest import DemoSite

pytestmark = pytest.mark.browser

WRONG_SECRET = "not-the-secret-jira-gave"


@pytest.fixture
def initech() -> Iterator[JiraDCSimulator]:
    """Initech's Jira, under a /jira context path; its incoming link is made by the test."""
    with JiraDCSimulator(context_path="/jira", server_title="Initech Jira") as jira:
        yield jira


class Browsing:
    """A browser profile of its own (cookies, session) per person."""

    def __init__(self, chromium: Browser, site: DemoSite) -> None:
        self.chromium = chromium
        self.site = site
        self.contexts: list[BrowserContext] = []

    def new_page(self, width: int = 1024, height: int = 720) -> Page:
        context = self.chromium.new_context(
            base_url=self.site.url, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        return context.new_page()


@pytest.fixture
def pages(chromium: Browser, admin_site: DemoSite) -> Iterator[Browsing]:
    browsing = Browsing(chromium, admin_site)
    try:
        yield browsing
    finally:
        for context in browsing.contexts:
            context.close()


class AdminPages:
    """The staff user's page, checking every admin page it shows for leaked secrets."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.secrets: list[str] = []
        self.checked = 0

    def check(self) -> None:
        """The page's HTML holds none of the secrets typed so far."""
        html = self.page.content()
        for secret in self.secrets:
            assert secret not in html, f"the client secret is in {self.page.url}"
        self.checked += 1

    def log_in(self) -> None:
        page = self.page
        page.goto("/admin/")
        expect(page).to_have_url(re.compile(r"/admin/login/"))
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill("admin")
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("tr.model-jiralink")).to_be_visible()
        # Fold the admin's navigation sidebar (the browser remembers it): room for the lists.
        page.goto("/admin/jira_connect/jiralink/")
        page.locator("#toggle-nav-sidebar").click()
        expect(page.locator("#nav-sidebar")).to_be_hidden()
        page.goto("/admin/")

    def open_link(self, name: str) -> None:
        page = self.page
        page.goto("/admin/jira_connect/jiralink/")
        page.locator("#result_list").get_by_role("link", name=name, exact=True).click()
        expect(page.locator("#jira-connect-test-link")).to_be_visible()
        self.check()

    def test_link(self) -> None:
        self.page.locator("#jira-connect-test-link").click()
        expect(self.page).to_have_url(re.compile(r"/admin/jira_connect/jiralink/\d+/test/$"))
        self.check()


def test_staff_registers_a_link_and_a_user_connects_through_it(
    pages: Browsing, admin_site: DemoSite, initech: JiraDCSimulator
) -> None:
    site = admin_site
    admin = AdminPages(pages.new_page(width=1280, height=800))
    page = admin.page
    admin.log_in()

    # 1. Jira links > Add: the page says what to do in Jira, with this site's Redirect URL.
    page.locator("tr.model-jiralink").get_by_role("link", name="Add").click()
    expect(page).to_have_url(f"{site.url}/admin/jira_connect/jiralink/add/")
    redirect_url = page.locator("code.jira-connect-redirect-url")
    expect(redirect_url).to_have_text(f"{site.url}/jira/callback/")
    expect(page.get_by_text("Create link > External application > Incoming")).to_be_visible()

    # What the Jira administrator does with it: an incoming link, which gives the credentials.
    incoming = initech.register_client(
        redirect_uri=redirect_url.inner_text(), scope="WRITE", name="Example site"
    )
    admin.secrets.append(incoming.client_secret)

    page.locator("#id_name").fill("Initech Jira")
    page.locator("#id_name").press("Tab")
    expect(page.locator("#id_slug")).to_have_value("initech-jira")  # prepopulated from the name
    page.locator("#id_slug").fill("initech")
    page.locator("#id_tenant").fill("acme")
    page.locator("#id_base_url").fill(initech.base_url)
    page.locator("#id_client_id").fill(incoming.client_id)
    page.locator("#id_client_secret").fill(incoming.client_secret)
    page.locator("input[name=scope][value=WRITE]").check()
    expect(page.locator("input[name=scope]:checked")).to_have_count(1)
    expect(page.locator("#id_slug")).to_have_value("initech")
    screenshot(page, "admin-1-add-link")
    page.locator("input[name=_save]").click()

    expect(page).to_have_url(f"{site.url}/admin/jira_connect/jiralink/")
    expect(page.locator("ul.messagelist li.success")).to_contain_text("Initech Jira")
    row = page.locator("#result_list tbody tr", has_text="Initech Jira")
    expect(row.locator("td.field-slug")).to_have_text("initech")
    expect(row.locator("td.field-tenant")).to_have_text("acme")
    expect(row.locator("td.field-scope")).to_have_text("WRITE")
    admin.check()
    screenshot(page, "admin-2-link-saved")

    # 2. Test this link: Jira answers, and accepts the client ID and secret.
    admin.open_link("Initech Jira")
    expect(page.locator("#id_client_secret")).to_have_value("")
    admin.test_link()
    expect(page.locator("#jira-connect-test-summary")).to_have_text("Initech Jira works.")
    steps = page.locator("#content-main table tbody tr")
    expect(steps).to_have_count(2)
    expect(steps.nth(0)).to_contain_text("Jira answers at the base URL")
    expect(steps.nth(0)).to_contain_text("Initech Jira, Jira 10.3.0 (Server)")
    expect(steps.nth(1)).to_contain_text("Jira accepts the client ID and secret")
    expect(page.locator("#content-main img[alt=OK]")).to_have_count(2)
    screenshot(page, "admin-3-test-link")

    # 3. alice, of Acme's tenant, now has Initech's Jira on her home page.
    exchanges = initech.token_requests("authorization_code")  # the test probes with a fake code
    alice = pages.new_page()
    log_in(alice, "alice")
    expect(alice.locator("#panel-initech")).to_contain_text(initech.base_url)
    alice.get_by_role("button", name="Connect Initech Jira", exact=True).click()
    expect(alice).to_have_url(re.compile("^" + re.escape(initech.base_url + CONSENT_PATH)))
    expect(alice.locator("h1")).to_have_text(
        "Example site wants to access your Initech Jira account"
    )
    alice.locator("#user").select_option("alice")
    alice.locator("#approve").click()
    expect(alice).to_have_url(f"{site.url}/")
    expect_message(alice, "Connected to Initech Jira as Alice Example.")
    expect(alice.locator("#panel-initech")).to_contain_text("Connected")
    expect(alice.locator("#panel-initech")).to_contain_text("as Alice Example (alice)")
    assert initech.token_requests("authorization_code") == exchanges + 1

    # 4. Staff see the connection and refresh its tokens.
    page.goto("/admin/")
    page.locator("tr.model-jiraconnection").get_by_role("link", name="Jira connections").click()
    expect(page).to_have_url(f"{site.url}/admin/jira_connect/jiraconnection/")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".field-user")).to_contain_text("alice")
    expect(rows.first.locator("td.field-link")).to_have_text("Initech Jira")
    expect(rows.first.locator("td.field-jira_identity")).to_have_text("Alice Example (alice)")
    admin.check()
    screenshot(page, "admin-4-connections")

    rows.first.locator("input.action-select").check()
    page.locator("select[name=action]").select_option("refresh_now")
    page.get_by_role("button", name="Go").click()
    expect(page.locator("ul.messagelist li")).to_have_text(
        ["Jira issued new tokens for 1 connection."]
    )
    admin.check()
    screenshot(page, "admin-5-action")
    assert initech.token_requests("refresh_token") == 1

    # 5. A wrong secret typed over the right one: the test says so, in words to act on.
    admin.secrets.append(WRONG_SECRET)
    admin.open_link("Initech Jira")
    expect(page.get_by_text("A secret is stored. Leave blank to keep it")).to_be_visible()
    page.locator("#id_client_secret").fill(WRONG_SECRET)
    page.locator("input[name=_continue]").click()
    expect(page.locator("ul.messagelist li.success")).to_contain_text("Initech Jira")
    expect(page.locator("#id_client_secret")).to_have_value("")
    admin.check()
    admin.test_link()
    expect(page.locator("#jira-connect-test-summary")).to_have_text(
        "Initech Jira has a problem: Jira does not accept the client ID and secret"
    )
    expect(page.locator("#jira-connect-test-summary")).to_have_class("error")
    expect(page.locator("#content-main img[alt=Problem]")).to_have_count(1)
    expect(page.get_by_text("Copy them again from the incoming link in Jira")).to_be_visible()
    screenshot(page, "admin-6-test-failed")

    assert admin.checked == 8  # every admin page shown after the secret was typed
