"""A reverse proxy for tests: what sits between a site and Jira in many installations.

It forwards every request to the simulator as nginx or an API gateway would, and records what
it saw (so a test can read the exact bytes Jira received). It can also answer in Jira's place,
as proxies do (a 401 of their own with no ``X-AUSERNAME``, a 403 from a firewall), drop
headers from Jira's answers, and redirect. Without an upstream it stands for another host.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.httpd import send

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass(frozen=True)
class Seen:
    """One request as the gateway received it."""

    method: str
    path: str
    headers: dict[str, str]  # keys lower-cased
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Gateway:
    upstream: str | None = None  # "http://127.0.0.1:port", or None: answer every request itself
    seen: list[Seen] = field(default_factory=list)
    #: Answers given in place of the upstream, one per request, first in first out.
    replies: deque[Reply] = field(default_factory=deque)
    #: Path -> Location: answered with a 302 instead of being forwarded.
    redirects: dict[str, str] = field(default_factory=dict)
    #: Response headers removed from the upstream's answers (lower-case names).
    strip: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                gateway._handle(self)

            do_POST = do_PUT = do_DELETE = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Gateway:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def requests_to(self, path_end: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path.split("?")[0].endswith(path_end)]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = _read_body(handler)
        headers = {key.lower(): value for key, value in handler.headers.items()}
        self.seen.append(Seen(handler.command, handler.path, headers, body))
        path = handler.path.split("?")[0]
        if path in self.redirects:
            reply = Reply(302, b"", (("Location", self.redirects[path]),))
        elif self.replies:
            reply = self.replies.popleft()
        elif self.upstream is None:
            reply = Reply(
                200,
                json.dumps({"host": headers.get("host"), "path": handler.path}).encode(),
                (("Content-Type", "application/json"),),
            )
        else:
            reply = self._forward(handler.command, handler.path, headers, body)
        send(handler, reply.status, reply.body, reply.headers)

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        assert self.upstream is not None
        target = urlsplit(self.upstream)
        connection = http.client.HTTPConnection(target.netloc, timeout=10)
        sent = {key: value for key, value in headers.items() if key not in HOP_BY_HOP}
        try:
            connection.request(method, path, body=body or None, headers=sent)
            answer = connection.getresponse()
            content = answer.read()
            kept = tuple(
                (name, value)
                for name, value in answer.getheaders()
                if name.lower() not in HOP_BY_HOP and name.lower() not in self.strip
            )
            return Reply(answer.status, content, kept)
        finally:
            connection.close()


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        chunks: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline().strip():
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


#: An attachment upload as Jira takes it: the XSRF check off, and a body with CR LF and every
#: byte value, so a replay that loses or re-encodes anything shows.
NO_CHECK = {"X-Atlassian-Token": "no-check"}
REPORT = b"line one\r\nline two\r\n" + bytes(range(256)) * 4
ATTACH = "rest/api/2/issue/ACME-1/attachments"


@contextmanager
def in_front_of(jira: Any) -> Iterator[Gateway]:
    """A gateway forwarding to the simulator ``jira``, recording what Jira received."""
    proxy = Gateway(upstream=f"http://127.0.0.1:{jira.port}").start()
    try:
        yield proxy
    finally:
        proxy.stop()


class Unseekable:
    """A file-like object that can only be read: a socket's makefile(), a decompressor."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int = -1) -> bytes:
        data, self._data = self._data, b""
        return data
