"""HTTP plumbing: a threaded stdlib server whose handler turns each request into a `Request`,
asks the simulator for a `Response`, and writes it (or drops the connection).

Keeping the wire separate from the provider logic makes the logic testable without sockets and
lets `stop()` close keep-alive connections, which would otherwise keep answering after the
server stopped.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

MAX_BODY = 1024 * 1024  # a token request or a search is tiny; refuse anything absurd


@dataclass(frozen=True)
class Request:
    """One parsed request; `headers` keys are lower-case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def media_type(self) -> str | None:
        content_type = self.headers.get("content-type")
        if content_type is None:
            return None
        return content_type.split(";", 1)[0].strip().lower()

    def form(self) -> dict[str, list[str]]:
        """The body as form fields, or nothing when it is not form-encoded."""
        if self.media_type != "application/x-www-form-urlencoded":
            return {}
        return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)


@dataclass
class Response:
    """What to answer. `drop` closes the connection with no answer: "before" means the request
    was never processed, "after" means it was processed and then the answer was lost."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: Literal["before", "after"] | None = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def json_response(status: int, payload: Any, *headers: tuple[str, str]) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(status, body, [("Content-Type", "application/json;charset=UTF-8"), *headers])


def html_response(status: int, page: str, *headers: tuple[str, str]) -> Response:
    return Response(status, page.encode(), [("Content-Type", "text/html;charset=UTF-8"), *headers])


def text_response(status: int, text: str) -> Response:
    return Response(status, text.encode(), [("Content-Type", "text/plain;charset=UTF-8")])


def redirect(location: str) -> Response:
    return Response(302, b"", [("Location", location), ("Cache-Control", "no-store")])


App = Callable[[Request], Response]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the default 5 drops SYNs under a burst: a 1 s client stall

    def __init__(self, address: tuple[str, int], app: App, *, verbose: bool) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        self.verbose = verbose
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up mid-request (or fail a TLS handshake) are normal in fault tests.
        if self.verbose:
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
            self.connections.clear()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "Apache-Coyote/1.1"  # what Jira's Tomcat says
    timeout = 30  # idle keep-alive connections do not hold a thread forever
    # Headers and body go out in two writes: without TCP_NODELAY every kept-alive answer
    # waits ~40 ms for the client's delayed acknowledgement.
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            # The listening socket defers the handshake so one silent client cannot block
            # accept(); do it here, in this connection's own thread.
            self.connection.do_handshake()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self.send_error(413 if self._too_large else 400)
            return
        target = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=unquote(target.path),
            query=parse_qs(target.query, keep_blank_values=True),
            headers={key.lower(): value for key, value in self.headers.items()},
            body=body,
        )
        try:
            response = self.server.app(request)
        except Exception as error:  # a simulator bug must show up as a 500, not a hang
            response = text_response(500, f"Simulator error: {type(error).__name__}: {error}")
        if response.drop is not None:
            self._reset()
            return
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    _too_large = False

    def _read_body(self) -> bytes:
        """Read a Content-Length or chunked body (Tomcat accepts both), at most MAX_BODY."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"x", 16)
                if size == 0:
                    while self.rfile.readline(1024).strip():  # trailers
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    self._too_large = True
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._too_large = True
            raise ValueError("body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _reset(self) -> None:
        """Close the connection abruptly (TCP RST), the way a crashed upstream does."""
        self.close_connection = True
        linger = struct.pack("ii", 1, 0)
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The default logs the request line, whose query string may hold a client secret.
        if self.server.verbose:
            path = urlsplit(self.path).path
            self.log_message("%s %s -> %s", self.command, path, code)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"[jira-sim] {format % args}\n")


class HTTPServerThread:
    """Runs an `App` on a loopback socket in a daemon thread."""

    def __init__(self, host: str, port: int, app: App, *, verbose: bool = False) -> None:
        self._server = _Server((host, port), app, verbose=verbose)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # stop() waits up to this long
            name=f"jira-simulator-{self.port}",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def wrap_socket(self, wrap: Callable[[socket.socket], socket.socket]) -> None:
        self._server.socket = wrap(self._server.socket)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        self._thread.join(timeout=5)
