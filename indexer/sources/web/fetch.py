"""HTTP for the crawler: conditional GET, size caps, retries with backoff, checked redirects."""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

import httpx

from indexer.sources.web.netguard import AddressPolicy, ForbiddenAddress, GuardedTransport
from indexer.sources.web.urls import Scope, absolute

__all__ = ["Fetcher", "Page", "FetchError", "HTML_TYPES"]

HTML_TYPES = ("text/html", "application/xhtml+xml")
_REDIRECTS = (301, 302, 303, 307, 308)
_RETRY_STATUS = (429, 500, 502, 503, 504)
_MAX_REDIRECTS = 5
_MAX_RETRY_AFTER_S = 30.0


@dataclass
class Page:
    url: str  # after redirects
    status: int
    content: bytes = b""
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    location: str | None = None  # the absolute target of a redirect that was not followed

    @property
    def is_html(self) -> bool:
        return self.content_type in HTML_TYPES


class FetchError(Exception):
    """A page could not be fetched. ``transient`` failures (5xx, timeouts) may succeed next time."""

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class Fetcher:
    def __init__(
        self,
        scope: Scope,
        user_agent: str,
        deny_networks: list[str],
        timeout_s: float,
        retries: int,
        max_bytes: int,
        concurrency: int,
        backoff_s: float = 0.5,
    ) -> None:
        self.scope = scope
        self.retries = retries
        self.max_bytes = max_bytes
        self.backoff_s = backoff_s
        self.client = httpx.Client(
            transport=GuardedTransport(AddressPolicy(deny_networks), max_connections=concurrency * 2),
            headers={"User-Agent": user_agent, "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"},
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def get(
        self, url: str, etag: str = "", last_modified: str = "", html_only: bool = True, follow: bool = True
    ) -> Page:
        """Fetch ``url``; non-HTML bodies are not downloaded when ``html_only``. Raises FetchError.

        With ``follow=False`` a redirect comes back as a page with ``location`` set, for a
        crawler that treats redirects as links (so each page is fetched once).
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for _ in range(_MAX_REDIRECTS + 1):
            page, location = self._with_retries(url, headers, html_only)
            if location is None:
                return page
            target = absolute(url, location)
            if target is None or not self.scope.on_site(target):
                raise FetchError(f"redirects off the site to {location}; not followed", transient=False)
            if not follow:
                page.location = target
                return page
            url = target
        raise FetchError(f"more than {_MAX_REDIRECTS} redirects", transient=False)

    def _with_retries(self, url: str, headers: dict[str, str], html_only: bool) -> tuple[Page, str | None]:
        problem = ""
        for attempt in range(self.retries + 1):
            wait = self.backoff_s * 2**attempt * (1 + random.random() / 4)
            try:
                page, location, retry_after = self._once(url, headers, html_only)
            except ForbiddenAddress as exc:
                raise FetchError(f"refused: {exc}", transient=False) from None
            except httpx.TimeoutException:
                problem = "timed out"
            except httpx.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__}: {exc})"
            else:
                if page.status not in _RETRY_STATUS:
                    return page, location
                problem = f"HTTP {page.status}"
                wait = max(wait, min(retry_after or 0.0, _MAX_RETRY_AFTER_S))
            if attempt < self.retries:
                time.sleep(wait)
        tries = f" after {self.retries + 1} tries" if self.retries else ""
        raise FetchError(f"{problem}{tries}", transient=True)

    def _once(self, url: str, headers: dict[str, str], html_only: bool) -> tuple[Page, str | None, float | None]:
        with self.client.stream("GET", url, headers=headers) as response:
            page = Page(
                url=url,
                status=response.status_code,
                content_type=response.headers.get("content-type", "").split(";")[0].strip().lower(),
                etag=response.headers.get("etag", ""),
                last_modified=response.headers.get("last-modified", ""),
            )
            if response.status_code in _REDIRECTS and "location" in response.headers:
                return page, response.headers["location"], None
            if response.status_code != 200:
                return page, None, _retry_after(response.headers.get("retry-after"))
            if html_only and not page.is_html:
                return page, None, None  # the body of an image or archive is never downloaded
            declared = int(response.headers.get("content-length") or 0)
            if declared > self.max_bytes:
                raise FetchError(f"{declared} bytes is over the limit of {self.max_bytes} (max_bytes)", False)
            body = bytearray()
            for piece in response.iter_bytes():
                body += piece
                if len(body) > self.max_bytes:
                    raise FetchError(f"over the limit of {self.max_bytes} bytes (max_bytes)", transient=False)
            page.content = bytes(body)
            return page, None, None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
