"""connection.session() still honours the environment it reads once per session.

Proxies (``HTTP_PROXY`` and friends, with ``no_proxy`` decided per host), and
the CA bundle in ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` for a link
without its own. A link's own TLS settings (its CA bundle, or verification
off) win over the environment's bundle. Every call here is a real one: to the
simulated Jira, directly or through a small forwarding proxy on loopback.
"""

from __future__ import annotations

import http.client
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from certifi import where as certifi_bundle

from jira_connect.models import JiraConnection
from jira_connect.testing.simulator import JiraDCSimulator
from tests.httpd import send
from tests.tokens.conftest import granted

pytestmark = pytest.mark.django_db

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


class ForwardingProxy(http.server.ThreadingHTTPServer):
    """A plain-HTTP forward proxy on loopback that records each absolute URL it forwards."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.forwarded: list[str] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: ForwardingProxy

    def do_GET(self) -> None:
        self.server.forwarded.append(self.path)
        target = urlsplit(self.path)
        upstream = http.client.HTTPConnection(target.hostname or "", target.port, timeout=10)
        headers = {
            name: value
            for name, value in self.headers.items()
            if name.lower() not in ("host", "connection", "proxy-connection")
        }
        path = target.path + (f"?{target.query}" if target.query else "")
        upstream.request("GET", path, headers=headers)
        answer = upstream.getresponse()
        body = answer.read()
        upstream.close()
        kept = [
            (name, value)
            for name, value in answer.getheaders()
            if name.lower() not in ("connection", "content-length", "transfer-encoding")
        ]
        send(self, answer.status, body, kept)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def clean_environment(monkeypatch) -> pytest.MonkeyPatch:
    """No proxy or CA bundle variables but those a test sets."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def proxy() -> Iterator[ForwardingProxy]:
    server = ForwardingProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def connected(jira: JiraDCSimulator, user_factory, **link_fields) -> JiraConnection:
    """A stored connection to ``jira`` holding a real grant that never expires."""
    return granted(jira, user_factory(), expires=False, **link_fields)


@pytest.fixture
def plain_jira(jira_simulator_factory) -> JiraDCSimulator:
    return jira_simulator_factory(context_path="/jira")


@pytest.fixture
def tls_jira(jira_simulator_factory) -> JiraDCSimulator:
    return jira_simulator_factory(context_path="/jira", tls=True)


def test_a_proxy_from_the_environment_carries_the_calls(
    clean_environment, proxy, plain_jira, user_factory
) -> None:
    clean_environment.setenv("HTTP_PROXY", proxy.url)
    session = connected(plain_jira, user_factory).session()
    for _ in range(2):
        response = session.get("rest/api/2/myself")
        assert response.status_code == 200
        assert response.json()["name"] == "alice"
    assert proxy.forwarded == [f"{plain_jira.base_url}/rest/api/2/myself"] * 2


def test_no_proxy_exempts_its_hosts_and_only_them(
    clean_environment, proxy, plain_jira, user_factory
) -> None:
    clean_environment.setenv("http_proxy", proxy.url)
    clean_environment.setenv("no_proxy", "127.0.0.1")
    session = connected(plain_jira, user_factory).session()
    assert session.get("rest/api/2/myself").status_code == 200
    assert proxy.forwarded == []  # Jira at 127.0.0.1 is reached directly
    port = urlsplit(plain_jira.base_url).port
    elsewhere = f"http://localhost:{port}/jira/rest/api/2/serverInfo"
    session.get(elsewhere)  # another host, in the same session: not exempt
    assert proxy.forwarded == [elsewhere]


def test_a_call_may_name_its_own_no_proxy(
    clean_environment, proxy, plain_jira, user_factory
) -> None:
    clean_environment.setenv("HTTP_PROXY", proxy.url)
    session = connected(plain_jira, user_factory).session()
    answer = session.get("rest/api/2/myself", proxies={"no_proxy": "127.0.0.1"})
    assert answer.status_code == 200
    assert proxy.forwarded == []
    assert session.get("rest/api/2/myself").status_code == 200
    assert len(proxy.forwarded) == 1


def test_proxies_set_on_the_session_or_the_call_apply(
    clean_environment, proxy, plain_jira, user_factory
) -> None:
    session = connected(plain_jira, user_factory).session()
    assert session.get("rest/api/2/myself", proxies={"http": proxy.url}).status_code == 200
    session.proxies = {"http": proxy.url}
    assert session.get("rest/api/2/myself").status_code == 200
    session.trust_env = False
    assert session.get("rest/api/2/myself").status_code == 200
    assert len(proxy.forwarded) == 3


def test_without_trust_env_the_environment_is_left_alone(
    clean_environment, proxy, plain_jira, user_factory
) -> None:
    clean_environment.setenv("HTTP_PROXY", proxy.url)
    session = connected(plain_jira, user_factory).session()
    session.trust_env = False
    assert session.get("rest/api/2/myself").status_code == 200
    assert proxy.forwarded == []


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_ca_bundle_from_the_environment_verifies_a_link_without_its_own(
    clean_environment, tls_jira, user_factory, variable
) -> None:
    connection = connected(tls_jira, user_factory)
    with pytest.raises(requests.exceptions.SSLError):
        connection.session().get("rest/api/2/myself")
    clean_environment.setenv(variable, tls_jira.ca_cert_path)
    assert connection.session().get("rest/api/2/myself").status_code == 200


def test_a_ca_directory_from_the_environment_verifies_too(
    clean_environment, tls_jira, user_factory, tmp_path
) -> None:
    """``REQUESTS_CA_BUNDLE`` may name a hashed directory (``openssl rehash``), as requests
    allows: it is told apart from a file once per session, and still used for every call."""
    import shutil
    import subprocess

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs openssl to hash a CA directory")
    shutil.copy(tls_jira.ca_cert_path, tmp_path / "jira-ca.pem")
    subprocess.run([openssl, "rehash", str(tmp_path)], check=True)
    connection = connected(tls_jira, user_factory)
    clean_environment.setenv("REQUESTS_CA_BUNDLE", str(tmp_path))
    session = connection.session()
    assert [session.get("rest/api/2/myself").status_code for _ in range(2)] == [200, 200]
    (tmp_path / "empty").mkdir()
    clean_environment.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "empty"))
    with pytest.raises(requests.exceptions.SSLError):  # a new session reads the environment
        connection.session().get("rest/api/2/myself")


def test_the_links_own_ca_bundle_wins_over_the_environments(
    clean_environment, tls_jira, user_factory
) -> None:
    own_ca = Path(tls_jira.ca_cert_path).read_text()
    connection = connected(tls_jira, user_factory, ca_bundle=own_ca)
    clean_environment.setenv("REQUESTS_CA_BUNDLE", certifi_bundle())  # public CAs only
    assert connection.session().get("rest/api/2/myself").status_code == 200


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verification_turned_off_on_the_link_wins_over_the_environment(
    clean_environment, tls_jira, user_factory
) -> None:
    connection = connected(tls_jira, user_factory, verify_tls=False)
    clean_environment.setenv("REQUESTS_CA_BUNDLE", certifi_bundle())
    assert connection.session().get("rest/api/2/myself").status_code == 200


def test_a_calls_own_verify_still_wins(clean_environment, tls_jira, user_factory) -> None:
    connection = connected(tls_jira, user_factory)
    clean_environment.setenv("REQUESTS_CA_BUNDLE", certifi_bundle())
    session = connection.session()
    with pytest.raises(requests.exceptions.SSLError):
        session.get("rest/api/2/myself")
    answer = session.get("rest/api/2/myself", verify=tls_jira.ca_cert_path)
    assert answer.status_code == 200
