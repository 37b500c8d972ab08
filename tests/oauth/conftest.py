"""The mocked HTTP boundary every protocol test uses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from . import link_verify


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every ``Session.send`` call: the prepared request and the keyword arguments."""
    calls: list[dict[str, Any]] = []
    original = requests.Session.send

    def spy(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        # The TLS choice lives in the adapter mounted for Jira's origin (transport.LinkTLSAdapter).
        calls.append({"request": request, **kwargs, "verify": link_verify(self, request)})
        return original(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", spy)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return calls
