"""The crawler's httpx transport: the address guard, deadlines that bound a whole fetch, and a stop.

httpx's own timeouts apply to each socket operation, so a server that sends one byte every
few seconds keeps a request alive for ever. Here every read is cut into short slices, and
before each slice the :class:`Budget` is checked: the stop of the crawl (shutdown), the
run's deadline, and the deadlines the calling thread has opened (the page, the request).
A fetch in flight therefore ends within :data:`POLL_S` of any of them.

The transport implements httpx's public ``BaseTransport.handle_request`` over an httpcore
connection pool built with httpcore's public constructor; no private attribute of httpx is
touched.
"""

from __future__ import annotations

import math
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from indexer.sources.web.netguard import AddressPolicy, GuardedBackend

__all__ = ["Budget", "DeadlineExceeded", "GuardedTransport", "Interrupted", "POLL_S", "Stopped"]

POLL_S = 0.25  # the longest a blocked read waits before it looks at the budget again


class Interrupted(Exception):
    """A fetch was cut off by the budget; raised from inside httpx, caught by the fetcher."""


class Stopped(Interrupted):
    """The crawl was asked to stop (shutdown): nothing more is fetched."""


class DeadlineExceeded(Interrupted):
    """A deadline passed; ``key`` names the setting that set it (timeout_s, page_deadline_s, ...)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"{key} reached")
        self.key = key


class Budget:
    """When fetches must end: a shared stop event and run deadline, plus per-thread deadlines.

    Each crawl thread opens nested deadlines with :meth:`within`; the earliest one rules.
    """

    def __init__(self, stop: threading.Event | None = None, run_seconds: float = math.inf) -> None:
        self.stop = stop or threading.Event()
        self.run_deadline = time.monotonic() + run_seconds
        self._local = threading.local()

    @contextmanager
    def within(self, seconds: float, key: str) -> Iterator[None]:
        """Everything fetched inside the block ends within ``seconds`` (DeadlineExceeded(key))."""
        stack = self._stack()
        stack.append((time.monotonic() + seconds, key))
        try:
            yield
        finally:
            stack.pop()

    def _stack(self) -> list[tuple[float, str]]:
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        stack: list[tuple[float, str]] = self._local.stack
        return stack

    def _earliest(self) -> tuple[float, str]:
        return min([(self.run_deadline, "run_deadline_s"), *self._stack()])

    def remaining(self) -> float:
        return self._earliest()[0] - time.monotonic()

    def check(self) -> None:
        """Raise Stopped or DeadlineExceeded if the calling thread must give up now."""
        if self.stop.is_set():
            raise Stopped("stopped by shutdown")
        deadline, key = self._earliest()
        if time.monotonic() >= deadline:
            raise DeadlineExceeded(key)

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake for a stop or a deadline (and raise it)."""
        self.check()
        self.stop.wait(max(0.0, min(seconds, self.remaining())))
        self.check()

    def bound(self, timeout: float | None) -> float:
        """``timeout`` cut to what the budget leaves, and to POLL_S, so the budget is seen again soon."""
        self.check()
        limit = min(self.remaining(), POLL_S)
        return max(0.001, limit if timeout is None else min(timeout, limit))


class _BudgetStream(httpcore.NetworkStream):
    """A socket stream whose every operation respects the budget."""

    def __init__(self, inner: httpcore.NetworkStream, budget: Budget) -> None:
        self.inner = inner
        self.budget = budget

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        until = math.inf if timeout is None else time.monotonic() + timeout
        while True:
            try:
                return self.inner.read(max_bytes, self.budget.bound(until - time.monotonic()))
            except httpcore.ReadTimeout:
                if time.monotonic() >= until:
                    raise  # httpx's own per-read timeout

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.budget.check()
        self.inner.write(buffer, min(timeout or math.inf, max(0.001, self.budget.remaining())))

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        self.budget.check()
        limit = min(timeout or math.inf, max(0.001, self.budget.remaining()))
        return _BudgetStream(self.inner.start_tls(ssl_context, server_hostname, limit), self.budget)

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _BudgetBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend, budget: Budget) -> None:
        self.inner = inner
        self.budget = budget

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        self.budget.check()
        limit = min(timeout or math.inf, max(0.001, self.budget.remaining()))
        stream = self.inner.connect_tcp(host, port, limit, local_address, socket_options)
        return _BudgetStream(stream, self.budget)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return self.inner.connect_unix_socket(path, timeout, socket_options)

    def sleep(self, seconds: float) -> None:
        self.budget.sleep(seconds)


# httpcore's exceptions as httpx's (most specific first); what httpx's own transport does.
_EXCEPTIONS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProxyError: httpx.ProxyError,
}


@contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for cls in type(exc).__mro__:
            if cls in _EXCEPTIONS:
                raise _EXCEPTIONS[cls](str(exc)) from exc
        raise


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            yield from self.stream

    def close(self) -> None:
        if hasattr(self.stream, "close"):
            self.stream.close()


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport that connects only where the policy allows, within the budget.

    No proxy is used: a proxy would hide the real target from the address check.
    """

    def __init__(self, policy: AddressPolicy, budget: Budget | None = None, max_connections: int = 8) -> None:
        self.budget = budget or Budget()
        self.pool = httpcore.ConnectionPool(
            ssl_context=ssl.create_default_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            network_backend=_BudgetBackend(GuardedBackend(policy), self.budget),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = self.pool.handle_request(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.pool.close()
