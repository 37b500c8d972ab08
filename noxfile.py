"""The compatibility matrix: every supported Python and Django pair.

    scripts/matrix                      # every pair, SQLite
    scripts/matrix -s "tests-3.13(django='6.1')"   # one pair
    DATABASE_URL=postgres://... scripts/matrix -s postgres

Deprecation warnings are errors (setup.cfg) and Python runs in development
mode. The browser, load and Celery worker tests need services and run in
``.ci/run``'s main pass; the matrix runs everything else.
"""

from __future__ import annotations

import glob
import os
import shutil

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]

# Django's own support table: 4.2 LTS runs on 3.8-3.12, 5.2 LTS on 3.10-3.13, 6.x on 3.12+.
DJANGO = {"4.2": ">=4.2,<5.0", "5.2": ">=5.2,<6.0", "6.1": ">=6.1,<6.2"}
PAIRS = [
    ("3.10", "4.2"),
    ("3.10", "5.2"),
    ("3.11", "4.2"),
    ("3.11", "5.2"),
    ("3.12", "4.2"),
    ("3.12", "5.2"),
    ("3.12", "6.1"),
    ("3.13", "5.2"),
    ("3.13", "6.1"),
]
NEWEST = PAIRS[-1]
SKIP_MARKERS = "not browser"


def interpreter(version: str) -> str:
    """``pythonX.Y`` on PATH, else a pyenv installation of it (pyenv's shims only know its global)."""
    found = shutil.which(f"python{version}")
    if found and os.access(found, os.X_OK) and "/shims/" not in found:
        return found
    candidates = sorted(
        glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}"))
    )
    return candidates[-1] if candidates else f"python{version}"


def run_suite(session: nox.Session, django: str, env: dict[str, str]) -> None:
    session.install("-e", ".[test,celery,recipes,async]", f"Django{DJANGO[django]}")
    session.run(
        "python",
        "-m",
        "pytest",
        "-q",
        "-m",
        SKIP_MARKERS,
        "-p",
        "no:randomly",
        *session.posargs,
        env={"PYTHONDEVMODE": "1", **env},
    )


@nox.session(name="tests")
@nox.parametrize(
    ("python", "django"),
    [(interpreter(py), dj) for py, dj in PAIRS],
    ids=[f"{py}-django{dj}" for py, dj in PAIRS],
)
def tests(session: nox.Session, django: str) -> None:
    """The suite on SQLite for one Python and Django pair."""
    run_suite(session, django, {"DATABASE_URL": ""})


@nox.session(name="postgres", python=interpreter(NEWEST[0]))
def postgres(session: nox.Session) -> None:
    """The suite on PostgreSQL for the newest pair (DATABASE_URL must point at a server)."""
    if not os.environ.get("DATABASE_URL"):
        session.error("Set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test")
    run_suite(session, NEWEST[1], {})
