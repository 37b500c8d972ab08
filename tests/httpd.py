"""Answers from the small HTTP servers tests run in place of Jira or a proxy."""

from __future__ import annotations

from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    headers: Iterable[tuple[str, str]] = (),
) -> None:
    """Write a whole answer: the status, ``headers``, then ``body`` with its Content-Length.

    One place for the length, because a kept-alive client (the sessions under test keep their
    connections) reads exactly that many bytes: a missing or wrong one hangs or garbles the next
    answer, not this one.
    """
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
