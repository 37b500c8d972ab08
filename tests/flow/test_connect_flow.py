"""The Connect Jira flow end to end: Django's test client, the simulator over real HTTP."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client, override_settings

from jira_connect import signals
from jira_connect.models import JiraConnection
from tests.conftest import jira_connect_settings
from tests.flow.conftest import CALLBACK, connect, local, query, start

pytestmark = pytest.mark.django_db(transaction=False)


def flash(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_connections_page_lists_available_links(browser, link) -> None:
    response = browser.get("/jira/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme Jira" in html
    assert "Not connected" in html
    assert f'action="/jira/{link.slug}/connect/"' in html


def test_connect_page_confirms_before_leaving(browser, link, jira) -> None:
    response = browser.get(f"/jira/{link.slug}/connect/")
    assert response.status_code == 200
    assert "Continue to Jira" in response.content.decode()
    assert jira.authorize_requests() == 0
    assert "jira_connect.pending" not in browser.session


def test_authorize_url(browser, link, jira) -> None:
    url = start(browser, link)
    assert url.startswith(f"{jira.base_url}/rest/oauth2/latest/authorize?")
    params = query(url)
    assert params["client_id"] == link.client_id
    assert params["redirect_uri"] == CALLBACK
    assert params["response_type"] == "code"
    assert params["scope"] == "WRITE"
    assert params["code_challenge_method"] == "S256"
    assert len(params["state"]) >= 22  # >= 128 bits, url-safe base64


def test_full_flow_stores_identity_and_tokens(
    browser, link, jira, user, django_capture_on_commit_callbacks
) -> None:
    received = []
    signals.connected.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="test-connected"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = connect(browser, jira, link)
    finally:
        signals.connected.disconnect(dispatch_uid="test-connected")
    assert response.status_code == 302
    assert response["Location"] == "/jira/"
    assert flash(response) == ["Connected to Acme Jira as Alice Example."]
    connection = JiraConnection.objects.get()
    assert connection.user == user
    assert connection.link == link
    assert connection.status == JiraConnection.Status.ACTIVE
    assert (connection.jira_key, connection.jira_name, connection.jira_display_name) == (
        "JIRAUSER10000",
        "alice",
        "Alice Example",
    )
    assert connection.jira_email == "alice@example.com"
    assert connection.scope == "WRITE"
    assert connection.expires_at is not None
    assert jira.is_valid_access_token(connection.access_token)
    assert jira.is_valid_refresh_token(connection.refresh_token)
    assert len(received) == 1
    assert received[0]["connection"] == connection
    assert received[0]["created"] is True
    # The pending flow is gone from the session, and no token ever was in it.
    assert browser.session.get("jira_connect.pending") == {}
    page = browser.get("/jira/").content.decode()
    assert "Connected" in page
    assert "Alice Example" in page
    assert connection.access_token not in page


def test_reconnect_updates_the_same_row(browser, link, jira) -> None:
    connect(browser, jira, link)
    first = JiraConnection.objects.get()
    first.status = JiraConnection.Status.REAUTH_REQUIRED
    first.last_error = "invalid_grant"
    first.save()
    response = connect(browser, jira, link, user="bob")
    assert flash(response)[-1] == "Reconnected to Acme Jira as Bob Example."
    second = JiraConnection.objects.get()
    assert second.pk == first.pk
    assert second.status == JiraConnection.Status.ACTIVE
    assert second.jira_name == "bob"
    assert second.last_error == ""
    assert second.access_token != first.access_token


def test_safe_next_is_followed(browser, link, jira) -> None:
    response = connect(browser, jira, link, next="/somewhere/else/?tab=jira")
    assert response["Location"] == "/somewhere/else/?tab=jira"


@pytest.mark.parametrize(
    "evil",
    [
        "https://evil.example/",
        "//evil.example/",
        "\\\\evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:evil.example",
        "https:%2F%2Fevil.example",
        " //evil.example",
    ],
)
def test_unsafe_next_is_ignored(browser, link, jira, evil) -> None:
    response = connect(browser, jira, link, next=evil)
    assert response["Location"] == "/jira/"


def test_user_denies_on_jira(browser, link, jira) -> None:
    callback = jira.authorize(start(browser, link), allow=False)
    assert query(callback)["error"] == "access_denied"
    response = browser.get(local(callback))
    assert response.status_code == 302
    assert response["Location"] == "/jira/"
    assert flash(response) == ["You cancelled connecting to Acme Jira."]
    assert not JiraConnection.objects.exists()


def test_invalid_scope_from_jira(browser, link, jira) -> None:
    callback = jira.authorize(start(browser, link))
    state = query(callback)["state"]
    response = browser.get(f"/jira/callback/?error=invalid_scope&state={state}")
    assert response.status_code == 400
    assert "refused the permissions" in response.content.decode()
    assert not JiraConnection.objects.exists()


def test_other_error_from_jira_is_shown_escaped(browser, link, jira) -> None:
    callback = jira.authorize(start(browser, link))
    state = query(callback)["state"]
    response = browser.get(
        f"/jira/callback/?error=server_error&error_description=%3Cscript%3Ex%3C/script%3E&state={state}"
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "<script>x" not in html
    assert "&lt;script&gt;" in html


def test_callback_without_code(browser, link, jira) -> None:
    callback = jira.authorize(start(browser, link))
    response = browser.get(f"/jira/callback/?state={query(callback)['state']}")
    assert response.status_code == 400
    assert "without an authorisation code" in response.content.decode()
    assert not JiraConnection.objects.exists()


def test_connect_requires_post(browser, link, jira) -> None:
    # A GET (e.g. an <img> on another site) never starts a flow.
    assert browser.get(f"/jira/{link.slug}/connect/").status_code == 200
    assert "jira_connect.pending" not in browser.session


def test_csrf_is_enforced_on_connect_and_disconnect(link, user) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(f"/jira/{link.slug}/connect/").status_code == 403
    assert strict.post(f"/jira/{link.slug}/disconnect/").status_code == 403


def test_anonymous_users_are_sent_to_log_in(client, link) -> None:
    for url in ("/jira/", f"/jira/{link.slug}/connect/", "/jira/callback/?code=x&state=y"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_disconnect(browser, link, jira, django_capture_on_commit_callbacks) -> None:
    connect(browser, jira, link)
    received = []
    signals.disconnected.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="test-disc"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = browser.post(f"/jira/{link.slug}/disconnect/")
    finally:
        signals.disconnected.disconnect(dispatch_uid="test-disc")
    assert response.status_code == 302
    assert "Authorized applications" in flash(response)[-1]
    assert not JiraConnection.objects.exists()
    assert len(received) == 1
    assert received[0]["link"] == link


def test_disconnect_asks_first(browser, link, jira) -> None:
    connect(browser, jira, link)
    page = browser.get(f"/jira/{link.slug}/disconnect/?next=/projects/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Disconnect Acme Jira?" in html
    assert 'name="next" value="/projects/"' in html
    assert 'href="/projects/">Cancel' in html
    assert JiraConnection.objects.exists()  # a GET changes nothing


def test_disconnect_when_not_connected(browser, link) -> None:
    response = browser.post(f"/jira/{link.slug}/disconnect/")
    assert response.status_code == 302
    assert flash(response) == ["You were not connected to Acme Jira."]


def test_disconnect_only_touches_own_connection(browser, link, jira, connection_factory) -> None:
    someone_else = connection_factory(link=link)
    browser.post(f"/jira/{link.slug}/disconnect/")
    assert JiraConnection.objects.filter(pk=someone_else.pk).exists()


def test_unknown_link_is_404(browser) -> None:
    assert browser.get("/jira/nope/connect/").status_code == 404
    assert browser.post("/jira/nope/connect/").status_code == 404
    assert browser.post("/jira/nope/disconnect/").status_code == 404


def test_inactive_link_is_404(browser, link) -> None:
    link.is_active = False
    link.save()
    assert browser.get(f"/jira/{link.slug}/connect/").status_code == 404
    assert "Acme Jira" not in browser.get("/jira/").content.decode()


def test_link_deactivated_during_the_flow(browser, link, jira) -> None:
    callback = jira.authorize(start(browser, link))
    link.is_active = False
    link.save()
    response = browser.get(local(callback))
    assert response.status_code == 403
    assert not JiraConnection.objects.exists()
    assert jira.token_requests() == 0


def test_access_policy_refuses(browser, link) -> None:
    with override_settings(
        JIRA_CONNECT=jira_connect_settings(LINK_ACCESS_POLICY=lambda user, link: False)
    ):
        assert browser.get(f"/jira/{link.slug}/connect/").status_code == 404
        assert browser.post(f"/jira/{link.slug}/connect/").status_code == 404
        assert "Acme Jira" not in browser.get("/jira/").content.decode()


def test_button_tag(browser, link, jira, user) -> None:
    from django.template import Context, Template
    from django.test import RequestFactory

    def request():  # a new request each time: the tag reads the connections once per request
        made = RequestFactory().get("/projects/")
        made.user = user
        return made

    template = Template("{% load jira_connect %}{% jira_connect_button link %}")
    html = template.render(Context({"request": request(), "link": link}))
    assert "Connect Acme Jira" in html
    assert 'value="/projects/"' in html
    connect(browser, jira, link)
    html = template.render(Context({"request": request(), "link": link}))
    assert ">Connected<" in html
    assert "as Alice Example (alice)" in html
    assert "Disconnect" in html
    quiet = Template("{% load jira_connect %}{% jira_connect_button link show_status=False %}")
    html = quiet.render(Context({"request": request(), "link": link}))
    assert "as Alice Example" not in html
    assert "Disconnect" in html
    JiraConnection.objects.update(status=JiraConnection.Status.REAUTH_REQUIRED)
    html = Template("{% load jira_connect %}{% jira_connect_button 'acme' %}").render(
        Context({"request": request()})
    )
    assert "Reconnect" in html


def test_button_without_the_request_links_to_the_connections_page(link) -> None:
    from django.template import Context, Template

    html = Template("{% load jira_connect %}{% jira_connect_button link %}").render(
        Context({"link": link})
    )
    assert 'href="/jira/"' in html
    assert "<form" not in html


def test_button_shows_nothing_for_a_link_the_request_may_not_use(link, user) -> None:
    from django.template import Context, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    link.is_active = False
    link.save()
    html = Template("{% load jira_connect %}{% jira_connect_button link %}").render(
        Context({"request": request, "link": link})
    )
    assert html.strip() == ""


def test_scope_raised_during_consent_is_not_recorded_as_granted(browser, link, jira) -> None:
    """Staff raise the link's scope while a user is on Jira's consent page: the user granted
    what was asked when they left, and Jira's token answer (like Atlassian's example) names no
    scope, so the connection records the scope that was requested, not the link's new one."""
    assert link.scope == "WRITE"
    authorize_url = start(browser, link)
    link.scope = "ADMIN"
    link.save()
    response = browser.get(local(jira.authorize(authorize_url)))
    assert response.status_code == 302
    connection = JiraConnection.objects.get()
    assert connection.scope == "WRITE"
    page = browser.get("/jira/").content.decode()
    assert "ADMIN" not in page.split("Granted access", 1)[1].split("</dd>", 1)[0]
