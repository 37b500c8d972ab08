"""A link's TLS settings win over the environment on every call (token and API calls alike)."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pytest
import requests

from jira_connect.exceptions import JiraConnectError, JiraTLSError
from jira_connect.models import JiraConnection
from tests.tokens.conftest import granted

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_jira(jira_simulator_factory):
    """Jira over HTTPS with a certificate from a private CA."""
    return jira_simulator_factory(tls=True, context_path="/jira")


@pytest.fixture
def unrelated_ca(jira_simulator_factory) -> str:
    """A CA bundle that did not sign the private Jira's certificate (another throw-away CA)."""
    return jira_simulator_factory(tls=True).ca_cert_path


@pytest.fixture
def make_connection(private_jira, link_factory, user_factory):
    def make(**link_fields) -> JiraConnection:
        return granted(private_jira, user_factory(), **link_fields)

    return make


def read_pem(path: str) -> str:
    return Path(path).read_text()


def test_the_links_ca_wins_over_requests_ca_bundle(
    private_jira, unrelated_ca, make_connection, monkeypatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", unrelated_ca)
    monkeypatch.setenv("CURL_CA_BUNDLE", unrelated_ca)
    connection = make_connection(ca_bundle=read_pem(private_jira.ca_cert_path))
    assert connection.session().get("rest/api/2/myself").json()["name"] == "alice"
    connection.refresh()  # the token call too
    connection.verify()
    assert private_jira.token_requests("refresh_token") == 1


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verification_off_wins_over_requests_ca_bundle(
    private_jira, unrelated_ca, make_connection, monkeypatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", unrelated_ca)
    connection = make_connection(verify_tls=False)
    assert connection.session().get("rest/api/2/myself").status_code == 200
    connection.refresh()


def test_a_tls_failure_on_an_api_call_is_the_apps_own_error(make_connection, unrelated_ca) -> None:
    connection = make_connection(ca_bundle=read_pem(unrelated_ca))
    with pytest.raises(JiraTLSError) as info:
        connection.session().get("rest/api/2/myself")
    assert isinstance(info.value, requests.exceptions.SSLError)
    assert isinstance(info.value, JiraConnectError)
    assert "TLS verification failed for Jira at https://" in str(info.value)
    assert "certificate verify failed" in str(info.value)  # the reason, from the TLS library
    assert "CA bundle for this link" in str(info.value)


def test_a_planted_ca_file_never_takes_effect(
    private_jira, unrelated_ca, make_connection, monkeypatch, tmp_path
) -> None:
    """Earlier versions wrote the bundle to a fixed path and reused a file found there."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the "shared" temp directory
    link_pem = read_pem(unrelated_ca)
    planted = Path(tempfile.gettempdir()) / "jira_connect_ca"
    planted.mkdir(exist_ok=True)
    for pem in (link_pem, link_pem.strip() + "\n"):
        name = hashlib.sha256(pem.strip().encode() + b"\n").hexdigest()
        (planted / f"{name}.pem").write_text(read_pem(private_jira.ca_cert_path))
    connection = make_connection(ca_bundle=link_pem)
    with pytest.raises(JiraTLSError):
        connection.session().get("rest/api/2/myself")
    with pytest.raises(JiraConnectError):
        connection.refresh()
