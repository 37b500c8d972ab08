"""Every test that docs/security.md names exists (and so runs, and passes, in CI)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECURITY = ROOT / "docs" / "security.md"
# `dir/test_file.py::test_name`, `::test_name` (same file as the previous one), or `dir/` or a file.
REFERENCE = re.compile(r"`((?:[\w/]+\.py)?(?:::[\w]+)?|[\w]+/)`")


def references() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for line in SECURITY.read_text().splitlines():
        if not line.startswith("|") or "test" not in line:
            continue
        last_file = ""
        for match in REFERENCE.finditer(line.split("|")[-2]):
            ref = match.group(1)
            path, _, name = ref.partition("::")
            if not path and name:
                path = last_file
            if path:
                last_file = path
                found.append((path, name))
    return found


def test_security_md_names_tests() -> None:
    assert len(references()) > 50


@pytest.mark.parametrize(("path", "name"), references())
def test_named_test_exists(path: str, name: str) -> None:
    target = ROOT / "tests" / path
    assert target.exists(), f"docs/security.md names tests/{path}, which does not exist"
    if name:
        tree = ast.parse(target.read_text())
        names = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        assert name in names, f"docs/security.md names {path}::{name}, which does not exist"
