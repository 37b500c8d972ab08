"""The connect and disconnect forms against any body, ``next``, slug, method and header.

Properties (DESIGN §4, invariants 4, 6 and 13):

- never a 500;
- connect redirects only to the Jira authorise URL of the one link this user
  may use (never for another tenant's or an inactive link), and remembers only
  a safe ``next``; its confirmation page renders only a safe ``next``;
- disconnect redirects only within this site (a path, or an absolute URL on
  the request's own host as ``url_has_allowed_host_and_scheme`` allows; never
  ``//host``, ``/\\host``, another host or scheme), and only ever deletes the
  user's connection on the link named.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urljoin, urlsplit

import pytest
from django.conf import settings
from django.core.exceptions import BadRequest
from django.http.multipartparser import MultiPartParserError
from django.test import Client
from django.utils.http import url_has_allowed_host_and_scheme
from hypothesis import event, example, given
from hypothesis import strategies as st

from jira_connect import oauth, state
from jira_connect.models import JiraConnection, JiraLink
from tests.fuzz import known_bugs
from tests.fuzz.conftest import rolled_back
from tests.fuzz.strategies import (
    characters,
    extra_headers,
    header_text,
    next_text,
    percent_garbage,
    short_text,
    text,
)

NEXT_INPUT = re.compile(rb'<input type="hidden" name="next" value="([^"]*)">')


@dataclass(frozen=True)
class Links:
    mine: JiraLink  # blank tenant, active: usable
    foreign: JiraLink  # another tenant's: must look missing
    inactive: JiraLink


@pytest.fixture
def links(link_factory: Callable[..., JiraLink]) -> Links:
    return Links(
        mine=link_factory(slug="mine", base_url="https://jira.example.com/jira"),
        foreign=link_factory(
            slug="foreign", tenant="globex", base_url="https://globex.example.com"
        ),
        inactive=link_factory(slug="inactive", is_active=False),
    )


@pytest.fixture
def carol(user_factory: Callable[..., Any]) -> Any:
    return user_factory(username="carol-fuzz")


#: A CSRF secret (32 letters and digits) set as the cookie and sent as X-CSRFToken, as a page's
#: JavaScript would: the CSRF middleware runs (and parses the body first) as it does in production.
CSRF_TOKEN = "FuzzCsrf0123456789abcdefghijklmn"


@pytest.fixture
def client_as_carol(carol: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(carol)
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_TOKEN
    return client


# --- requests ------------------------------------------------------------------------------------

slugs = st.one_of(
    st.sampled_from(
        ["mine", "foreign", "inactive", "missing", "MINE", "mine ", "mine%00", "..", "%2e%2e"]
    ),
    st.text(characters, min_size=1, max_size=20).map(lambda value: quote(value, safe="")),
    st.text(st.characters(codec="ascii", exclude_characters="?#"), min_size=1, max_size=20),
    percent_garbage.map(lambda value: value.decode("ascii") or "%"),
)

form_keys = st.one_of(
    st.sampled_from(["next", "next", "csrfmiddlewaretoken", "slug", "state", "next[]", "NEXT"]),
    short_text,
)
form_values = st.one_of(next_text, text, st.lists(next_text, min_size=1, max_size=3))


@dataclass(frozen=True)
class Body:
    """A POST body: a form, encoded as multipart or urlencoded, or raw bytes of any type."""

    fields: dict[str, Any] | None
    raw: bytes
    content_type: str

    def send(self, client: Client, path: str, **extra: Any) -> Any:
        if self.fields is None:  # the bytes as they are (client.post would re-encode them)
            return client.generic("POST", path, self.raw, self.content_type, **extra)
        if self.content_type == "multipart":
            return client.post(path, self.fields, **extra)  # the test client's multipart
        encoded = urlencode(self.fields, doseq=True).encode("ascii")
        return client.generic("POST", path, encoded, self.content_type, **extra)


forms = st.builds(
    Body,
    fields=st.builds(
        lambda junk, known: {**junk, **known},
        st.dictionaries(form_keys, form_values, max_size=3),
        st.fixed_dictionaries({}, optional={"next": form_values}),
    ),
    raw=st.just(b""),
    content_type=st.sampled_from(["multipart", "application/x-www-form-urlencoded"]),
)
raw_bodies = st.builds(
    Body,
    fields=st.none(),
    raw=st.one_of(st.binary(max_size=200), next_text.map(lambda value: b"next=" + value.encode())),
    content_type=st.one_of(
        st.sampled_from(
            [
                "application/x-www-form-urlencoded",
                "application/x-www-form-urlencoded; charset=latin-1",
                "application/x-www-form-urlencoded; charset=nonsense",
                "multipart/form-data",
                "multipart/form-data; boundary=",
                "multipart/form-data; boundary=xyz",
                "text/plain",
                "application/json",
                "",
            ]
        ),
        header_text,
    ),
)
bodies = st.one_of(forms, forms, raw_bodies)
query_next = st.one_of(st.none(), next_text)


def send(
    client: Client,
    method: str,
    slug: str,
    action: str,
    body: Body,
    next_in_query: str | None,
    headers: dict[str, str],
) -> Any:
    path = f"/jira/{slug}/{action}/"
    extra: dict[str, Any] = {"HTTP_X_CSRFTOKEN": CSRF_TOKEN, **headers}
    if next_in_query is not None:
        extra["QUERY_STRING"] = urlencode({"next": next_in_query})
    try:
        if method == "POST":
            return body.send(client, path, **extra)
        return client.generic(method, path, **extra)
    except (BadRequest, MultiPartParserError) as err:  # raised in Django's error handlers: a 500
        client.exc_info = None  # else the next request re-raises it
        known_bugs.skip_if_known_django_crash(err)
        raise


def request_host(headers: dict[str, str]) -> str:
    """The Host the request named (port included), as ``request.get_host()`` returns it."""
    return headers.get("HTTP_HOST") or "testserver"


def browser_target(url: str, base: str) -> tuple[str, str | None]:
    """(scheme, host) a browser goes to for ``url`` found on ``base``: WHATWG-style, it drops
    leading and trailing spaces and control characters and every tab and newline, and reads
    ``\\`` as ``/`` in http(s) URLs."""
    cleaned = url.strip("".join(map(chr, range(0x21)))).replace("\t", "").replace("\n", "")
    cleaned = cleaned.replace("\r", "").replace("\\", "/")
    target = urlsplit(urljoin(base, cleaned))
    return target.scheme, target.hostname


def assert_same_site(url: str, host: str, path: str) -> None:
    """``url`` keeps the browser on this site: a path, or this host (as Django's
    ``url_has_allowed_host_and_scheme`` allows); never another host or scheme."""
    scheme, target_host = browser_target(url, f"http://{host}{path}")
    assert scheme in {"http", "https"}, url
    assert target_host == urlsplit(f"//{host}").hostname, url


def assert_safe_next(value: str, host: str) -> None:
    if value:
        assert url_has_allowed_host_and_scheme(value, allowed_hosts={host}), value
        assert_same_site(value, host, "/jira/")


# --- connect -------------------------------------------------------------------------------------


def check_connect(response: Any, client: Client, links: Links, headers: dict[str, str]) -> None:
    """A 302 from connect goes to the usable link's authorise URL and keeps only a safe next."""
    location = response["Location"]
    parts = urlsplit(location)
    authorize_url = links.mine.base_url + oauth.AUTHORIZE_PATH
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == authorize_url, location
    flows = client.session[state.SESSION_KEY]
    pending = flows[parse_qs(parts.query)["state"][0]]
    assert pending["link_id"] == links.mine.pk
    assert_safe_next(pending["next_url"], request_host(headers))
    event("next kept" if pending["next_url"] else "no next")


@given(
    method=st.sampled_from(["POST", "GET"]),
    body=bodies,
    next_in_query=query_next,
    headers=extra_headers,
)
@example(
    method="POST",
    body=Body({"next": "//evil.com"}, b"", "multipart"),
    next_in_query="/\\evil.com",
    headers={},
)
@example(
    method="GET",
    body=Body({}, b"", "multipart"),
    next_in_query="javascript:alert(1)",
    headers={},
)
def test_connect(
    client_as_carol: Client,
    links: Links,
    method: str,
    body: Body,
    next_in_query: str | None,
    headers: dict[str, str],
) -> None:
    client_as_carol.cookies.pop("messages", None)
    with rolled_back():
        response = send(client_as_carol, method, "mine", "connect", body, next_in_query, headers)
        event(f"{method} -> {response.status_code}")
        assert response.status_code != 500
        if method == "POST":
            assert response.status_code in {302, 400, 403}, response.status_code
            if response.status_code == 302:
                check_connect(response, client_as_carol, links, headers)
        else:
            assert response.status_code in {200, 400}, response.status_code
            if response.status_code == 200:
                match = NEXT_INPUT.search(response.content)
                assert match is not None
                shown = html.unescape(match.group(1).decode())
                assert_safe_next(shown, request_host(headers))
                event("next shown" if shown else "no next shown")


# --- disconnect ----------------------------------------------------------------------------------


@given(
    body=bodies,
    next_in_query=query_next,
    headers=extra_headers,
    connected=st.booleans(),
)
@example(
    body=Body({"next": "/\\evil.com"}, b"", "multipart"),
    next_in_query=None,
    headers={},
    connected=True,
)
@example(
    body=Body({"next": "http://testserver/jira/?a=b"}, b"", "multipart"),
    next_in_query=None,
    headers={},
    connected=True,
)
def test_disconnect(
    client_as_carol: Client,
    carol: Any,
    links: Links,
    connection_factory: Callable[..., JiraConnection],
    body: Body,
    next_in_query: str | None,
    headers: dict[str, str],
    connected: bool,
) -> None:
    client_as_carol.cookies.pop("messages", None)
    with rolled_back():
        foreign = connection_factory(user=carol, link=links.foreign)
        other_user = connection_factory(link=links.mine)
        if connected:
            connection_factory(user=carol, link=links.mine)

        response = send(client_as_carol, "POST", "mine", "disconnect", body, next_in_query, headers)
        event(f"POST -> {response.status_code}")

        assert response.status_code != 500
        assert response.status_code in {302, 400, 403}, response.status_code
        mine = JiraConnection.objects.filter(user=carol, link=links.mine)
        if response.status_code == 302:
            location = response["Location"]
            event("redirect to /jira/" if location == "/jira/" else "redirect to next")
            assert_same_site(location, request_host(headers), "/jira/mine/disconnect/")
            assert not mine.exists()
        else:
            assert mine.exists() == connected
        assert JiraConnection.objects.filter(pk__in=[foreign.pk, other_user.pk]).count() == 2


# --- any method, any slug ------------------------------------------------------------------------


@given(
    action=st.sampled_from(["connect", "disconnect"]),
    method=st.sampled_from(["POST", "GET", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE"]),
    slug=slugs,
    body=bodies,
    headers=extra_headers,
)
@example(
    action="disconnect", method="POST", slug="foreign", body=Body({}, b"", "multipart"), headers={}
)
@example(
    action="connect", method="POST", slug="inactive", body=Body({}, b"", "multipart"), headers={}
)
def test_any_method_and_slug(
    client_as_carol: Client,
    carol: Any,
    links: Links,
    connection_factory: Callable[..., JiraConnection],
    action: str,
    method: str,
    slug: str,
    body: Body,
    headers: dict[str, str],
) -> None:
    """Another tenant's, an inactive or a missing link looks missing (404), whatever is sent."""
    client_as_carol.cookies.pop("messages", None)
    with rolled_back():
        kept = [
            connection_factory(user=carol, link=links.foreign).pk,
            connection_factory(user=carol, link=links.inactive).pk,
        ]
        response = send(client_as_carol, method, slug, action, body, None, headers)
        event(f"{action} {method} -> {response.status_code}")
        assert response.status_code != 500
        assert response.status_code in {200, 302, 400, 403, 404, 405}, response.status_code
        if response.status_code == 302 or (response.status_code == 200 and method != "OPTIONS"):
            # Only the usable link answers (slugs match exactly; MySQL may ignore case). OPTIONS
            # answers the same 200 for every slug, existing or not: it tells nothing.
            assert response.resolver_match.kwargs["slug"].lower() == "mine", slug
        if response.status_code == 302:
            if action == "connect":
                check_connect(response, client_as_carol, links, headers)
            else:
                assert_same_site(
                    response["Location"], request_host(headers), f"/jira/{slug}/{action}/"
                )
        assert JiraConnection.objects.filter(pk__in=kept).count() == 2
