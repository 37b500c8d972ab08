"""Test this link, when Jira's authorise endpoint answers its HTTPS/base-URL 400."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.admin.conftest import sim_link, staff  # noqa: F401
from tests.flow.conftest import browser, jira, link, user  # noqa: F401

pytestmark = pytest.mark.django_db

WHAT_JIRA_SAYS = (
    "Please ensure that your server is using HTTPS and that your application base URL is "
    "configured appropriately"
)


def test_the_admin_says_what_to_fix_in_jira(staff, sim_link, jira) -> None:  # noqa: F811
    jira.configure(authorize_https_error=True)
    response = staff.post(reverse("admin:jira_connect_jiralink_test", args=[sim_link.pk]))
    html = response.content.decode()
    assert "Sim Jira has a problem" in html
    assert "its base URL or proxy is not set up for HTTPS" in html
    assert WHAT_JIRA_SAYS in html.replace("&quot;", '"')
    assert "server.xml" in html
    assert "Jira accepts the client ID and secret" in html  # the other steps still run


def test_the_check_command_reports_it(sim_link, jira) -> None:  # noqa: F811
    jira.configure(authorize_https_error=True)
    out = StringIO()
    with pytest.raises(CommandError) as info:
        call_command("jira_connect_check", stdout=out)
    assert info.value.returncode == 1
    assert "its base URL or proxy is not set up for HTTPS" in out.getvalue()


def test_a_working_authorise_endpoint_adds_nothing(staff, sim_link, jira) -> None:  # noqa: F811
    response = staff.post(reverse("admin:jira_connect_jiralink_test", args=[sim_link.pk]))
    html = response.content.decode()
    assert "Sim Jira works." in html
    assert "HTTPS" not in html
    assert jira.authorize_requests() == 1  # one look at the authorise endpoint, no state kept


def test_users_meet_it_on_jira_not_here(browser, jira, link) -> None:  # noqa: F811
    """What users see: Jira's own error page, before its consent page (so staff must be told)."""
    jira.configure(authorize_https_error=True)
    import requests

    response = browser.post(f"/jira/{link.slug}/connect/")
    page = requests.get(response["Location"], timeout=5, allow_redirects=False)
    assert page.status_code == 400
    assert WHAT_JIRA_SAYS in page.text
