"""What an end user notices walking the pages (issue #12, items 10-15) and the page's query count."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.db import connection as db
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jira_connect.models import DisconnectNotice, JiraConnection
from tests.flow.conftest import connect, local, start

pytestmark = pytest.mark.django_db


def flash(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_deny_goes_back_to_next_like_allow(browser, link, jira) -> None:
    denied = jira.authorize(start(browser, link, next="/projects/"), allow=False)
    response = browser.get(local(denied))
    assert response["Location"] == "/projects/"
    assert flash(response) == ["You cancelled connecting to Acme Jira."]
    allowed = connect(browser, jira, link, next="/projects/")
    assert allowed["Location"] == "/projects/"


def test_approving_again_from_the_consent_page_says_connected(browser, link, jira) -> None:
    authorize_url = start(browser, link, next="/projects/")
    first = jira.authorize(authorize_url)
    second = jira.authorize(authorize_url)  # Back to Jira's consent page, Allow again
    assert browser.get(local(first)).status_code == 302
    response = browser.get(local(second))
    assert response.status_code == 302
    assert response["Location"] == "/projects/"
    assert flash(response)[-1] == "You are already connected to Acme Jira as Alice Example."
    assert jira.token_requests("authorization_code") == 1  # the second code was not spent


def test_a_replay_for_another_user_is_still_refused(browser, link, jira, user_factory):
    authorize_url = start(browser, link)
    first, second = jira.authorize(authorize_url), jira.authorize(authorize_url)
    browser.get(local(first))
    client = Client()
    client.force_login(user_factory())
    assert client.get(local(second)).status_code == 400


def test_user_disconnect_confirms_first(browser, link, jira) -> None:
    connect(browser, jira, link)
    html = browser.get("/jira/").content.decode()
    # The button is a GET form to the confirmation page, not the POST that deletes.
    assert f'<form method="get" action="/jira/{link.slug}/disconnect/">' in html
    page = browser.get(f"/jira/{link.slug}/disconnect/", {"next": "/jira/"})
    assert "Disconnect Acme Jira?" in page.content.decode()
    assert JiraConnection.objects.exists()
    browser.post(f"/jira/{link.slug}/disconnect/", {"next": "/jira/"})
    assert not JiraConnection.objects.exists()


def test_disconnect_page_when_not_connected(browser, link) -> None:
    response = browser.get(f"/jira/{link.slug}/disconnect/")
    assert response.status_code == 302
    assert flash(response) == ["You are not connected to Acme Jira."]


def staff_client(user_factory) -> Client:
    client = Client()  # not the ``client`` fixture: that is the user's ``browser``
    client.force_login(user_factory(username="root", is_staff=True, is_superuser=True))
    return client


def test_user_sees_why_after_staff_disconnected(
    browser, link, jira, user_factory, django_capture_on_commit_callbacks
) -> None:
    connect(browser, jira, link)
    client = staff_client(user_factory)
    changelist = reverse("admin:jira_connect_jiraconnection_changelist")
    pk = JiraConnection.objects.get().pk
    client.post(changelist, {"action": "disconnect", "_selected_action": [pk], "post": "yes"})
    html = browser.get("/jira/").content.decode()
    assert "Not connected" in html
    assert "An administrator disconnected you on" in html
    with django_capture_on_commit_callbacks(execute=True):  # the ``connected`` signal
        connect(browser, jira, link)  # connecting again: the notice has served
    assert not DisconnectNotice.objects.exists()
    assert "An administrator disconnected you" not in browser.get("/jira/").content.decode()


def test_user_sees_why_after_staff_deleted(browser, link, jira, user_factory) -> None:
    connect(browser, jira, link)
    client = staff_client(user_factory)
    pk = JiraConnection.objects.get().pk
    client.post(reverse("admin:jira_connect_jiraconnection_delete", args=[pk]), {"post": "yes"})
    assert not JiraConnection.objects.exists()
    assert "An administrator disconnected you on" in browser.get("/jira/").content.decode()


def test_revoked_worded_the_same_on_every_page(browser, link, jira) -> None:
    from django.template import Context, Template
    from django.test import RequestFactory

    from jira_connect import lifecycle

    connect(browser, jira, link)
    lifecycle.revoke(JiraConnection.objects.get())
    page = browser.get("/jira/").content.decode()
    request = RequestFactory().get("/")
    request.user = JiraConnection.objects.get().user
    button = Template("{% load jira_connect %}{% jira_connect_button link %}").render(
        Context({"request": request, "link": link})
    )
    for html in (page, button):
        assert ">Revoked<" in html
        assert "An administrator revoked this connection on" in html
        assert "You must reconnect" not in html


def test_connections_page_details(browser, link, jira) -> None:
    connect(browser, jira, link)
    html = browser.get("/jira/").content.decode()
    for text in ("Connected since", "Last refreshed", "Granted access", "<dd>WRITE</dd>"):
        assert text in html
    assert '<th scope="col">Actions</th>' in html
    assert 'Disconnect<span class="jc-sr"> Acme Jira</span>' in html  # names its Jira


def test_deactivated_link_is_shown_as_unavailable(browser, link, jira) -> None:
    connect(browser, jira, link)
    link.is_active = False
    link.save()
    html = browser.get("/jira/").content.decode()
    assert "Acme Jira" in html
    assert "Unavailable" in html
    assert "An administrator turned this Jira link off" in html
    assert f'action="/jira/{link.slug}/connect/"' not in html


def test_messages_are_a_live_region(browser, link, jira) -> None:
    response = connect(browser, jira, link)
    html = browser.get(response["Location"]).content.decode()
    assert '<div role="status"><ul class="jc-messages">' in html


def page_queries(browser) -> list[str]:
    with CaptureQueriesContext(db) as queries:
        assert browser.get("/jira/").status_code == 200
    return [query["sql"] for query in queries.captured_queries]


def test_connections_page_queries_do_not_grow_with_links(
    browser, user, link_factory, connection_factory
) -> None:
    """DESIGN §5: the same number of queries for 1 link as for 20 (it was one more per link)."""
    connection_factory(user=user, link=link_factory())
    one = page_queries(browser)
    for _ in range(19):
        connection_factory(user=user, link=link_factory())
    twenty = page_queries(browser)
    assert len(twenty) == len(one), "\n".join(twenty)
    assert browser.get("/jira/").content.decode().count("Disconnect<span") == 20


def test_button_tags_on_a_host_page_share_their_queries(user, link_factory, connection_factory):
    from django.template import Context, Template
    from django.test import RequestFactory

    links = [link_factory() for _ in range(10)]
    for link in links[:5]:
        connection_factory(user=user, link=link)

    def render(count: int) -> int:
        request = RequestFactory().get("/")
        request.user = user
        template = Template(
            "{% load jira_connect %}{% for link in links %}{% jira_connect_button link %}{% endfor %}"
        )
        with CaptureQueriesContext(db) as queries:
            template.render(Context({"request": request, "links": links[:count]}))
        return len(queries.captured_queries)

    assert render(1) == render(10)
