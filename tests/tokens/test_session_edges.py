"""connection.session() at its edges: proxies in front of Jira, TLS, uploads resent after a
refresh, other hosts and redirects, and what a user is told when they must reconnect."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
import requests
from django.test import override_settings
from django.utils import timezone

from jira_connect import __version__
from jira_connect.exceptions import JiraUnavailable, OAuthError, ReauthorizationRequired
from jira_connect.models import JiraConnection
from tests.conftest import jira_connect_settings
from tests.tokens.conftest import assert_paused, expire, granted, pause_after_the_look
from tests.tokens.gateway import ATTACH, NO_CHECK, REPORT, Gateway, Reply, Unseekable, in_front_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway(jira) -> Iterator[Gateway]:
    """A reverse proxy in front of the simulator; links made with `linked` go through it."""
    with in_front_of(jira) as proxy:
        yield proxy


@pytest.fixture
def elsewhere() -> Iterator[Callable[[], Gateway]]:
    """Other hosts, which answer every request themselves."""
    started: list[Gateway] = []

    def make() -> Gateway:
        host = Gateway().start()
        started.append(host)
        return host

    yield make
    for host in started:
        host.stop()


@pytest.fixture
def linked(jira, link_factory, user_factory):
    """A connection with real tokens from `jira`, whose link has the given base URL."""

    def make(base_url: str, simulator=None, **link_fields) -> JiraConnection:
        return granted(simulator or jira, user_factory(), base_url=base_url, **link_fields)

    return make


@pytest.fixture
def proxied(gateway, linked) -> JiraConnection:
    return linked(f"{gateway.base_url}/jira")


# -- which answers mean "the token was not accepted" ---------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        Reply(401, b"<html><h1>401 Authorization Required</h1></html>"),
        Reply(401, b'{"message":"Unauthorized"}', (("Content-Type", "application/json"),)),
    ],
)
def test_a_proxys_401_without_jiras_header_refreshes_and_retries(
    proxied, gateway, jira, reply
) -> None:
    gateway.replies.append(reply)  # no X-AUSERNAME: the gateway answered, not Jira
    response = proxied.session().get("rest/api/2/myself")
    assert response.status_code == 200
    assert response.json()["name"] == "alice"
    assert jira.token_requests(grant_type="refresh_token") == 1
    first, second = gateway.requests_to("/myself")
    assert first.headers["authorization"] != second.headers["authorization"]
    assert second.headers["authorization"] == f"Bearer {JiraConnection.objects.get().access_token}"


def test_a_proxy_that_drops_jiras_headers_still_gets_a_refresh(proxied, gateway, jira) -> None:
    gateway.strip = {"x-ausername"}
    jira.expire_access_tokens()
    response = proxied.session().get("rest/api/2/myself")
    assert response.status_code == 200
    assert jira.token_requests(grant_type="refresh_token") == 1


# 429 is a rate limit, retried after a wait: tests/ratelimit.
@pytest.mark.parametrize("status", [400, 403, 404, 407, 500, 502])
def test_other_refusals_are_answered_as_they_are(proxied, gateway, jira, status) -> None:
    gateway.replies.append(Reply(status, b"refused by the gateway"))
    response = proxied.session().get("rest/api/2/myself")
    assert response.status_code == status
    assert response.content == b"refused by the gateway"
    assert jira.token_requests() == 0
    assert len(gateway.requests_to("/myself")) == 1


def test_jiras_own_403_is_not_a_rejected_token(proxied, gateway, jira) -> None:
    """Jira's XSRF check refuses an upload without X-Atlassian-Token, as the user (not anonymous)."""
    response = proxied.session().post(ATTACH, files={"file": ("a.txt", b"x")})
    assert response.status_code == 403
    assert response.text == "XSRF check failed"
    assert jira.token_requests() == 0
    assert len(gateway.requests_to("/attachments")) == 1


# -- expiry ----------------------------------------------------------------------------------


def test_a_session_that_refreshed_refreshes_early_again(connection, jira) -> None:
    """The new token's expiry is remembered: it too is refreshed before it runs out."""
    jira.configure(access_token_ttl=90)
    expire(connection)
    with override_settings(JIRA_CONNECT=jira_connect_settings(REFRESH_LEEWAY=120)):
        session = connection.session()
        assert session.get("rest/api/2/myself").status_code == 200
        assert jira.token_requests(grant_type="refresh_token") == 1
        # 90 s left is within the 120 s leeway: refreshed before the call, not after a 401.
        assert session.get("rest/api/2/myself").status_code == 200
    assert jira.token_requests(grant_type="refresh_token") == 2
    assert all(record.status == 200 for record in jira.requests if record.target == "api")


def test_a_refreshed_token_with_time_left_is_used_as_it_is(connection, jira) -> None:
    expire(connection)
    session = connection.session()
    for _ in range(3):
        assert session.get("rest/api/2/myself").status_code == 200
    assert jira.token_requests(grant_type="refresh_token") == 1


# -- TLS options of the link ------------------------------------------------------------------


@pytest.fixture
def tls_jira(jira_simulator_factory):
    return jira_simulator_factory(tls=True, context_path="/jira")


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_verification_off_accepts_jiras_certificate(tls_jira, linked, monkeypatch) -> None:
    # Servers often set REQUESTS_CA_BUNDLE; it must not override the link's own choice.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    connection = linked(tls_jira.base_url, simulator=tls_jira, verify_tls=False)
    response = connection.session().get("rest/api/2/myself")
    assert response.status_code == 200
    assert response.json()["name"] == "alice"


def test_a_private_ca_bundle_on_the_link_is_used(tls_jira, linked, monkeypatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    bundle = Path(tls_jira.ca_cert_path).read_text()
    connection = linked(tls_jira.base_url, simulator=tls_jira, ca_bundle=bundle)
    assert connection.session().get("rest/api/2/myself").json()["name"] == "alice"
    # Refreshing goes to Jira with the same bundle.
    tls_jira.expire_access_tokens()
    assert connection.session().get("rest/api/2/myself").status_code == 200
    assert tls_jira.token_requests(grant_type="refresh_token") == 1


@pytest.mark.parametrize("bundle", ["none", "another CA"])
def test_a_certificate_from_an_unknown_ca_is_refused(
    tls_jira, linked, jira_simulator_factory, monkeypatch, bundle
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    ca_bundle = ""
    if bundle == "another CA":
        ca_bundle = Path(jira_simulator_factory(tls=True).ca_cert_path).read_text()
    connection = linked(tls_jira.base_url, simulator=tls_jira, ca_bundle=ca_bundle)
    with pytest.raises(requests.exceptions.SSLError):
        connection.session().get("rest/api/2/myself")
    assert tls_jira.api_requests() == 0


# -- what reaches Jira -------------------------------------------------------------------------


def test_the_callers_headers_reach_jira(proxied, gateway, jira) -> None:
    session = proxied.session()
    response = session.post(
        ATTACH, headers={**NO_CHECK, "X-Request-Id": "r-42"}, files={"file": ("a.txt", b"hi")}
    )
    assert response.status_code == 200, response.text
    [seen] = gateway.requests_to("/attachments")
    assert seen.headers["x-atlassian-token"] == "no-check"
    assert seen.headers["x-request-id"] == "r-42"
    assert seen.headers["authorization"] == f"Bearer {proxied.access_token}"


def test_every_request_asks_for_json_and_names_the_app(proxied, gateway) -> None:
    proxied.session().get("rest/api/2/myself")
    [seen] = gateway.requests_to("/myself")
    assert seen.headers["accept"] == "application/json"
    assert seen.headers["user-agent"] == f"django-jira-connect/{__version__}"


def _files(form: str, name: str, stream: io.BytesIO):
    return {
        "dict of 3-tuples": {"file": (name, stream, "text/plain")},
        "dict of 2-tuples": {"file": (name, stream)},
        "dict of files": {"file": stream},
        "list of 3-tuples": [("file", (name, stream, "text/plain"))],
        "list of files": [("file", stream)],
    }[form]


@pytest.mark.parametrize(
    "form",
    ["dict of 3-tuples", "dict of 2-tuples", "dict of files", "list of 3-tuples", "list of files"],
)
def test_an_upload_is_resent_whole_after_a_refresh(proxied, gateway, jira, form) -> None:
    jira.expire_access_tokens()  # Jira rejects the token though it looks valid here
    stream = io.BytesIO(REPORT)
    response = proxied.session().post(
        ATTACH, headers=NO_CHECK, files=_files(form, "report.txt", stream)
    )
    assert response.status_code == 200, response.text
    assert response.json()[0]["size"] == len(REPORT)
    assert jira.token_requests(grant_type="refresh_token") == 1
    first, second = gateway.requests_to("/attachments")
    assert REPORT in first.body
    assert REPORT in second.body


def test_an_upload_and_form_fields_together(proxied, gateway, jira) -> None:
    jira.expire_access_tokens()
    stream = io.BytesIO(REPORT)
    response = proxied.session().post(
        ATTACH,
        headers=NO_CHECK,
        data={"comment": "nightly"},
        files={"file": ("report.txt", stream, "text/plain")},
    )
    assert response.status_code == 200, response.text
    assert response.json()[0]["size"] == len(REPORT)


def test_an_upload_resumes_where_the_caller_left_the_file(proxied, jira) -> None:
    jira.expire_access_tokens()
    stream = io.BytesIO(b"HEADER:" + REPORT)
    stream.seek(len(b"HEADER:"))  # the caller sends the rest
    response = proxied.session().post(
        ATTACH, headers=NO_CHECK, files={"file": ("report.txt", stream)}
    )
    assert response.status_code == 200, response.text
    assert response.json()[0]["size"] == len(REPORT)


def test_an_upload_from_a_pipe_is_not_resent_half_read(proxied, gateway, jira) -> None:
    jira.expire_access_tokens()
    read_end, write_end = os.pipe()
    os.write(write_end, REPORT)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:  # has seek() and tell(), which fail
        session = proxied.session()
        response = session.post(ATTACH, headers=NO_CHECK, files={"file": ("report.txt", pipe)})
    assert response.status_code == 401  # Jira's answer, not a second, empty upload
    assert len(gateway.requests_to("/attachments")) == 1
    assert jira.token_requests(grant_type="refresh_token") == 1
    assert session.get("rest/api/2/myself").status_code == 200  # the token is fresh now


def test_an_upload_that_cannot_be_rewound_is_not_resent(proxied, gateway, jira) -> None:
    jira.expire_access_tokens()
    files = {"file": ("report.txt", Unseekable(REPORT))}
    response = proxied.session().post(ATTACH, headers=NO_CHECK, files=files)
    assert response.status_code == 401
    assert len(gateway.requests_to("/attachments")) == 1


def test_an_upload_streamed_from_a_download_is_not_resent(
    proxied, gateway, jira, elsewhere
) -> None:
    """A download's .raw knows its position but cannot seek: Jira's 401 is the answer."""
    download = requests.get(f"{elsewhere().base_url}/report.json", stream=True, timeout=5)
    jira.expire_access_tokens()
    files = {"file": ("report.json", download.raw)}
    response = proxied.session().post(ATTACH, headers=NO_CHECK, files=files)
    assert response.status_code == 401
    assert len(gateway.requests_to("/attachments")) == 1
    assert jira.token_requests(grant_type="refresh_token") == 1


class _Counting(Unseekable):
    """A reader that tells how much it has read but has no seek()."""

    def tell(self) -> int:
        return 0


def test_an_upload_that_only_tells_its_position_is_not_resent(proxied, gateway, jira) -> None:
    jira.expire_access_tokens()
    files = {"file": ("report.txt", _Counting(REPORT))}
    response = proxied.session().post(ATTACH, headers=NO_CHECK, files=files)
    assert response.status_code == 401
    assert len(gateway.requests_to("/attachments")) == 1


class _SeeksWithoutSaying:
    """A file-like reader with read(), seek() and tell() but no seekable(), as older wrappers
    are: it can be rewound, and is."""

    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def seek(self, position: int, whence: int = 0) -> int:
        return self._stream.seek(position, whence)

    def tell(self) -> int:
        return self._stream.tell()


def test_an_upload_that_seeks_without_saying_so_is_resent_whole(proxied, gateway, jira) -> None:
    jira.expire_access_tokens()
    files = {"file": ("report.txt", _SeeksWithoutSaying(REPORT))}
    response = proxied.session().post(ATTACH, headers=NO_CHECK, files=files)
    assert response.status_code == 200, response.text
    first, second = gateway.requests_to("/attachments")
    assert REPORT in first.body
    assert REPORT in second.body


@pytest.mark.parametrize(
    "body",
    [
        {"data": b'{"jql": "project = ACME"}'},
        {"data": '{"jql": "project = ACME"}'},
        {"data": bytearray(b'{"jql": "project = ACME"}')},
        {"json": {"jql": "project = ACME"}},
        {"data": {"jql": "project = ACME"}},
        {"data": [("jql", "project = ACME")]},
        {"data": (("jql", "project = ACME"),)},
    ],
    ids=["bytes", "str", "bytearray", "json", "form dict", "form list", "form tuple"],
)
def test_plain_bodies_are_resent_as_they_were(proxied, gateway, jira, body) -> None:
    jira.expire_access_tokens()
    response = proxied.session().post("rest/api/2/search", **body)
    assert response.status_code != 401
    first, second = gateway.requests_to("/search")
    assert first.body == second.body
    assert b"ACME" in second.body


# -- other hosts and redirects --------------------------------------------------------------


def test_requests_to_another_host_keep_their_arguments(proxied, elsewhere) -> None:
    other = elsewhere()
    response = proxied.session().get(
        f"{other.base_url}/status", params={"q": "1"}, headers={"X-Trace": "t-1"}
    )
    assert response.json()["path"] == "/status?q=1"
    [seen] = other.seen
    assert seen.headers["x-trace"] == "t-1"
    assert "authorization" not in seen.headers


def test_a_second_hop_away_from_jira_carries_no_token(proxied, gateway, elsewhere) -> None:
    one, two = elsewhere(), elsewhere()
    gateway.redirects["/jira/rest/api/2/away"] = f"{one.base_url}/first"
    one.redirects["/first"] = f"{two.base_url}/second"
    response = proxied.session().get("rest/api/2/away")
    assert response.status_code == 200
    assert json.loads(response.content)["path"] == "/second"
    assert gateway.requests_to("/away")[0].headers["authorization"].startswith("Bearer ")
    assert "authorization" not in one.seen[0].headers
    assert "authorization" not in two.seen[0].headers


def test_a_redirect_within_jira_keeps_the_token(proxied, gateway, jira) -> None:
    gateway.redirects["/jira/rest/api/2/me"] = f"{gateway.base_url}/jira/rest/api/2/myself"
    response = proxied.session().get("rest/api/2/me")
    assert response.json()["name"] == "alice"
    assert jira.token_requests() == 0


# -- having to reconnect --------------------------------------------------------------------


def test_a_revoked_grant_says_so_and_names_the_connection(connection, jira) -> None:
    jira.revoke(user="alice")
    with pytest.raises(ReauthorizationRequired) as info:
        connection.session().get("rest/api/2/myself")
    assert str(info.value) == "Jira no longer accepts this connection: please reconnect."
    assert info.value.connection.pk == connection.pk
    assert info.value.connection.status == JiraConnection.Status.REAUTH_REQUIRED


def test_a_connection_known_to_need_reconnecting_says_so(connection) -> None:
    JiraConnection.objects.filter(pk=connection.pk).update(
        status=JiraConnection.Status.REAUTH_REQUIRED
    )
    stored = JiraConnection.objects.select_related("link").get()
    with pytest.raises(ReauthorizationRequired) as info:
        stored.session().get("rest/api/2/myself")
    assert str(info.value) == "This Jira connection must be reconnected."
    assert info.value.connection is stored
    assert info.value.reconnect_url == "/jira/acme/connect/"


# -- addresses -------------------------------------------------------------------------------


def test_a_base_url_stored_with_a_trailing_slash_still_works(
    jira_simulator_factory, linked
) -> None:
    """E.g. written by an older version or by hand; the context path is kept as it is."""
    sandbox = jira_simulator_factory(context_path="/SANDBOX")
    connection = linked(sandbox.base_url, simulator=sandbox)
    type(connection.link).objects.filter(pk=connection.link.pk).update(
        base_url=sandbox.base_url + "/"
    )
    stored = JiraConnection.objects.select_related("link").get(pk=connection.pk)
    response = stored.session().get("rest/api/2/myself")
    assert response.status_code == 200
    assert response.url == f"{sandbox.base_url}/rest/api/2/myself"


def test_paths_are_sent_as_given(proxied, gateway) -> None:
    session = proxied.session()
    session.get("XRAY/rest/raven/1.0/status")
    session.get("/rest/api/2/myself")
    assert [seen.path for seen in gateway.seen] == [
        "/jira/XRAY/rest/raven/1.0/status",
        "/jira/rest/api/2/myself",
    ]


def test_positional_arguments_reach_requests(proxied, gateway, elsewhere) -> None:
    session = proxied.session()
    session.request("GET", "rest/api/2/myself", {"expand": "groups"})
    assert gateway.seen[-1].path == "/jira/rest/api/2/myself?expand=groups"
    other = elsewhere()
    session.request("GET", f"{other.base_url}/status", {"q": "1"})
    assert other.seen[-1].path == "/status?q=1"


def test_a_url_given_as_bytes_works(connection) -> None:
    response = connection.session().get(b"rest/api/2/myself")
    assert response.json()["name"] == "alice"


# -- a refresh refused with an OAuth error ------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("temporarily_unavailable", "transient"),
        ("server_error", "transient"),
        ("invalid_scope", "configuration"),
        ("invalid_request", "configuration"),
    ],
)
def test_jiras_oauth_error_decides_whether_trying_again_can_help(
    proxied, gateway, jira, error, kind
) -> None:
    """An OAuth error in Jira's (or its gateway's) answer to a refresh: a transient one waits
    out the cool-down; one that names the request needs a person, so it is not held back."""
    expire(proxied)
    gateway.replies.append(
        Reply(400, json.dumps({"error": error}).encode(), (("Content-Type", "application/json"),))
    )
    with pytest.raises(OAuthError):
        proxied.refresh()
    stored = JiraConnection.objects.get()
    assert stored.status == JiraConnection.Status.ACTIVE
    assert stored.last_failure_kind == kind
    if kind == "transient":
        with pytest.raises(JiraUnavailable, match="moments ago"):
            proxied.refresh()
        assert jira.token_requests(grant_type="refresh_token") == 0
    else:
        proxied.refresh()  # asked again at once, and Jira (no longer the gateway) answers
        assert jira.token_requests(grant_type="refresh_token") == 1


# --- the storm guard, decided under the row lock ----------------------------------------------------


def test_a_401_driven_refresh_holds_others_only_for_its_retry(connection, jira) -> None:
    """The refresh after a 401 is stored with a hold of such refreshes while its retry finds
    out whether the new token works: the request's timeout and a second, not the 30 s pause."""
    jira.expire_access_tokens()
    before = timezone.now()
    assert connection.session().get("rest/api/2/myself", timeout=(2, 3)).status_code == 200
    held = JiraConnection.objects.get(pk=connection.pk).refresh_paused_until
    assert held is not None
    assert before + timedelta(seconds=5) < held < before + timedelta(seconds=20)


def test_a_pause_set_after_the_sessions_look_still_stops_its_refresh(
    connection, jira, monkeypatch
) -> None:
    """Another worker trips the storm guard between this session's look at the row and the
    row's lock: the decision taken under the lock sees the pause, and the 401 is Jira's
    answer, with no refresh."""
    pause_after_the_look(monkeypatch)
    jira.inject("api", "unauthorized")
    assert connection.session().get("rest/api/2/myself").status_code == 401
    assert jira.token_requests(grant_type="refresh_token") == 0


# --- a token another worker brought -------------------------------------------------------------------


def another_worker_refreshes(connection: JiraConnection, expires_in: timedelta) -> JiraConnection:
    """Another process refreshes the connection; its token expires in ``expires_in``."""
    other = JiraConnection.objects.select_related("link").get(pk=connection.pk)
    other.refresh()
    expires_at = timezone.now() + expires_in
    JiraConnection.objects.filter(pk=connection.pk).update(expires_at=expires_at)
    return JiraConnection.objects.get(pk=connection.pk)


def test_another_workers_token_is_adopted_with_its_expiry(connection, jira) -> None:
    """After a 401 the session takes the token another worker stored, with that token's
    expiry: it renews early when that one nears its end, as for its own."""
    session = connection.session()
    assert session.get("rest/api/2/myself").status_code == 200
    theirs = another_worker_refreshes(connection, timedelta(seconds=30))  # within the leeway
    jira.inject("api", "unauthorized")
    assert session.get("rest/api/2/myself").status_code == 200
    assert jira.token_requests(grant_type="refresh_token") == 1  # theirs only
    assert session.connection.access_token == theirs.access_token
    assert session.connection.expires_at == theirs.expires_at
    assert session.get("rest/api/2/myself").status_code == 200
    assert jira.token_requests(grant_type="refresh_token") == 2  # renewed before its end


def test_a_rejected_retry_with_another_workers_token_pauses_nothing(connection, jira) -> None:
    """This call refreshed nothing: Jira refusing the other worker's token too is no sign of
    a refresh storm, so 401-driven refreshes are not paused."""
    session = connection.session()
    assert session.get("rest/api/2/myself").status_code == 200
    another_worker_refreshes(connection, timedelta(hours=1))
    jira.inject("api", "unauthorized", times=2)
    assert session.get("rest/api/2/myself").status_code == 401
    assert jira.token_requests(grant_type="refresh_token") == 1
    assert JiraConnection.objects.get(pk=connection.pk).refresh_paused_until is None


def test_a_rejected_retry_with_a_sibling_calls_token_pauses_nothing(connection, jira) -> None:
    """Another call of the same session (another thread's, say) refreshed while this call's
    401 was on its way back: this call takes that token and refreshed nothing itself, so Jira
    refusing it too pauses nothing."""
    session = connection.session()
    acted: list[int] = []

    def sibling_refreshes(response: requests.Response, *args: object, **kwargs: object) -> None:
        if acted or response.status_code != 401:
            return
        acted.append(response.status_code)
        jira.expire_access_tokens()  # the sibling's call is refused too, and it refreshes
        acted.append(session.get("rest/api/2/myself").status_code)
        jira.inject("api", "unauthorized")  # and Jira refuses this call's retry

    session.hooks["response"].append(sibling_refreshes)
    jira.inject("api", "unauthorized")
    assert session.get("rest/api/2/myself").status_code == 401
    assert acted == [401, 200]
    assert jira.token_requests(grant_type="refresh_token") == 1  # the sibling's
    held = JiraConnection.objects.get(pk=connection.pk).refresh_paused_until
    assert held is not None  # the sibling's refresh holds others for its retry
    assert held < timezone.now() + timedelta(seconds=25)  # that hold, not the 30 s pause


def test_a_gateways_plain_401_again_after_the_refresh_trips_the_storm_guard(
    proxied, gateway, jira
) -> None:
    """The retry with the fresh token is refused too, by a plain 401: the token is not the
    problem, so 401-driven refreshes pause (the 30 s pause, not the retry's hold)."""

    gateway.strip.add("x-ausername")  # Jira's own 401s, without the header that says so
    jira.inject("api", "unauthorized", times=2)
    response = proxied.session().get("rest/api/2/myself", timeout=(1, 1))
    assert response.status_code == 401
    assert jira.token_requests(grant_type="refresh_token") == 1
    assert_paused(JiraConnection.objects.get(pk=proxied.pk))


def test_one_refresh_per_call_even_across_a_rate_limit_wait(connection, jira) -> None:
    """401, refresh, retry rate-limited, wait, retry refused again: the call refreshed once
    already, so Jira's 401 is its answer."""
    from jira_connect import ratelimit

    def a_long_wait(seconds: float) -> None:  # longer than the first refresh's hold
        JiraConnection.objects.filter(pk=connection.pk).update(refresh_paused_until=None)

    jira.inject("api", "unauthorized")
    jira.inject("api", "rate_limited", retry_after=0)
    jira.inject("api", "unauthorized")
    with mock.patch.object(ratelimit, "sleep", side_effect=a_long_wait):
        response = connection.session().get("rest/api/2/myself")
    assert response.status_code == 401
    assert jira.token_requests(grant_type="refresh_token") == 1


def test_positional_arguments_are_sent_again_with_the_retry(proxied, gateway, jira) -> None:
    """requests' own order, ``request(method, url, params, data, ...)``, kept on the retry."""
    jira.expire_access_tokens()
    response = proxied.session().request("GET", "rest/api/2/search", {"jql": "project = ACME"})
    assert response.status_code == 200
    first, second = gateway.requests_to("/search")
    assert "jql=project" in first.path
    assert "jql=project" in second.path


def test_a_method_given_as_bytes_is_retried_like_its_text(proxied, gateway, jira) -> None:
    """``request(b"GET", ...)`` (requests accepts it) is an idempotent call: retried after a
    rate limit like "GET"."""
    from jira_connect import ratelimit

    gateway.replies.append(Reply(429, b"", (("Retry-After", "0"),)))
    with mock.patch.object(ratelimit, "sleep") as slept:
        response = proxied.session().request(b"GET", "rest/api/2/myself")
    assert response.status_code == 200
    assert slept.call_count == 1


# --- what the session starts from ----------------------------------------------------------------


def test_a_token_without_an_expiry_is_used_as_it_is(connection, jira) -> None:
    JiraConnection.objects.filter(pk=connection.pk).update(expires_at=None)
    mine = JiraConnection.objects.select_related("link").get(pk=connection.pk)
    assert mine.session().get("rest/api/2/myself").status_code == 200
    assert jira.token_requests(grant_type="refresh_token") == 0


@pytest.mark.parametrize("field", ["access_token", "refresh_token"])
def test_a_token_no_key_can_read_is_refused_before_any_call(connection, jira, field) -> None:
    """A key removed from ENCRYPTION_KEYS too early: the session says so, Jira is not asked."""
    from cryptography.fernet import Fernet

    from jira_connect.exceptions import SecretDecryptionError

    other_key = Fernet.generate_key().decode()
    with override_settings(JIRA_CONNECT=jira_connect_settings(ENCRYPTION_KEYS=[other_key])):
        JiraConnection.objects.filter(pk=connection.pk).update(**{field: "written-elsewhere"})
    mine = JiraConnection.objects.select_related("link").get(pk=connection.pk)
    before = jira.api_requests(), jira.token_requests()
    with pytest.raises(SecretDecryptionError, match=r"ENCRYPTION_KEYS"):
        mine.session()
    assert (jira.api_requests(), jira.token_requests()) == before


def test_a_path_that_is_not_plain_keeps_the_context_path(proxied, gateway) -> None:
    """Not a plain path (a query, dot segments), with or without its leading slash: resolved
    against the base URL, context path kept, all the same."""
    session = proxied.session()
    paths = (
        "/rest/api/2/myself?expand=groups",
        "rest/api/2/../2/myself",
        "/rest/api/2/../2/myself",
    )
    for path in paths:
        response = session.get(path)
        assert response.url.startswith(f"{gateway.base_url}/jira/rest/api/2/myself"), path


def test_a_plain_503_is_not_a_rate_limit(connection, jira, caplog) -> None:
    """Jira down (a 503 without Retry-After) is handed back at once, not noted or retried as
    a rate limit."""
    import logging

    from jira_connect import ratelimit

    jira.inject("api", "unavailable")
    logs = caplog.at_level(logging.DEBUG, logger=ratelimit.LOGGER_NAME)
    with logs, mock.patch.object(ratelimit, "sleep") as slept:
        response = connection.session().get("rest/api/2/myself")
    assert response.status_code == 503
    assert slept.call_count == 0
    assert [r for r in caplog.records if r.name == ratelimit.LOGGER_NAME] == []
