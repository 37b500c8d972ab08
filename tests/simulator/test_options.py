"""`SimulatorOptions` is the one list of options: every way in takes each field, and the docs
document each one with its default. A new field needs nothing but itself and its table row."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from jira_connect.testing import JiraDCSimulator, SimulatorOptions
from jira_connect.testing._cli import build_parser, build_simulator

DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
OPTIONS = fields(SimulatorOptions)


def documented_defaults() -> dict[str, str]:
    """The options' table rows of docs/testing.md: name -> default as written."""
    rows = re.findall(r"^\| `([a-z0-9_]+)` \| `([^`]*)` \|", DOCS.read_text(), re.MULTILINE)
    return dict(rows)


def as_documented(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def test_every_option_is_documented_with_its_default() -> None:
    documented = documented_defaults()
    assert set(documented) == {option.name for option in OPTIONS}
    for option in OPTIONS:
        assert documented[option.name] == as_documented(option.default), option.name


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.name)
def test_every_way_in_takes_every_option(option, tmp_path) -> None:
    value = option.default
    simulator = JiraDCSimulator(**{option.name: value})
    assert getattr(simulator.options, option.name) == value
    assert getattr(simulator.configure(**{option.name: value}), option.name) == value
    config = tmp_path / "config.json"
    config.write_text(json.dumps({option.name: value}))
    for argv in (
        ["--set", f"{option.name}={json.dumps(value)}"],
        ["--config", str(config)],
    ):
        built, _ = build_simulator(build_parser().parse_args(argv))
        assert getattr(built.options, option.name) == value, argv


def test_unknown_options_and_wrong_types_are_refused(tmp_path) -> None:
    with pytest.raises(TypeError, match="unknown simulator options: requre_pkce"):
        JiraDCSimulator(requre_pkce=True)
    with pytest.raises(TypeError, match="require_pkce must be bool"):
        JiraDCSimulator(require_pkce="yes")
    with pytest.raises(TypeError, match="code_ttl must be int"):
        JiraDCSimulator().configure(code_ttl="60")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"options": {"colour": 1}}))
    with pytest.raises(TypeError, match="unknown simulator options: colour"):
        build_simulator(build_parser().parse_args(["--config", str(config)]))
