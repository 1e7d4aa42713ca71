"""Plumbing shared by the fake platform APIs of the connector tests (Confluence, Notion, Drive, Slack).

A :class:`FakeApi` is a real HTTP server on 127.0.0.1 (a free port) in a thread. A subclass
answers requests in :meth:`FakeApi.answer`; this class adds what breaks connectors on every
platform, switched on by the test:

- ``throttle(n, retry_after)``: the next ``n`` requests answer 429 with ``Retry-After``;
- ``burst(n, status)``: the next ``n`` requests answer a 5xx;
- ``down``: every request answers 503 (an outage);
- ``valid_tokens``: requests without one of them answer 401 in the platform's shape;
- ``before(predicate, action)``: change the data just before a request is answered;
- ``log``: every request with its answer, for "what did the sync fetch" assertions.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeApi", "Request", "Reply", "json_reply"]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]  # the last value of each parameter
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    at: float = 0.0  # time.monotonic() at arrival
    raw_query: str = ""  # for parameters given more than once

    def all(self, name: str) -> list[str]:
        """Every value of a query parameter given more than once (``ranges=a&ranges=b``)."""
        return parse_qs(self.raw_query).get(name, [])

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(payload).encode(), "application/json; charset=utf-8", headers or {})


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gives up on an answer resets the connection: expected here


class FakeApi:
    """A platform API on 127.0.0.1; subclasses implement ``answer`` and ``unauthorized``."""

    def __init__(self) -> None:
        self.down = False
        self.valid_tokens: set[str] = set()
        self.log: list[tuple[Request, int]] = []
        self.bytes_sent = 0  # response bodies since the last clear_log()
        self._throttled: list[float] = []  # Retry-After of each 429 still to send
        self._burst: list[int] = []
        self._hooks: list[tuple[Callable[[Request], bool], Callable[[], None]]] = []
        self._lock = threading.Lock()
        self.server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what the test switches on -----------------------------------------------------
    def throttle(self, count: int, retry_after: float = 1) -> None:
        with self._lock:
            self._throttled += [retry_after] * count

    def burst(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._burst += [status] * count

    def before(self, predicate: Callable[[Request], bool], action: Callable[[], None]) -> None:
        """Run ``action`` once, just before answering the first request that ``predicate`` accepts
        (e.g. delete a page between the listing and the read of its content)."""
        with self._lock:
            self._hooks.append((predicate, action))

    def requests(self, predicate: Callable[[Request], bool] | None = None) -> list[Request]:
        with self._lock:
            return [request for request, _ in self.log if predicate is None or predicate(request)]

    def statuses(self) -> list[int]:
        with self._lock:
            return [status for _, status in self.log]

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()
            self.bytes_sent = 0

    # -- for subclasses ----------------------------------------------------------------
    def answer(self, request: Request) -> Reply:
        raise NotImplementedError

    def token_of(self, request: Request) -> str:
        """The credential a request carries (default: the Bearer token)."""
        auth = request.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else auth

    def unauthorized(self, request: Request) -> Reply:
        return self.error(401, "Unauthorized")

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
        """An error answer in the platform's shape (subclasses override the body)."""
        return json_reply({"message": message}, status, headers)

    # -- the server --------------------------------------------------------------------
    def _reply(self, request: Request) -> Reply:
        with self._lock:
            due = [hook for hook in self._hooks if hook[0](request)]
            self._hooks = [hook for hook in self._hooks if hook not in due]
        for _, action in due:
            action()
        with self._lock:
            throttled = self._throttled.pop(0) if self._throttled else None
            burst = self._burst.pop(0) if (throttled is None and self._burst) else None
        if throttled is not None:
            return self.error(429, "rate limited", {"Retry-After": f"{throttled:g}"})
        if burst is not None or self.down:
            return self.error(burst or 503, "service unavailable")
        if self.valid_tokens and self.token_of(request) not in self.valid_tokens:
            return self.unauthorized(request)
        return self.answer(request)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query={key: values[-1] for key, values in parse_qs(parts.query).items()},
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                    at=time.monotonic(),
                    raw_query=parts.query,
                )
                reply = api._reply(request)
                with api._lock:
                    api.log.append((request, reply.status))
                    api.bytes_sent += len(reply.body)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve  # noqa: N815

        return Handler
