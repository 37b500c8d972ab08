"""Hypothesis profiles and the per-example database isolation of the fuzz tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from hypothesis import HealthCheck, settings

from tests.flow.conftest import browser, jira, link, user  # noqa: F401 (fixtures)

_SUPPRESSED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI failures reproduce
    database=None,
    suppress_health_check=_SUPPRESSED,
    print_blob=True,
)
settings.register_profile(
    "long",
    max_examples=3000,
    deadline=None,
    suppress_health_check=_SUPPRESSED,
    print_blob=True,
)
settings.register_profile(
    "dev",
    max_examples=30,
    deadline=None,
    suppress_health_check=_SUPPRESSED,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run one Hypothesis example in a savepoint that is always rolled back.

    Examples share the test function's fixtures (and pytest-django's
    transaction); this gives each of them the database (sessions included) it
    started with.
    """
    with transaction.atomic():
        try:
            yield
        finally:
            transaction.set_rollback(True)
