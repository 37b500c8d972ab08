"""`python -m jira_connect.testing`: argument parsing and a real run in a thread."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import threading

import pytest
import requests

from jira_connect.testing import JiraDCSimulator
from jira_connect.testing._cli import parse_client, parse_setting, parse_user
from jira_connect.testing.simulator import main
from tests.simulator.flow import TIMEOUT, connect


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "abc:s3cret:http://localhost:8000/jira/callback/",
            {"redirect_uri": "http://localhost:8000/jira/callback/"},
        ),
        (
            "abc:s3cret:http://localhost:8000/cb:READ",
            {"redirect_uri": "http://localhost:8000/cb", "scope": "READ"},
        ),
        (
            "abc:s3cret:https://app.example:8443/cb?x=1:WRITE:Acme Portal",
            {"redirect_uri": "https://app.example:8443/cb?x=1", "scope": "WRITE", "name": "Acme Portal"},
        ),
        (
            "abc:s3cret:http://127.0.0.1:8000",
            {"redirect_uri": "http://127.0.0.1:8000"},
        ),
        (
            "abc:s3cret:https://app.example/cb:ADMIN READ_ALL",
            {"redirect_uri": "https://app.example/cb", "scope": "ADMIN READ_ALL"},
        ),
    ],
)  # fmt: skip
def test_parse_client(value, expected):
    assert parse_client(value) == {"client_id": "abc", "client_secret": "s3cret", **expected}


@pytest.mark.parametrize(
    "value", ["abc", "abc:secret", "abc::http://x/cb", ":s:http://x/cb", "a:s:not-a-url"]
)
def test_parse_client_rejects(value):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_client(value)


def test_parse_user_and_setting():
    assert parse_user("carol") == {"name": "carol"}
    assert parse_user("carol:Carol C:c@x.example") == {
        "name": "carol",
        "display_name": "Carol C",
        "email": "c@x.example",
    }
    assert parse_setting("require_redirect_uri_on_refresh=false") == (
        "require_redirect_uri_on_refresh",
        False,
    )
    assert parse_setting("token-response-scope=scopes") == ("token_response_scope", "scopes")
    assert parse_setting("access_token_ttl=60") == ("access_token_ttl", 60)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_setting("nope=1")


def run_main(
    argv: list[str],
) -> tuple[JiraDCSimulator, threading.Event, threading.Thread, io.StringIO]:
    ready: list[JiraDCSimulator] = []
    stop, started = threading.Event(), threading.Event()
    out = io.StringIO()

    def on_ready(simulator: JiraDCSimulator) -> None:
        ready.append(simulator)
        started.set()

    thread = threading.Thread(
        target=main, args=(argv,), kwargs={"stop": stop, "on_ready": on_ready, "out": out}
    )
    thread.start()
    assert started.wait(5), out.getvalue()
    return ready[0], stop, thread, out


def test_main_serves_until_stopped():
    argv = [
        "--port", "0",
        "--context-path", "/jira",
        "--title", "Acme Jira",
        "--jira-version", "9.12.4",
        "--client", "cid:csecret:http://localhost:8000/jira/callback/:READ:Acme Portal",
        "--user", "carol:Carol Example",
        "--set", "token_response_scope=scope",
    ]  # fmt: skip
    simulator, stop, thread, out = run_main(argv)
    try:
        assert simulator.base_url.endswith("/jira")
        info = requests.get(f"{simulator.api_url}/serverInfo", timeout=TIMEOUT).json()
        assert info["serverTitle"] == "Acme Jira"
        assert info["version"] == "9.12.4"
        client = simulator.client("cid")
        assert client.client_secret == "csecret"
        assert client.name == "Acme Portal"
        assert connect(simulator, client, scope="READ", user="carol")["scope"] == "READ"
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert not simulator.running
    printed = out.getvalue()
    assert simulator.base_url in printed
    assert "cid" in printed
    assert "csecret" not in printed
    assert "Stopped." in printed


def test_main_with_a_config_file(tmp_path):
    config = tmp_path / "jira.json"
    config.write_text(
        json.dumps(
            {
                "port": 0,
                "context_path": "/jira",
                "title": "From config",
                "clients": [{"redirect_uri": "http://localhost:8000/cb", "name": "Generated"}],
                "options": {"require_redirect_uri_on_refresh": False},
                "code_ttl": 30,
            }
        )
    )
    simulator, stop, thread, out = run_main(["--config", str(config), "--title", "From CLI"])
    try:
        assert simulator.options.server_title == "From CLI"
        assert simulator.options.require_redirect_uri_on_refresh is False
        assert simulator.options.code_ttl == 30
        (client,) = simulator.clients
        assert f"client_secret={client.client_secret} (generated, shown once)" in out.getvalue()
    finally:
        stop.set()
        thread.join(5)


def test_main_reports_bad_config(tmp_path, capsys):
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"colour": "blue"}))
    assert main(["--config", str(config)], stop=threading.Event()) == 2
    assert "unknown keys colour" in capsys.readouterr().err
    assert main(["--config", str(tmp_path / "missing.json")]) == 2


def test_main_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        main(["--client", "only-an-id"])
    assert "CLIENT_ID:CLIENT_SECRET" in capsys.readouterr().err


def test_module_is_runnable():
    result = subprocess.run(
        [sys.executable, "-m", "jira_connect.testing", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0
    assert "--context-path" in result.stdout
    assert "django" not in result.stderr.lower()
