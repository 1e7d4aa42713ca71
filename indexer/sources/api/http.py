"""HTTP for API connectors: retries that honour Retry-After, a request pace, deadlines and a stop.

:class:`RetryTransport` is an httpx transport, so it serves both our own calls and client
libraries built on httpx (notion-client takes an ``httpx.Client``). It sits on the crawler's
:class:`GuardedTransport`, so an API call gets what a page fetch gets: link-local and
metadata addresses refused, every read cut by the request timeout, the run deadline and the
shutdown stop. 429 and 5xx answers and dropped connections are retried with backoff; a
``Retry-After`` is honoured up to ``max_retry_after_s``.

:class:`ApiClient` adds JSON calls whose errors say whether they may pass (``transient``,
which decides what a connector may delete) and whether the credentials were refused.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from typing import Any

import httpx

from indexer.sources.base import SourceError
from indexer.sources.web.netguard import AddressPolicy, ForbiddenAddress
from indexer.sources.web.transport import Budget, DeadlineExceeded, GuardedTransport, Interrupted, Stopped

__all__ = [
    "ApiClient",
    "ApiError",
    "AuthFailed",
    "Budget",
    "RetryTransport",
    "Stopped",
    "retry_after_seconds",
    "stopped_error",
]

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


def stopped_error() -> SourceError:
    """What a sync cut by a shutdown fails with: not an ApiError, so no connector takes it for
    one page's problem; the whole run stops and deletes nothing."""
    return SourceError(
        "stopped by shutdown before the run finished; nothing was deleted, the next run finishes the job"
    )


class ApiError(Exception):
    """A call failed. ``transient`` failures (5xx, 429, timeouts) may succeed next time; 404 is ``status``."""

    def __init__(self, message: str, status: int = 0, transient: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient


class AuthFailed(ApiError):
    """The platform refused the credentials (401) or the integration lacks access (403)."""


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class RetryTransport(httpx.BaseTransport):
    """Retries transient failures and spaces requests ``min_interval_s`` apart (a platform's rate limit)."""

    def __init__(
        self,
        budget: Budget,
        timeout_s: float,
        retries: int,
        min_interval_s: float = 0.0,
        backoff_s: float = 0.5,
        max_retry_after_s: float = 60.0,
        deny_networks: list[str] | None = None,
    ) -> None:
        self.budget = budget
        self.timeout_s = timeout_s
        self.retries = retries
        self.min_interval_s = min_interval_s
        self.backoff_s = backoff_s
        self.max_retry_after_s = max_retry_after_s
        self.inner = GuardedTransport(AddressPolicy(deny_networks or []), budget)
        self._pace_lock = threading.Lock()
        self._next_start = 0.0
        self.requests = 0  # every attempt, retries included (for tests and benchmarks)
        self.retried = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for attempt in range(self.retries + 1):
            wait = self.backoff_s * 2**attempt * (1 + random.random() / 4)
            self._pace()
            self.requests += 1
            try:
                with self.budget.within(self.timeout_s, "timeout_s"):
                    response = self.inner.handle_request(request)
                    if response.status_code in RETRY_STATUS and attempt < self.retries:
                        response.read()  # free the connection before sleeping
                    else:
                        response.read()  # within the request's deadline: a trickling body is cut too
                        return response
            except DeadlineExceeded as exc:
                if exc.key != "timeout_s" or attempt == self.retries:
                    raise
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError):
                if attempt == self.retries:
                    raise
            else:
                after = retry_after_seconds(response.headers.get("retry-after"))
                wait = max(wait, min(after or 0.0, self.max_retry_after_s))
            self.retried += 1
            self.budget.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _pace(self) -> None:
        if not self.min_interval_s:
            return
        with self._pace_lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self.min_interval_s
        if start > now:
            self.budget.sleep(start - now)

    def close(self) -> None:
        self.inner.close()


class ApiClient:
    """JSON over :class:`RetryTransport`; ApiError (or AuthFailed) with a message fit for a run record."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        budget: Budget,
        timeout_s: float,
        retries: int,
        user_agent: str,
        min_interval_s: float = 0.0,
        auth: httpx.Auth | None = None,
        deny_networks: list[str] | None = None,
    ) -> None:
        self.transport = RetryTransport(budget, timeout_s, retries, min_interval_s, deny_networks=deny_networks)
        self.http = httpx.Client(
            base_url=base_url,
            transport=self.transport,
            headers={"User-Agent": user_agent, "Accept": "application/json", **headers},
            auth=auth,
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
        )

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> Any:
        return self.request_json("GET", url, params=params)

    def request_json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.request(method, url, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ApiError(f"{method} {_path(url)}: the answer is not JSON", response.status_code) from None

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """The response of a successful call; ApiError for anything else (never the credentials)."""
        try:
            response = self.http.request(method, url, **kwargs)
        except Stopped:
            raise stopped_error() from None
        except DeadlineExceeded as exc:
            raise ApiError(f"{method} {_path(url)}: {exc.key} reached", transient=True) from None
        except Interrupted as exc:
            raise ApiError(f"{method} {_path(url)}: {exc}", transient=True) from None
        except ForbiddenAddress as exc:
            raise ApiError(f"refused: {exc}") from None
        except httpx.TimeoutException:
            raise ApiError(f"{method} {_path(url)}: timed out after retries", transient=True) from None
        except httpx.TransportError as exc:
            raise ApiError(f"{method} {_path(url)}: connection failed ({type(exc).__name__})", transient=True) from None
        status = response.status_code
        if status < 300:
            return response
        where = f"{method} {_path(url)}: HTTP {status}"
        if status in (401, 403):
            raise AuthFailed(where, status)
        if status in RETRY_STATUS:
            raise ApiError(f"{where} after {self.transport.retries + 1} tries", status, transient=True)
        raise ApiError(where, status)

    def close(self) -> None:
        self.http.close()


def _path(url: str) -> str:
    """The path of a request for messages: no query string (it may carry a filter or a cursor)."""
    return url.split("?", 1)[0]
