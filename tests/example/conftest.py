from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from tests.example import example_site


@pytest.fixture(autouse=True)
def _example_site() -> Iterator[None]:
    with override_settings(**example_site()):
        yield
