"""Uploads after a 401: sent again whole when their files can be rewound, never half-read.

The sync session's rule (``tests/tokens/test_session_edges.py``), for ``asession()``: a
``files=`` upload whose files are bytes or seekable files is sent again after the refresh, every
byte of it; one whose file can be read only once is not, and the caller gets Jira's 401 rather
than a second, empty upload. A reverse proxy in front of the simulator records the bytes Jira
received.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from jira_connect.models import JiraConnection, JiraLink
from tests.tokens.gateway import ATTACH, NO_CHECK, REPORT, Gateway, Unseekable, in_front_of

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def gateway(jira) -> Iterator[Gateway]:
    """A reverse proxy in front of the simulator, recording what Jira received."""
    with in_front_of(jira) as proxy:
        yield proxy


@pytest.fixture
async def proxied(connection, gateway) -> JiraConnection:
    """The connection, its link reaching Jira through the gateway (same context path)."""
    await JiraLink.objects.filter(pk=connection.link_id).aupdate(
        base_url=f"{gateway.base_url}/jira"
    )
    return await JiraConnection.objects.aget(pk=connection.pk)


def refreshes(jira) -> int:
    return jira.token_requests(grant_type="refresh_token")


def _files(form: str, stream: Any) -> Any:
    return {
        "dict of 3-tuples": {"file": ("report.txt", stream, "text/plain")},
        "dict of 2-tuples": {"file": ("report.txt", stream)},
        "dict of files": {"file": stream},
        "list of 3-tuples": [("file", ("report.txt", stream, "text/plain"))],
        "list of files": [("file", stream)],
    }[form]


@pytest.mark.parametrize(
    "form",
    ["dict of 3-tuples", "dict of 2-tuples", "dict of files", "list of 3-tuples", "list of files"],
)
async def test_an_upload_is_sent_again_whole_after_a_refresh(proxied, gateway, jira, form) -> None:
    jira.expire_access_tokens()  # Jira rejects the token though it looks valid here
    async with await proxied.asession() as session:
        response = await session.post(
            ATTACH, headers=NO_CHECK, files=_files(form, io.BytesIO(REPORT))
        )
    assert response.status_code == 200, response.text
    assert response.json()[0]["size"] == len(REPORT)
    assert refreshes(jira) == 1
    first, second = gateway.requests_to("/attachments")
    assert REPORT in first.body
    assert REPORT in second.body


async def test_bytes_and_form_fields_are_sent_again(proxied, gateway, jira) -> None:
    jira.expire_access_tokens()
    async with await proxied.asession() as session:
        response = await session.post(
            ATTACH,
            headers=NO_CHECK,
            data={"comment": "nightly"},
            files={"file": ("report.txt", REPORT, "text/plain")},
        )
    assert response.status_code == 200, response.text
    assert response.json()[0]["size"] == len(REPORT)
    second = gateway.requests_to("/attachments")[1]
    assert REPORT in second.body
    assert b"nightly" in second.body


async def test_a_file_on_disk_is_sent_again_whole(proxied, gateway, jira, tmp_path) -> None:
    path = tmp_path / "report.txt"
    path.write_bytes(REPORT)
    jira.expire_access_tokens()
    with path.open("rb") as upload:
        async with await proxied.asession() as session:
            response = await session.post(ATTACH, headers=NO_CHECK, files={"file": upload})
    assert response.status_code == 200, response.text
    assert response.json()[0]["size"] == len(REPORT)
    assert [REPORT in seen.body for seen in gateway.requests_to("/attachments")] == [True, True]


class _Counting(Unseekable):
    """A reader that tells how much it has read but has no seek()."""

    def tell(self) -> int:
        return 0


class _Forward(io.BytesIO):
    """A stream that knows its position but cannot go back (a download's ``.raw``)."""

    def seekable(self) -> bool:
        return False


@pytest.mark.parametrize("reader", [Unseekable, _Counting, _Forward])
async def test_a_one_shot_upload_is_not_sent_again_empty(proxied, gateway, jira, reader) -> None:
    jira.expire_access_tokens()
    async with await proxied.asession() as session:
        response = await session.post(
            ATTACH, headers=NO_CHECK, files={"file": ("report.txt", reader(REPORT))}
        )
        assert response.status_code == 401  # Jira's answer, not a second, empty upload
        assert (await session.get("rest/api/2/myself")).status_code == 200  # token fresh now
    [seen] = gateway.requests_to("/attachments")
    assert REPORT in seen.body
    assert refreshes(jira) == 1


async def test_a_streamed_upload_is_not_sent_again(proxied, gateway, jira) -> None:
    """An async generator (a file read chunk by chunk) is read once: Jira's 401 stands."""
    jira.expire_access_tokens()
    boundary = "jira-connect-test"

    async def body() -> AsyncIterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="report.txt"\r\n\r\n'
        ).encode()
        yield REPORT
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {**NO_CHECK, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    async with await proxied.asession() as session:
        response = await session.post(ATTACH, headers=headers, content=body())
    assert response.status_code == 401
    assert len(gateway.requests_to("/attachments")) == 1
    assert refreshes(jira) == 1


async def test_a_rate_limited_put_of_a_file_is_sent_again_whole(
    proxied, gateway, jira, monkeypatch
) -> None:
    """The same rule for a rate-limit retry: the file is rewound, not sent from its end."""
    from jira_connect import asession

    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(asession, "asleep", wait)
    jira.inject("api", "rate_limited", retry_after=1)
    async with await proxied.asession() as session:
        response = await session.put(
            ATTACH, headers=NO_CHECK, files={"file": ("report.txt", io.BytesIO(REPORT))}
        )
    assert waits == [1.0]
    assert response.status_code == 405  # the simulator's answer to a PUT there, not the 429
    first, second = gateway.requests_to("/attachments")
    assert REPORT in first.body
    assert REPORT in second.body
