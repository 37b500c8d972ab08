"""Attachments: `POST issue/{key}/attachments` (multipart, XSRF-checked) and `attachment/{id}`."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from jira_connect.testing import JiraDCSimulator
from tests.simulator.flow import api, connect

NO_CHECK = {"X-Atlassian-Token": "no-check"}
CONTENT = bytes(range(256)) + b"\r\n--not-a-boundary\r\n" + b"\x00" * 10


def upload(
    sim: JiraDCSimulator,
    token: str | None,
    issue: str = "ACME-1",
    *,
    xsrf_header: bool = True,
    **kwargs: Any,
) -> requests.Response:
    """POST ``kwargs`` (``files`` or ``data``) to ``issue``'s attachments as a client must: with
    the ``X-Atlassian-Token: no-check`` header Jira requires (off: to see Jira refuse)."""
    headers = dict(NO_CHECK) if xsrf_header else {}
    return api(sim, f"issue/{issue}/attachments", token, method="POST", headers=headers, **kwargs)


@pytest.fixture
def token(sim, client) -> str:
    return connect(sim, client)["access_token"]


def test_upload_keeps_every_byte(sim, token):
    response = upload(
        sim, token, files=[("file", ("dump.bin", CONTENT, "application/octet-stream"))]
    )
    assert response.status_code == 200, response.text
    [attachment] = response.json()
    assert attachment["filename"] == "dump.bin"
    assert attachment["size"] == len(CONTENT)
    assert attachment["mimeType"] == "application/octet-stream"
    assert attachment["author"]["name"] == "alice"
    assert attachment["content"].endswith(f"/secure/attachment/{attachment['id']}/dump.bin")
    stored = api(sim, f"attachment/{attachment['id']}", token)
    assert stored.status_code == 200
    assert stored.json() == attachment


def test_several_files_at_once(sim, token):
    response = upload(
        sim, token, files=[("file", ("a.txt", b"one")), ("file", ("b.txt", b"three"))]
    )
    assert [(item["filename"], item["size"]) for item in response.json()] == [
        ("a.txt", 3),
        ("b.txt", 5),
    ]


def test_without_the_xsrf_header_jira_refuses(sim, token):
    response = upload(sim, token, xsrf_header=False, files={"file": ("a.txt", b"one")})
    assert response.status_code == 403
    assert response.text == "XSRF check failed"
    assert response.headers["X-AUSERNAME"] == "alice"


def test_anonymous_upload_is_refused(sim):
    response = upload(sim, None, files={"file": ("a.txt", b"one")})
    assert response.status_code == 401


def test_no_file_and_unknown_issue(sim, token):
    no_file = upload(sim, token, data={"x": "1"})
    assert no_file.status_code == 400
    missing = upload(sim, token, "NOPE-1", files={"file": ("a.txt", b"one")})
    assert missing.status_code == 404
    assert api(sim, "attachment/99999", token).status_code == 404
    assert api(sim, "issue/ACME-1/comments", token).status_code == 404
