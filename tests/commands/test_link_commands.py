"""jira_connect_check and jira_connect_link."""

from __future__ import annotations

import io
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from jira_connect.models import JiraLink
from tests.admin.conftest import sim_link  # noqa: F401
from tests.flow.conftest import jira  # noqa: F401

pytestmark = pytest.mark.django_db


def run(command: str, *args: str, stdin: str | None = None, monkeypatch=None) -> str:
    out = StringIO()
    if stdin is not None and monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_check_reports_a_working_link(sim_link) -> None:  # noqa: F811
    output = run("jira_connect_check")
    assert "sim: Sim Jira works." in output
    assert "[ok  ] Jira accepts the client ID and secret" in output
    assert "1 checked, 0 broken." in output


def test_check_exits_non_zero_on_a_broken_link(sim_link, link_factory) -> None:  # noqa: F811
    link_factory(slug="down", base_url="http://127.0.0.1:9/jira")
    with pytest.raises(CommandError, match="1 of 2 Jira links are broken") as info:
        run("jira_connect_check")
    assert info.value.returncode == 1


def test_check_one_link(sim_link, link_factory) -> None:  # noqa: F811
    link_factory(slug="down", base_url="http://127.0.0.1:9/jira")
    assert "1 checked, 0 broken." in run("jira_connect_check", "--link", "sim")
    with pytest.raises(CommandError, match="No Jira link"):
        run("jira_connect_check", "--link", "nope")


def create(
    *options: str,
    name: str = "A",
    base_url: str = "https://j.test",
    client_id: str = "x",
    stdin: str | None = None,
    monkeypatch=None,
) -> str:
    """``jira_connect_link create acme`` with the required options, plus ``options``."""
    return run(
        "jira_connect_link",
        "create",
        "acme",
        "--name",
        name,
        "--base-url",
        base_url,
        "--client-id",
        client_id,
        *options,
        stdin=stdin,
        monkeypatch=monkeypatch,
    )


def test_check_with_no_links() -> None:
    assert "No active Jira links" in run("jira_connect_check")


def test_create_with_secret_from_environment(monkeypatch) -> None:
    monkeypatch.setenv("ACME_SECRET", "s3cret-from-env")
    output = create(
        "--scope",
        "read write",
        "--tenant",
        "acme",
        "--secret-env",
        "ACME_SECRET",
        name="Acme Jira",
        base_url="https://jira.acme.test/jira/",
        client_id="abc",
    )
    assert "Created acme (https://jira.acme.test/jira, scope WRITE)." in output
    assert "s3cret-from-env" not in output
    link = JiraLink.objects.get(slug="acme")
    assert link.client_secret == "s3cret-from-env"
    assert link.tenant == "acme"


def test_create_with_secret_from_stdin(monkeypatch) -> None:
    create("--secret-stdin", stdin="piped-secret\n", monkeypatch=monkeypatch)
    assert JiraLink.objects.get().client_secret == "piped-secret"


def test_create_validates_everything(monkeypatch) -> None:
    monkeypatch.setenv("S", "x")
    with pytest.raises(CommandError) as info:
        create("--scope", "read:jira-work", "--secret-env", "S", base_url="ftp://nope")
    assert "base_url" in str(info.value)
    assert "Jira Cloud scope" in str(info.value)
    assert not JiraLink.objects.exists()


def test_create_needs_a_secret_source() -> None:
    with pytest.raises(CommandError):
        create()


def test_empty_secret_env(monkeypatch) -> None:
    monkeypatch.setenv("EMPTY", "")
    with pytest.raises(CommandError, match="EMPTY is empty"):
        create("--secret-env", "EMPTY")


def test_update_keeps_what_is_not_given(link_factory) -> None:
    link = link_factory(slug="acme", scope="READ")
    secret = link.client_secret
    run("jira_connect_link", "update", "acme", "--scope", "WRITE", "--inactive")
    link.refresh_from_db()
    assert link.scope == "WRITE"
    assert not link.is_active
    assert link.client_secret == secret
    with pytest.raises(CommandError, match="No Jira link"):
        run("jira_connect_link", "update", "nope", "--scope", "READ")


def test_create_refuses_an_existing_slug(link_factory, monkeypatch) -> None:
    link_factory(slug="acme")
    monkeypatch.setenv("S", "x")
    with pytest.raises(CommandError, match="use update"):
        create("--secret-env", "S")


def test_list_and_deactivate(link_factory) -> None:
    link_factory(slug="acme", tenant="acme", name="Acme Jira")
    output = run("jira_connect_link", "list")
    assert "acme\tacme\tactive\tWRITE\t" in output
    assert "client-secret" not in output
    run("jira_connect_link", "deactivate", "acme")
    assert "inactive" in run("jira_connect_link", "list")


def test_tls_options(link_factory, tmp_path) -> None:
    link_factory(slug="acme")
    run("jira_connect_link", "update", "acme", "--no-verify-tls")
    assert not JiraLink.objects.get().verify_tls
    run("jira_connect_link", "update", "acme", "--verify-tls")
    assert JiraLink.objects.get().verify_tls
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate")
    with pytest.raises(CommandError, match="PEM"):
        run("jira_connect_link", "update", "acme", "--ca-bundle-file", str(junk))
    with pytest.raises(CommandError, match="Cannot read"):
        run(
            "jira_connect_link", "update", "acme", "--ca-bundle-file", str(tmp_path / "missing.pem")
        )
    assert JiraLink.objects.get().ca_bundle == ""


def test_active_and_inactive_together_are_refused(link_factory) -> None:
    link_factory(slug="acme")
    with pytest.raises(CommandError):
        run("jira_connect_link", "update", "acme", "--active", "--inactive")


def test_private_ca_over_https(jira_simulator_factory, link_factory, tmp_path) -> None:
    """A Jira whose certificate a private CA signed: fails without the CA, works with it."""
    sim = jira_simulator_factory(tls=True, context_path="/jira")
    app = sim.register_client(redirect_uri="https://app.example.com/jira/callback/")
    link_factory(
        slug="private",
        base_url=sim.base_url,
        client_id=app.client_id,
        client_secret=app.client_secret,
    )
    with pytest.raises(CommandError):
        run("jira_connect_check", "--link", "private")
    run("jira_connect_link", "update", "private", "--ca-bundle-file", sim.ca_cert_path)
    output = run("jira_connect_check", "--link", "private")
    assert "private: " in output
    assert "1 checked, 0 broken." in output
