"""The example project, as the README's demo command runs it: migrate, seed, check, serve a page."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.processes import run_python


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_python("manage.py", *args, env=env)


@pytest.fixture
def example_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'example.sqlite3'}"
    env["DJANGO_SETTINGS_MODULE"] = "example_project.settings"
    return env


def test_demo_setup_and_login(example_env) -> None:
    assert manage("migrate", "--noinput", env=example_env).returncode == 0
    seeded = manage("demo_setup", env=example_env)
    assert seeded.returncode == 0, seeded.stderr
    assert "alice / alice" in seeded.stdout, seeded.stdout
    check = manage("check", "--fail-level", "WARNING", env=example_env)
    assert check.returncode == 0, check.stdout + check.stderr
    script = (
        "from django.test import Client;"
        "c = Client(SERVER_NAME='localhost');"
        "assert c.get('/').status_code == 200;"
        "assert c.get('/accounts/login/').status_code == 200;"
        "r = c.post('/accounts/login/', {'username': 'alice', 'password': 'alice'});"
        "assert r.status_code == 302, r.status_code;"
        "page = c.get('/').content.decode();"
        "assert 'Hello, alice' in page, page;"
        "print('ok')"
    )
    shell = manage("shell", "-c", script, env=example_env)
    assert shell.stdout.strip().endswith("ok"), shell.stdout + shell.stderr


def test_demo_setup_refuses_without_debug(example_env) -> None:
    example_env.update(
        DEBUG="False", JIRA_CONNECT_ENCRYPTION_KEYS="JCPbd9U1xHhqaF1kqMqo6Rt0Zr2nEuu8S-hvAOTsB-Y="
    )
    assert manage("migrate", "--noinput", env=example_env).returncode == 0
    refused = manage("demo_setup", env=example_env)
    assert refused.returncode != 0
    assert "DEBUG" in refused.stderr


def test_production_settings_pass_the_deploy_check(example_env) -> None:
    example_env.update(
        DEBUG="False",
        SECRET_KEY="x" * 60 + "production-like-secret-key-with-enough-entropy-0123456789",
        ALLOWED_HOSTS="app.example.com",
        JIRA_CONNECT_ENCRYPTION_KEYS="JCPbd9U1xHhqaF1kqMqo6Rt0Zr2nEuu8S-hvAOTsB-Y=",
        SECURE_HSTS_SECONDS="31536000",
    )
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=example_env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_without_key_fail_the_check(example_env) -> None:
    example_env.update(DEBUG="False", ALLOWED_HOSTS="app.example.com")
    result = manage("check", env=example_env)
    assert result.returncode != 0
    assert "jira_connect.E003" in result.stderr
