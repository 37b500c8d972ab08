"""The reference pages in docs/ and the code name the same things, both ways.

Each public name (a setting, a signal, an exception, a management command and
its options, a URL name, a system check id) is documented in exactly the page
meant for it; a name documented but missing from the code, or present in the
code but undocumented, fails here. docs/security.md's threat model is
checked the same way in tests/test_docs.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import BaseCommand, get_commands, load_command_class
from django.urls import get_resolver

from jira_connect import checks, exceptions, signals
from jira_connect.conf import DEFAULTS

DOCS = Path(__file__).resolve().parents[1] / "docs"


def page(name: str) -> str:
    return (DOCS / name).read_text()


def test_settings() -> None:
    documented = set(re.findall(r"^### `([A-Z_]+)`", page("settings.md"), re.MULTILINE))
    assert documented == set(DEFAULTS)


def test_signals() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", page("signals.md"), re.MULTILINE))
    defined = {name for name, value in vars(signals).items() if type(value).__name__ == "Signal"}
    assert documented == defined


def test_exceptions() -> None:
    tree = page("exceptions.md").split("```text", 1)[1].split("```", 1)[0]
    documented = set(re.findall(r"── ([A-Za-z]+)", tree)) | {"JiraConnectError"}
    defined = {
        name
        for name, value in vars(exceptions).items()
        if isinstance(value, type)
        and issubclass(value, exceptions.JiraConnectError)
        and value.__module__ == exceptions.__name__
    }
    assert documented == defined
    table = set(re.findall(r"^\| `([A-Za-z]+)` \|", page("exceptions.md"), re.MULTILINE))
    assert defined - {"JiraConnectError"} <= table


_DJANGOS_OWN_OPTIONS = {
    option
    for action in BaseCommand().create_parser("manage.py", "base")._actions
    for option in action.option_strings
}


def _commands() -> dict[str, str]:
    return {name: app for name, app in get_commands().items() if app == "jira_connect"}


def test_commands_and_their_options() -> None:
    text = page("commands.md")
    documented = set(re.findall(r"^## `([a-z_]+)`", text, re.MULTILINE))
    assert documented == set(_commands())
    for name in _commands():
        section = text.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
        parser = load_command_class("jira_connect", name).create_parser("manage.py", name)
        options = {
            option
            for action in parser._actions
            for option in action.option_strings
            if option.startswith("--") and option not in _DJANGOS_OWN_OPTIONS
        }
        for option in options:
            assert f"`{option}" in section or f"/ `{option}" in section, (name, option)


def test_url_names() -> None:
    text = "".join(
        page(name) for name in ("api.md", "templates.md", "quickstart.md", "headless.md")
    )
    names = {
        name
        for pattern in get_resolver().url_patterns
        if getattr(pattern, "namespace", None) == "jira_connect"
        for name in (getattr(p, "name", None) for p in pattern.url_patterns)  # type: ignore[union-attr]
        if name
    }
    assert names
    for name in names:
        assert f"jira_connect:{name}" in text or f"`{name}`" in text, name


@pytest.mark.parametrize(
    "check_id", sorted(set(re.findall(r"jira_connect\.[EWI]\d{3}", checks.__doc__ or "")))
)
def test_check_ids(check_id: str) -> None:
    retired = re.search(rf"{re.escape(check_id)}\s+retired", checks.__doc__ or "")
    source = Path(checks.__file__).read_text()
    if retired:
        assert f'id="{check_id}"' not in source
        return
    assert f'id="{check_id}"' in source or f'"{check_id.rsplit(".", 1)[1]}",' in source
    assert f"`{check_id}`" in page("settings.md")
