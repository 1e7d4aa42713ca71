"""A real HTTP docs site on 127.0.0.1 for crawl tests, served from a folder the test may edit.

Files are served with ETag and Last-Modified and answer conditional GETs with 304, like
nginx or a static host. On top of the files, a few addresses behave like the awkward parts
of real sites: a redirect, a slow page, a huge page, a binary download, and a switch that
makes everything answer 500. A test adds hostile behaviour of its own with :meth:`DocsSite.route`.
"""

from __future__ import annotations

import email.utils
import hashlib
import shutil
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Answers one request (the handler's .path has the query string); returns the status sent.
Route = Callable[[BaseHTTPRequestHandler], int]

FIXTURE = Path(__file__).parent.parent / "fixtures" / "docsite"

HUGE_BYTES = 3_000_000


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a crawler that stops reading a huge page resets the connection: expected here


class DocsSite:
    def __init__(self, root: Path, slow_s: float = 0.2) -> None:
        self.root = root
        shutil.copytree(FIXTURE, root, dirs_exist_ok=True)
        self.slow_s = slow_s
        self.fail_all = False
        self.routes: dict[str, Route] = {}  # exact path, or a prefix ending in "*"
        self.requests: list[tuple[str, int]] = []  # (path, status) in order of arrival
        self.arrivals: list[float] = []  # time.monotonic() of each request's arrival
        self._lock = threading.Lock()
        self.server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what the test changes ---------------------------------------------------------
    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    def delete(self, relative: str) -> None:
        (self.root / relative).unlink()

    def route(self, path: str, answer: Route) -> None:
        """Serve ``path`` (or every path under a prefix ending in ``*``) with ``answer``."""
        self.routes[path] = answer

    def requested(self, path: str) -> list[int]:
        """Statuses this path was answered with, in order."""
        with self._lock:
            return [status for requested, status in self.requests if requested == path]

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.arrivals.clear()

    # -- the server --------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                with site._lock:
                    site.arrivals.append(time.monotonic())
                site._respond(self, self.path.split("?", 1)[0])

            def send_response(self, code: int, message: str | None = None) -> None:
                # Logged before the client can read the answer, so a test never sees a stale log.
                with site._lock:
                    site.requests.append((self.path.split("?", 1)[0], code))
                super().send_response(code, message)

        return Handler

    def _respond(self, handler: BaseHTTPRequestHandler, path: str) -> int:
        if self.fail_all:
            return send(handler, 500, b"internal error", "text/plain")
        for pattern, answer in self.routes.items():
            if path == pattern or (pattern.endswith("*") and path.startswith(pattern[:-1])):
                return answer(handler)
        if path == "/old/deploying.html":
            return send(handler, 301, b"", headers={"Location": "/guide/deploy.html"})
        if path == "/go/metadata":  # what an attacker-controlled page might do
            return send(handler, 302, b"", headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        if path == "/guide/intro-print.html":  # the same page under another address; its canonical says so
            return self._file(handler, "guide/intro.html")
        if path == "/slow.html":
            time.sleep(self.slow_s)
            return send(handler, 200, page("Status", "<h1 id='status'>Status</h1><p>All systems normal.</p>"))
        if path == "/huge.html":  # no Content-Length: the crawler must stop reading by itself
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html")
            handler.send_header("Connection", "close")
            handler.end_headers()
            try:
                chunk = b"<p>" + b"changelog entry " * 4096 + b"</p>\n"
                for _ in range(HUGE_BYTES // len(chunk) + 1):
                    handler.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            handler.close_connection = True
            return 200
        if path == "/downloads/platform-cli":  # binary with no telling extension
            return send(handler, 200, bytes(range(256)) * 64, "application/octet-stream")
        relative = path.lstrip("/") or "index.html"
        return self._file(handler, relative)

    def _file(self, handler: BaseHTTPRequestHandler, relative: str) -> int:
        file = (self.root / relative).resolve()
        if not file.is_file() or self.root.resolve() not in file.parents:
            return send(handler, 404, b"not found", "text/plain")
        body = file.read_bytes().replace(b"BASE", self.url.encode())
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        modified = email.utils.formatdate(file.stat().st_mtime, usegmt=True)
        if handler.headers.get("If-None-Match") == etag:
            return send(handler, 304, b"", headers={"ETag": etag})
        content_type = {".xml": "application/xml", ".txt": "text/plain"}.get(file.suffix, "text/html; charset=utf-8")
        return send(handler, 200, body, content_type, {"ETag": etag, "Last-Modified": modified})


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> int:
    handler.send_response(status)
    if status != 304:
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    if status != 304:
        handler.wfile.write(body)
    return status


def page(title: str, body: str) -> bytes:
    return f"<!DOCTYPE html><html><head><title>{title}</title></head><body><main>{body}</main></body></html>".encode()
